/**
 * Channels that misbehave while the daemon runs: endpoints down for a while
 * (refusing, 503, reset, SMTP 451) and then back, and a channel that hangs
 * while another works and two probes fail at once. In-process, with short
 * delivery backoff.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Cleanups, metric, probeFile, probeMetrics, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startSmtpSink, startTarget, startWebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

describe('delivery while channels misbehave', () => {
  it('delivers exactly once after the webhook and the SMTP server were down for a while', async () => {
    const target = await startTarget('fail')
    const hook = await startWebhookSink('error')
    const smtp = await startSmtpSink()
    smtp.mode = 'tempfail'
    cleanups.defer(() => Promise.all([target.close(), hook.close(), smtp.close()]))
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'cart', target: target.url })],
      alerting: {
        defaults: { failureThreshold: 2, channels: ['hook', 'mail'] },
        channels: {
          hook: { type: 'webhook', url: `${hook.url}/hook`, timeout: '2s' },
          mail: {
            type: 'email',
            timeout: '2s',
            smtp: { host: '127.0.0.1', port: smtp.port },
            from: 'p@example.com',
            to: ['o@example.com'],
          },
        },
      },
    })
    const daemon = await startRuntime(cleanups, config)

    // Down in every way a webhook can be: 503, connection reset, connection refused.
    await waitFor('three 503 answers', () => hook.requests.length >= 3)
    hook.mode = 'reset'
    await waitFor('two resets', () => hook.requests.filter((r) => r.answer === 'reset').length >= 2)
    await hook.down()
    const attemptsWhileUp = hook.requests.length
    await waitFor('SMTP refusals', () => smtp.refused >= 3)
    const runsWhileDown = (await probeMetrics(daemon.url, 'cart')).runsFailed
    await waitFor(
      'two more failed runs while the channels are down',
      async () => (await probeMetrics(daemon.url, 'cart')).runsFailed >= runsWhileDown + 2,
    )
    expect(hook.delivered()).toHaveLength(0)
    expect(smtp.inbox).toHaveLength(0)
    for (const channel of ['hook', 'mail']) expect(await metric(daemon.url, 'probe_notifications_pending', { channel })).toBe(1)

    hook.mode = 'ok'
    await hook.up()
    smtp.mode = 'ok'
    await waitFor('delivery on both channels', () => hook.delivered().length > 0 && smtp.inbox.length > 0)
    // Several more runs and retry rounds: nothing is sent twice.
    const runsAfter = (await probeMetrics(daemon.url, 'cart')).runsFailed
    await waitFor('three more failed runs', async () => (await probeMetrics(daemon.url, 'cart')).runsFailed >= runsAfter + 3)
    expect(hook.delivered().map((p) => p.event)).toEqual(['firing'])
    expect(smtp.inbox.map((m) => m.event)).toEqual(['firing'])
    expect(hook.requests.length).toBe(attemptsWhileUp + 1)
    const ids = new Set(hook.requests.map((r) => (JSON.parse(r.body) as { id: string }).id))
    expect(ids.size).toBe(1)
    for (const channel of ['hook', 'mail']) {
      expect(await metric(daemon.url, 'probe_notifications_total', { channel, event: 'firing', result: 'sent' })).toBe(1)
      expect(await metric(daemon.url, 'probe_notifications_pending', { channel })).toBe(0)
    }
    // Each failed attempt while the channel was down is counted (a down channel shows within minutes).
    const failed = (channel: string) => metric(daemon.url, 'probe_notifications_total', { channel, event: 'firing', result: 'failed' })
    expect(await failed('hook')).toBeGreaterThanOrEqual(attemptsWhileUp)
    expect(await failed('mail')).toBeGreaterThanOrEqual(smtp.refused)
  }, 60_000)

  it('sends one notification per probe when two fail at once, and a hanging channel delays neither the other channel nor the runs', async () => {
    const target = await startTarget('fail')
    const slow = await startWebhookSink('hang')
    const fast = await startWebhookSink('ok')
    cleanups.defer(() => Promise.all([target.close(), slow.close(), fast.close()]))
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'alpha', target: target.url }), probeFile({ name: 'beta', target: target.url })],
      alerting: {
        defaults: { failureThreshold: 2, channels: ['slow', 'fast'] },
        channels: {
          // Longer than the whole test: its attempts stay in flight throughout.
          slow: { type: 'webhook', url: `${slow.url}/hook`, timeout: '60s' },
          fast: { type: 'webhook', url: `${fast.url}/hook`, timeout: '2s' },
        },
      },
    })
    const daemon = await startRuntime(cleanups, config)

    await waitFor('both firings on the working channel', () => fast.delivered().length >= 2)
    await waitFor('both firings hanging on the slow channel', () => slow.hanging().length >= 2)
    const before = { alpha: await probeMetrics(daemon.url, 'alpha'), beta: await probeMetrics(daemon.url, 'beta') }
    for (const probe of ['alpha', 'beta'] as const) {
      await waitFor(
        `three more runs of ${probe}`,
        async () => (await probeMetrics(daemon.url, probe)).runsFailed >= before[probe].runsFailed + 3,
      )
    }
    // Still hanging, never answered: the runs above went on regardless.
    expect(slow.hanging()).toHaveLength(2)
    expect(slow.requests).toHaveLength(2)
    expect(
      fast
        .delivered()
        .map((p) => `${p.event} ${p.probe}`)
        .sort(),
    ).toEqual(['firing alpha', 'firing beta'])
    expect(new Set(fast.delivered().map((p) => p.incidentId)).size).toBe(2)
    expect(slow.requests.map((r) => (JSON.parse(r.body) as { probe: string }).probe).sort()).toEqual(['alpha', 'beta'])
    for (const probe of ['alpha', 'beta']) expect(await probeMetrics(daemon.url, probe)).toMatchObject({ firing: 1 })
    expect(await metric(daemon.url, 'probe_notifications_total', { channel: 'fast', event: 'firing', result: 'sent' })).toBe(2)
  }, 60_000)
})
