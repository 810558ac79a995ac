/**
 * Issue 10, on loopback with the daemon in-process: the monitor's own
 * network going down pages nobody (canaries), and a dropped connection that
 * a retry gets past is a flaky success, not an outage (retries).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { apiProbe, Cleanups, metric, probeFile, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startTarget, startWebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

async function runs(url: string, probe: string, result: string): Promise<number> {
  return (await metric(url, 'probe_runs_total', { probe, result })) ?? 0
}

describe('canaries', () => {
  it('target and canary refusing for 20 runs page nobody; once the canary answers, the still-failing target fires once', async () => {
    const target = await startTarget('ok')
    const canary = await startTarget('ok')
    const hook = await startWebhookSink()
    cleanups.defer(() => Promise.all([target.close(), canary.close(), hook.close()]))
    await target.down()
    await canary.down()
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'shop', target: target.url, interval: '1s', timeout: '500ms' })],
      alerting: {
        defaults: { failureThreshold: 3, channels: ['hook'] },
        channels: { hook: { type: 'webhook', timeout: '2s', url: `${hook.url}/hook` } },
        canaries: [{ url: `${canary.url}/health`, status: 200 }],
      },
    })
    const daemon = await startRuntime(cleanups, config, { canaryCacheMs: 500 })
    expect(await metric(daemon.url, 'probe_network_up')).toBe(1)

    await waitFor('20 inconclusive runs', async () => (await runs(daemon.url, 'shop', 'inconclusive')) >= 20, 40_000)
    expect(hook.requests).toEqual([])
    expect(await runs(daemon.url, 'shop', 'failure')).toBe(0)
    expect(await metric(daemon.url, 'probe_network_up')).toBe(0)
    expect(await metric(daemon.url, 'probe_consecutive_failures', { probe: 'shop' })).toBe(0)
    const status = await apiProbe(daemon.url, 'shop')
    expect(status.lastRun?.outcome).toBe('inconclusive')
    expect(status.alert.state).toBe('ok')
    const api = (await (await fetch(`${daemon.url}/api/probes`)).json()) as { network: { up: boolean; canaries: { detail: string }[] } }
    expect(api.network.up).toBe(false)
    expect(api.network.canaries[0]?.detail).toBe('ECONNREFUSED')
    expect(await (await fetch(daemon.url)).text()).toContain("The monitor's own network is down")

    await canary.up()
    const firing = await waitFor('one firing', () => hook.delivered().find((n) => n.event === 'firing'), 20_000)
    // Counted from the first failure after the network came back: the inconclusive runs are no part of it.
    expect(firing.consecutiveFailures).toBe(3)
    expect(await metric(daemon.url, 'probe_network_up')).toBe(1)
    const failures = await runs(daemon.url, 'shop', 'failure')
    await waitFor('two more failed runs', async () => (await runs(daemon.url, 'shop', 'failure')) >= failures + 2, 10_000)
    expect(hook.requests.map((r) => (JSON.parse(r.body) as { event: string }).event)).toEqual(['firing'])
  }, 70_000)
})

describe('retries', () => {
  it('a connection reset that a retry gets past is a retried run: no failure, no alert, flaky on the status page', async () => {
    const target = await startTarget('flaky')
    const hook = await startWebhookSink()
    cleanups.defer(() => Promise.all([target.close(), hook.close()]))
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'cart', target: target.url, interval: '1s', timeout: '800ms', retry: { attempts: 2, delay: '50ms' } })],
      alerting: {
        defaults: { failureThreshold: 1, channels: ['hook'] },
        channels: { hook: { type: 'webhook', timeout: '2s', url: `${hook.url}/hook` } },
      },
    })
    const daemon = await startRuntime(cleanups, config)
    await waitFor('3 retried runs', async () => (await runs(daemon.url, 'cart', 'retried')) >= 3, 15_000)
    expect(await runs(daemon.url, 'cart', 'failure')).toBe(0)
    expect(target.requests.filter((r) => r.answer === 'reset').length).toBeGreaterThanOrEqual(3)
    expect(hook.requests).toEqual([])
    expect((await apiProbe(daemon.url, 'cart')).lastRun?.outcome).toBe('retried')
    expect(await (await fetch(daemon.url)).text()).toContain('flaky')
  }, 30_000)
})
