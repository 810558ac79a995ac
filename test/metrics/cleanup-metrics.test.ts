import { expect, test } from 'vitest'
import { createMetrics } from '../../src/metrics/registry.ts'
import { parseSamples, type Sample } from './exposition.ts'

async function samples(metrics: ReturnType<typeof createMetrics>, name: string): Promise<Sample[]> {
  return parseSamples(await metrics.registry.metrics()).filter((s) => s.name === name)
}

test('probe_cleanup_pending: a configured probe stays at 0, a removed one keeps its series only while entries wait', async () => {
  const metrics = createMetrics({ location: 'eu' })
  metrics.cleanup.initProbe('kept', false)
  metrics.cleanup.setPending(
    new Map([
      ['kept', 2],
      ['removed', 3],
    ]),
    new Set(['kept']),
  )
  const values = async () => Object.fromEntries((await samples(metrics, 'probe_cleanup_pending')).map((s) => [s.labels.probe, s.value]))
  expect(await values()).toEqual({ kept: 2, removed: 3 })
  metrics.cleanup.setPending(new Map(), new Set(['kept']))
  expect(await values()).toEqual({ kept: 0 })
  expect((await samples(metrics, 'probe_cleanup_pending'))[0]?.labels.location).toBe('eu')
})

test('sweep series exist at 0 for a sweeping probe, count, and go with the probe', async () => {
  const metrics = createMetrics({ location: null })
  metrics.cleanup.initProbe('crud', true)
  expect((await samples(metrics, 'probe_sweep_deleted_total')).map((s) => s.value)).toEqual([0])
  metrics.cleanup.recordSweep('crud', 7, 5)
  metrics.cleanup.recordSweep('crud', 2, 2)
  metrics.cleanup.recordSweepFailure('crud')
  expect((await samples(metrics, 'probe_sweep_deleted_total')).map((s) => s.value)).toEqual([7])
  expect((await samples(metrics, 'probe_orphans_found')).map((s) => s.value)).toEqual([2])
  expect((await samples(metrics, 'probe_sweep_failures_total')).map((s) => s.value)).toEqual([1])
  metrics.cleanup.removeProbe('crud')
  for (const name of ['probe_sweep_deleted_total', 'probe_orphans_found', 'probe_sweep_failures_total', 'probe_cleanup_abandoned_total'])
    expect(await samples(metrics, name)).toEqual([])
})
