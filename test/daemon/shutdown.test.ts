/**
 * SIGTERM/SIGINT on a real `probe run`: exit 0 within a bound, the state
 * file saved as it stood, a run cut short by shutdown counted as neither
 * success nor failure (SPEC), a delivery still hanging saved for the next
 * start, and a second signal quitting at once.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { exitOf, spawnDaemon } from './child.ts'
import { Cleanups, probeFile, probeMetrics, readState, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startTarget, startWebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

/** The daemon's shutdown grace for runs in flight (runtime.ts default). */
const RUN_GRACE_MS = 10_000

describe('shutdown on a signal', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits 0 on %s with the state file saved',
    async (signal) => {
      const target = await startTarget('fail')
      cleanups.defer(() => target.close())
      const config = await writeConfig(cleanups, {
        probes: [probeFile({ name: 'api', target: target.url })],
        alerting: { defaults: { failureThreshold: 5 }, channels: {} },
      })
      const daemon = await spawnDaemon(cleanups, config)
      await waitFor('two failed runs', async () => ((await probeMetrics(daemon.url, 'api')).consecutiveFailures ?? 0) >= 2)
      daemon.process.kill(signal)
      expect(await exitOf(daemon, 8_000)).toEqual({ code: 0, signal: null })

      // Saved as it stood: one failure per failed run the process logged, nothing lost or invented.
      const failedRuns = daemon.logs().filter((line) => line.msg === 'probe run failed').length
      expect(failedRuns).toBeGreaterThanOrEqual(2)
      expect((await readState(config))?.probes.api?.state).toMatchObject({ kind: 'failing', failures: failedRuns })
      expect(daemon.logs().map((line) => line.msg)).toContain('smokeprobe stopped')
    },
    30_000,
  )

  it('does not count a run in flight at SIGTERM as a failure', async () => {
    const target = await startTarget('fail')
    cleanups.defer(() => target.close())
    // Every second, with a budget longer than the shutdown grace: the hanging run is aborted, not timed out.
    const probe = probeFile({ name: 'slow', target: target.url, schedule: '* * * * * *', timeout: '20s' })
    const config = await writeConfig(cleanups, { probes: [probe], alerting: { defaults: { failureThreshold: 5 }, channels: {} } })
    const daemon = await spawnDaemon(cleanups, config)
    await waitFor('two failed runs', () => target.requests.filter((r) => r.answer === 503).length >= 2)
    target.mode = 'hang'
    await waitFor('a run hanging on the target', () => target.requests.some((r) => r.answer === 'hang'))
    const failures = target.requests.filter((r) => r.answer === 503).length
    expect(await probeMetrics(daemon.url, 'slow')).toMatchObject({ runsFailed: failures, consecutiveFailures: failures })

    daemon.process.kill('SIGTERM')
    expect(await exitOf(daemon, RUN_GRACE_MS + 10_000)).toEqual({ code: 0, signal: null })
    expect((await readState(config))?.probes.slow?.state).toMatchObject({ kind: 'failing', failures })
    const messages = daemon.logs().map((line) => line.msg)
    expect(messages.filter((msg) => msg === 'probe run failed')).toHaveLength(failures)
    expect(messages).toContain('aborting runs still going after the shutdown grace')
  }, 45_000)

  // In-process so the flush bound can be short; the same stop() runs on SIGTERM.
  it('saves a delivery still hanging at shutdown for the next start, which delivers it once', async () => {
    const target = await startTarget('fail')
    const hook = await startWebhookSink('hang')
    cleanups.defer(() => Promise.all([target.close(), hook.close()]))
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'api', target: target.url })],
      alerting: {
        defaults: { failureThreshold: 2, channels: ['hook'] },
        channels: { hook: { type: 'webhook', url: hook.url, timeout: '60s' } },
      },
    })
    const first = await startRuntime(cleanups, config, { flushMs: 300 })
    await waitFor('the firing attempt hanging', () => hook.hanging().length > 0)
    await first.stop()
    const saved = (await readState(config))?.outbox as { notification: { event: string } }[]
    expect(saved.map((entry) => entry.notification.event)).toEqual(['firing'])

    hook.mode = 'ok'
    const second = await startRuntime(cleanups, config)
    await waitFor('the firing delivered', () => hook.delivered().length > 0)
    await waitFor('two failed runs after the restart', async () => (await probeMetrics(second.url, 'api')).runsFailed >= 2)
    expect(hook.delivered().map((p) => p.event)).toEqual(['firing'])
    expect(new Set(hook.requests.map((r) => (JSON.parse(r.body) as { id: string }).id)).size).toBe(1)
  })

  it('exits at once with 1 on a second signal while still draining', async () => {
    const target = await startTarget('hang')
    cleanups.defer(() => target.close())
    const probe = probeFile({ name: 'slow', target: target.url, schedule: '* * * * * *', timeout: '20s' })
    const config = await writeConfig(cleanups, { probes: [probe], alerting: { channels: {} } })
    const daemon = await spawnDaemon(cleanups, config)
    await waitFor('a run hanging on the target', () => target.requests.length > 0)
    daemon.process.kill('SIGTERM')
    await waitFor('the drain to begin', () => daemon.logs().some((line) => line.msg === 'waiting for runs in flight'))
    daemon.process.kill('SIGTERM')
    // Well inside the run grace: the second signal did not wait for it.
    expect(await exitOf(daemon, RUN_GRACE_MS / 2)).toEqual({ code: 1, signal: null })
  }, 30_000)
})
