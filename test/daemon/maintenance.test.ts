/**
 * Issue 10 (b): a maintenance window over an outage, on loopback. Probes run
 * and count during the window, nothing is paged, `probe_muted` is 1; an
 * outage that ends inside the window pages nobody; one that outlasts it
 * pages once, at the window's end (before the next run), with its real count.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { stableOffset } from '../../src/scheduler/plan.ts'
import { Cleanups, metric, probeFile, probeMetrics, readState, sleep, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startTarget, startWebhookSink, type Target, type WebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const PROBE = 'items-crud'

async function setup(options: {
  end: number
  intervalMs: number
}): Promise<{ target: Target; hook: WebhookSink; url: string; end: number }> {
  const target = await startTarget('fail')
  const hook = await startWebhookSink()
  cleanups.defer(() => Promise.all([target.close(), hook.close()]))
  // A one-off window from now: the whole outage starts inside it.
  const start = Date.now() - 1_000
  const { end } = options
  const config = await writeConfig(cleanups, {
    probes: [probeFile({ name: PROBE, target: target.url, interval: `${options.intervalMs / 1000}s`, labels: { team: 'storefront' } })],
    alerting: {
      defaults: { failureThreshold: 2, reminderInterval: 0, channels: ['hook'] },
      channels: { hook: { type: 'webhook', timeout: '2s', url: `${hook.url}/hook` } },
      maintenance: [
        { name: 'deploy', probes: [{ team: 'storefront' }], start: new Date(start).toISOString(), end: new Date(end).toISOString() },
      ],
    },
  })
  const { url } = await startRuntime(cleanups, config)
  return { target, hook, url, end }
}

describe('a maintenance window over an outage', () => {
  it('pages nobody when the outage ends inside the window', async () => {
    const { target, hook, url, end } = await setup({ end: Date.now() + 5_000, intervalMs: 1_000 })
    // Past the threshold inside the window: counted, muted, not paged.
    await waitFor('three failed runs', async () => (await probeMetrics(url, PROBE)).runsFailed >= 3)
    expect(await metric(url, 'probe_muted', { probe: PROBE })).toBe(1)
    expect(await metric(url, 'probe_consecutive_failures', { probe: PROBE })).toBeGreaterThanOrEqual(2)
    target.mode = 'ok'
    await waitFor('a passing run', async () => (await probeMetrics(url, PROBE)).runsOk >= 1)
    await waitFor('the window to end', () => Date.now() > end + 1_500, 15_000)
    await waitFor('probe_muted 0 after the window', async () => (await metric(url, 'probe_muted', { probe: PROBE })) === 0, 3_000)
    const passed = (await probeMetrics(url, PROBE)).runsOk
    await waitFor('two more runs after the window', async () => (await probeMetrics(url, PROBE)).runsOk >= passed + 2)
    expect(hook.requests).toEqual([])
  })

  it('pages once, at the end of the window and before the next run, when the outage outlasts it', async () => {
    // Runs every 4 s (at slots fixed by the probe's name); the window ends halfway between two of them, after
    // at least two, so a page at its end cannot be a run's doing.
    const intervalMs = 4_000
    const offset = stableOffset(PROBE, intervalMs)
    const slotAfter = (t: number) => (Math.floor((t - offset) / intervalMs) + 1) * intervalMs + offset
    const { hook, url, end } = await setup({ end: slotAfter(Date.now() + 15_000) - intervalMs / 2, intervalMs })
    await waitFor('two failed runs in the window', async () => (await probeMetrics(url, PROBE)).runsFailed >= 2, 15_000)
    expect(await metric(url, 'probe_muted', { probe: PROBE })).toBe(1)
    expect(hook.requests).toEqual([])
    const firing = await waitFor('the firing', () => hook.delivered().find((p) => p.event === 'firing'), 15_000)
    const arrived = hook.requests[0]?.at ?? 0
    const { runsFailed } = await probeMetrics(url, PROBE)
    // At the end (the watcher ticks every second), not a run interval later.
    expect(arrived).toBeGreaterThanOrEqual(end)
    expect(arrived).toBeLessThan(end + intervalMs / 2)
    // The real count: every failed run of the window, not a fresh streak.
    expect(firing.consecutiveFailures).toBe(runsFailed)
    expect(firing.consecutiveFailures).toBeGreaterThanOrEqual(2)
    expect(await metric(url, 'probe_muted', { probe: PROBE })).toBe(0)
    expect(await metric(url, 'probe_alert_firing', { probe: PROBE })).toBe(1)
    // The next failures after the window are the same incident: no second page.
    await waitFor('a failed run after the window', async () => (await probeMetrics(url, PROBE)).runsFailed > runsFailed, 15_000)
    await sleep(200)
    expect(hook.requests.map((r) => (JSON.parse(r.body) as { event: string }).event)).toEqual(['firing'])
  })

  it('a window added by a reload mutes at once; removing it by a reload sends the held page', async () => {
    const target = await startTarget('ok')
    const hook = await startWebhookSink()
    cleanups.defer(() => Promise.all([target.close(), hook.close()]))
    const alerting = {
      defaults: { failureThreshold: 2, reminderInterval: 0, channels: ['hook'] },
      channels: { hook: { type: 'webhook', timeout: '2s', url: `${hook.url}/hook` } },
    }
    const window = {
      name: 'deploy',
      probes: [PROBE],
      start: new Date(Date.now() - 1_000).toISOString(),
      end: new Date(Date.now() + 3_600_000).toISOString(),
    }
    const config = await writeConfig(cleanups, { probes: [probeFile({ name: PROBE, target: target.url, interval: '1s' })], alerting })
    const { url, runtime } = await startRuntime(cleanups, config)
    expect(await metric(url, 'probe_muted', { probe: PROBE })).toBe(0)
    await config.writeAlerting({ ...alerting, maintenance: [window] })
    expect(await runtime.reload()).toBe(true)
    expect(await metric(url, 'probe_muted', { probe: PROBE })).toBe(1)
    target.mode = 'fail'
    await waitFor('three failed runs', async () => (await probeMetrics(url, PROBE)).runsFailed >= 3)
    expect(hook.requests).toEqual([])
    await config.writeAlerting(alerting)
    expect(await runtime.reload()).toBe(true)
    const firing = await waitFor('the held firing', () => hook.delivered().find((p) => p.event === 'firing'), 5_000)
    expect(firing.consecutiveFailures).toBeGreaterThanOrEqual(3)
    expect(await metric(url, 'probe_muted', { probe: PROBE })).toBe(0)
  })

  it('a window that ended while the daemon was down: the held page goes out at start, with the count it had', async () => {
    const target = await startTarget('fail')
    const hook = await startWebhookSink()
    cleanups.defer(() => Promise.all([target.close(), hook.close()]))
    const end = Date.now() + 4_000
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: PROBE, target: target.url, interval: '1s' })],
      alerting: {
        defaults: { failureThreshold: 2, reminderInterval: 0, channels: ['hook'] },
        channels: { hook: { type: 'webhook', timeout: '2s', url: `${hook.url}/hook` } },
        maintenance: [
          { name: 'deploy', probes: [PROBE], start: new Date(Date.now() - 1_000).toISOString(), end: new Date(end).toISOString() },
        ],
      },
    })
    const first = await startRuntime(cleanups, config)
    await waitFor('two failed runs, held', async () => ((await readState(config))?.probes[PROBE]?.state.failures ?? 0) >= 2, 10_000)
    await first.stop()
    const held = (await readState(config))?.probes[PROBE]?.state
    expect(held?.kind).toBe('failing')
    expect(hook.requests).toEqual([])
    await waitFor('the window to end', () => Date.now() > end, 10_000)
    await startRuntime(cleanups, config)
    const firing = await waitFor('the held firing', () => hook.delivered().find((p) => p.event === 'firing'), 5_000)
    // Decided at start from the stored streak, not by a new run (which would have counted one more).
    expect(firing.consecutiveFailures).toBe(held?.failures)
  })
})
