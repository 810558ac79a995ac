/**
 * Every value read from the environment is a secret (SPEC): a target token
 * in the probe's headers and URL, a PagerDuty routing key, a webhook URL
 * token, an SMTP password. The real `probe run` at debug level, a target that
 * echoes the token into the failure message, and every output checked: logs,
 * /metrics, /api/probes, the status page, and what each channel received.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { spawnDaemon } from './child.ts'
import { Cleanups, probeMetrics, waitFor, writeConfig } from './harness.ts'
import { SMTP_USER, startPagerDutySink, startSmtpSink, startTarget, startWebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const ENV = {
  TARGET_TOKEN: 'tgt-token-7c1e9a4b5d',
  TARGET_KEY: 'tgt-query-key-e02f',
  PD_ROUTING_KEY: 'pd-routing-key-55aa0f3e',
  WEBHOOK_TOKEN: 'hook-url-token-93fd1c',
  SMTP_PASS: 'smtp-pass-1b2c3d4e',
}
const SECRETS = Object.values(ENV)

function leaked(text: string): string[] {
  return SECRETS.filter((secret) => text.includes(secret))
}

describe('secrets', () => {
  it('never appear in logs, metrics, /api/probes, the status page or any notification', async () => {
    const target = await startTarget('wrong')
    const hook = await startWebhookSink()
    const pager = await startPagerDutySink()
    const smtp = await startSmtpSink({ password: ENV.SMTP_PASS })
    cleanups.defer(() => Promise.all([target.close(), hook.close(), pager.close(), smtp.close()]))
    const probe = {
      name: 'secret-api',
      interval: '1s',
      timeout: '500ms',
      steps: [
        {
          name: 'check',
          request: { url: `${target.url}/health?key={{ env.TARGET_KEY }}`, headers: { authorization: 'Bearer {{ env.TARGET_TOKEN }}' } },
          // The target echoes the authorization header as `who`: the failure message quotes the token.
          expect: { status: 200, json: { '$.who': 'monitor' } },
        },
      ],
    }
    const config = await writeConfig(cleanups, {
      probes: [probe],
      alerting: {
        defaults: { failureThreshold: 2, channels: ['mail', 'hook', 'pager'] },
        channels: {
          mail: {
            type: 'email',
            timeout: '2s',
            smtp: { host: '127.0.0.1', port: smtp.port, user: SMTP_USER, pass: '{{ env.SMTP_PASS }}' },
            from: 'smokeprobe@example.com',
            to: ['oncall@example.com'],
          },
          hook: { type: 'webhook', timeout: '2s', url: `${hook.url}/hook?token={{ env.WEBHOOK_TOKEN }}` },
          pager: { type: 'pagerduty', timeout: '2s', routingKey: '{{ env.PD_ROUTING_KEY }}', url: pager.url },
        },
      },
    })
    const daemon = await spawnDaemon(cleanups, config, ENV)

    await waitFor('the firing on every channel', () => hook.delivered().length > 0 && pager.accepted().length > 0 && smtp.inbox.length > 0)
    const served = await Promise.all(['/metrics', '/api/probes', '/'].map(async (path) => (await fetch(`${daemon.url}${path}`)).text()))
    target.mode = 'ok'
    await waitFor('the resolve on every channel', () => hook.delivered().length > 1 && pager.accepted().length > 1 && smtp.inbox.length > 1)
    await waitFor('a passing run', async () => (await probeMetrics(daemon.url, 'secret-api')).success === 1)
    served.push(...(await Promise.all(['/metrics', '/api/probes', '/'].map(async (path) => (await fetch(`${daemon.url}${path}`)).text()))))
    daemon.process.kill('SIGTERM')
    await daemon.exit

    // The secrets were really used, and the failure really quoted one: otherwise this test proves nothing.
    expect(target.requests[0]?.headers.authorization).toBe(`Bearer ${ENV.TARGET_TOKEN}`)
    expect(target.requests[0]?.path).toBe(`/health?key=${ENV.TARGET_KEY}`)
    expect(hook.requests[0]?.path).toBe(`/hook?token=${ENV.WEBHOOK_TOKEN}`)
    expect(pager.accepted().map((event) => event.routing_key)).toEqual([ENV.PD_ROUTING_KEY, ENV.PD_ROUTING_KEY])
    expect(hook.delivered()[0]?.error?.message).toContain('Bearer ***')
    expect(JSON.parse(served[1] ?? '{}').probes[0].lastRun.failure.message).toContain('Bearer ***')

    expect(leaked(daemon.stdout())).toEqual([])
    expect(leaked(daemon.stderr())).toEqual([])
    expect(daemon.logs().some((line) => line.level <= 20)).toBe(true)
    for (const text of served) expect(leaked(text)).toEqual([])
    for (const request of hook.requests) expect(leaked(request.body)).toEqual([])
    // The routing key must reach PagerDuty in `routing_key`, and nowhere else.
    for (const request of pager.requests) {
      const { routing_key: _, ...rest } = JSON.parse(request.body) as Record<string, unknown>
      expect(leaked(JSON.stringify(rest))).toEqual([])
    }
    for (const mail of smtp.inbox) expect(leaked(mail.raw)).toEqual([])
    expect(smtp.inbox.map((mail) => mail.event)).toEqual(['firing', 'resolved'])
  }, 60_000)
})
