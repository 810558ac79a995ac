import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { alertTest } from '../../src/cli/alert-test.ts'
import { alertingFileSchema } from '../../src/loader/alerting-schema.ts'
import { alertingSecretUses } from '../../src/config/secret-use.ts'
import { SecretMask } from '../../src/config/secrets.ts'
import { ENV, startServer } from '../alerting/channels/helpers.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

/** A real HTTP receiver answering each request with the next status of `statuses` (the last repeats). */
async function receiver(statuses: number[], body = '') {
  let count = 0
  const s = await startServer((_req, res) => {
    res.writeHead(statuses[Math.min(count++, statuses.length - 1)] ?? 204).end(body)
  })
  cleanups.push(s.close)
  return s
}

function load(channels: Record<string, unknown>) {
  const secrets = new SecretMask()
  // Secret by use, as the loader decides it.
  const secretNames = new Map<string, string[]>()
  alertingSecretUses({ channels }, 'alerting.yaml', secretNames)
  const alerting = alertingFileSchema({ env: ENV, secrets, secretNames }).parse({ channels })
  return { alerting, secrets }
}

async function run(config: Parameters<typeof alertTest>[0], name: string) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const code = await alertTest(config, name, { stdout, stderr }, { retryDelayMs: 10 })
  return { code, stdout: String(stdout.read() ?? ''), stderr: String(stderr.read() ?? '') }
}

describe('probe alert test <channel>', () => {
  it('sends one marked test notification and exits 0 when it is delivered', async () => {
    const hook = await receiver([204])
    const result = await run(load({ chat: { type: 'webhook', url: `${hook.url}/hook` } }), 'chat')
    expect(result).toEqual({ code: 0, stdout: 'test notification delivered to channel "chat" (webhook)\n', stderr: '' })
    expect(hook.received).toHaveLength(1)
    const payload = JSON.parse(hook.received[0]?.body ?? '')
    expect(payload).toMatchObject({ event: 'test', probe: 'smokeprobe-test', error: null, consecutiveFailures: 0 })
    expect(payload.summary).toMatch(/^TEST smokeprobe-test: .*no action needed/)
  })

  it('retries a transient failure a few times', async () => {
    const hook = await receiver([503, 500, 204])
    const result = await run(load({ chat: { type: 'webhook', url: hook.url } }), 'chat')
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('test notification delivered to channel "chat" (webhook) on attempt 3\n')
    expect(result.stderr).toBe('attempt 1/3 failed: HTTP 503\nattempt 2/3 failed: HTTP 500\n')
  })

  it('exits 1 after the last attempt when the channel stays down', async () => {
    const hook = await receiver([503])
    const result = await run(load({ chat: { type: 'webhook', url: hook.url } }), 'chat')
    expect(result.code).toBe(1)
    expect(hook.received).toHaveLength(3)
    expect(result.stderr).toMatch(/test notification NOT delivered to channel "chat" \(webhook\): HTTP 503\n$/)
  })

  it('does not retry what cannot succeed, and never prints a secret', async () => {
    const hook = await receiver([403], `forbidden: token ${ENV.WEBHOOK_TOKEN}`)
    const config = load({
      chat: { type: 'webhook', url: `${hook.url}/{{ env.SECRET_PATH }}`, headers: { authorization: 'Bearer {{ env.WEBHOOK_TOKEN }}' } },
    })
    const result = await run(config, 'chat')
    expect(result.code).toBe(1)
    expect(hook.received).toHaveLength(1)
    expect(result.stderr).toBe(
      'attempt 1/3 failed: HTTP 403: forbidden: token ***\n' +
        'test notification NOT delivered to channel "chat" (webhook): HTTP 403: forbidden: token *** (not retried: sending it again would fail the same way)\n',
    )
    expect(hook.received[0]?.url).toBe(`/${ENV.SECRET_PATH}`)
  })

  it('exits 2 for a channel that is not defined, naming those that are', async () => {
    const result = await run(
      load({ chat: { type: 'webhook', url: 'http://127.0.0.1:9/' }, am: { type: 'alertmanager', url: 'http://127.0.0.1:9' } }),
      'pager',
    )
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'unknown channel "pager" (defined: chat, am)\n' })
  })

  it('exits 2 when no alerting file is loaded', async () => {
    const result = await run({ alerting: null, secrets: new SecretMask() }, 'chat')
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^no alerting file loaded/)
  })

  it('tests an Alertmanager channel with a SmokeprobeTest alert', async () => {
    const am = await receiver([200])
    const result = await run(load({ am: { type: 'alertmanager', url: am.url } }), 'am')
    expect(result.code).toBe(0)
    expect(JSON.parse(am.received[0]?.body ?? '')).toEqual([
      expect.objectContaining({ labels: { alertname: 'SmokeprobeTest', probe: 'smokeprobe-test' } }),
    ])
  })

  it('tests a PagerDuty channel: trigger, then resolve of the same test key', async () => {
    const pd = await receiver([202])
    const result = await run(load({ pager: { type: 'pagerduty', routingKey: '{{ env.PD_ROUTING_KEY }}', url: pd.url } }), 'pager')
    expect(result.code).toBe(0)
    const events = pd.received.map((r) => JSON.parse(r.body) as { event_action: string; dedup_key: string })
    expect(events.map((e) => e.event_action)).toEqual(['trigger', 'resolve'])
    expect(events[0]?.dedup_key).toMatch(/^smokeprobe-test-/)
    expect(events[1]?.dedup_key).toBe(events[0]?.dedup_key)
  })
})
