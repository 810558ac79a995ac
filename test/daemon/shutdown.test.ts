/**
 * SIGTERM/SIGINT on a real `probe run`: exit 0 within a bound, the state
 * file saved as it stood, and a run cut short by shutdown counted as
 * neither success nor failure (SPEC).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Cleanups, exitOf, probeFile, probeMetrics, readState, spawnDaemon, waitFor, writeConfig } from './harness.ts'
import { startTarget } from './sinks.ts'

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
})
