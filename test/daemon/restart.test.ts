/**
 * The daemon killed (SIGKILL) after the fifth failure decided the firing but
 * before any channel acknowledged it: the next process on the same state dir
 * delivers it, once. Real `probe run` processes; the state dir is the only
 * thing the two share.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { exitOf, spawnDaemon } from './child.ts'
import { Cleanups, type Config, probeFile, probeMetrics, readState, waitFor, writeConfig } from './harness.ts'
import { startTarget, startWebhookSink, type Target, type WebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const PROBE = 'orders'

async function setup(hookMode: 'hang' | 'down'): Promise<{ config: Config; target: Target; hook: WebhookSink }> {
  const target = await startTarget('fail')
  const hook = await startWebhookSink(hookMode === 'hang' ? 'hang' : 'ok')
  if (hookMode === 'down') await hook.down()
  cleanups.defer(() => Promise.all([target.close(), hook.close()]))
  const config = await writeConfig(cleanups, {
    probes: [probeFile({ name: PROBE, target: target.url })],
    alerting: {
      defaults: { failureThreshold: 5, channels: ['hook'] },
      channels: { hook: { type: 'webhook', url: `${hook.url}/hook`, timeout: '5s' } },
    },
  })
  return { config, target, hook }
}

function firingEntries(state: Awaited<ReturnType<typeof readState>>) {
  return (state?.outbox ?? []).filter((entry) => (entry as { notification: { event: string } }).notification.event === 'firing')
}

/** Every firing request the sink saw carries the same notification id, and exactly one was acknowledged. */
function expectDeliveredOnce(hook: WebhookSink): void {
  const firings = hook.requests.filter((r) => (JSON.parse(r.body) as { event: string }).event === 'firing')
  const ids = new Set(firings.map((r) => (JSON.parse(r.body) as { id: string }).id))
  expect(ids.size).toBe(1)
  expect(firings.map((r) => r.headers['idempotency-key'])).toEqual(firings.map(() => [...ids][0]))
  expect(hook.delivered().filter((p) => p.event === 'firing')).toHaveLength(1)
}

describe('SIGKILL between the fifth failure and delivery', () => {
  it('delivers the firing once after a restart when the kill cut the attempt in flight', async () => {
    const { config, hook } = await setup('hang')
    const first = await spawnDaemon(cleanups, config)
    // The request reaching the sink proves the firing was decided; the sink never answers it.
    await waitFor('the firing attempt to reach the hanging sink', () => hook.hanging().length > 0, 30_000)
    expect(firingEntries(await readState(config))).toHaveLength(1)
    first.process.kill('SIGKILL')
    expect((await exitOf(first)).signal).toBe('SIGKILL')
    expect(hook.delivered()).toHaveLength(0)

    hook.mode = 'ok'
    const second = await spawnDaemon(cleanups, config)
    await waitFor('the firing to be delivered', () => hook.delivered().length > 0, 30_000)
    // Still failing: more failed runs, and no second page for the same incident.
    await waitFor('three failed runs in the new process', async () => (await probeMetrics(second.url, PROBE)).runsFailed >= 3)
    expectDeliveredOnce(hook)
    expect(hook.delivered()[0]).toMatchObject({ event: 'firing', probe: PROBE, consecutiveFailures: 5 })
    expect(await probeMetrics(second.url, PROBE)).toMatchObject({ firing: 1, success: 0 })
    expect(firingEntries(await readState(config))).toHaveLength(0)
  }, 90_000)

  it('delivers the firing once after a restart when the sink refused connections until then, then the resolve once', async () => {
    const { config, target, hook } = await setup('down')
    const first = await spawnDaemon(cleanups, config)
    // Decided and on disk, not deliverable: the webhook refuses connections.
    await waitFor('the firing to wait in the outbox', async () => firingEntries(await readState(config)).length > 0, 30_000)
    first.process.kill('SIGKILL')
    await exitOf(first)
    expect(hook.requests).toHaveLength(0)

    await hook.up()
    const second = await spawnDaemon(cleanups, config)
    await waitFor('the firing to be delivered', () => hook.delivered().length > 0, 30_000)
    await waitFor('three failed runs in the new process', async () => (await probeMetrics(second.url, PROBE)).runsFailed >= 3)
    expectDeliveredOnce(hook)

    target.mode = 'ok'
    await waitFor('the resolve', () => hook.delivered().some((p) => p.event === 'resolved'), 30_000)
    await waitFor('two passing runs', async () => (await probeMetrics(second.url, PROBE)).runsOk >= 2)
    const events = hook.delivered().map((p) => p.event)
    expect(events).toEqual(['firing', 'resolved'])
    const [firing, resolved] = hook.delivered()
    expect(resolved?.incidentId).toBe(firing?.incidentId)
  }, 90_000)
})
