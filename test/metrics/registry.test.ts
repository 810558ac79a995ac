import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { createMetrics } from '../../src/metrics/registry.ts'
import type { Failure, RunResult, StepResult } from '../../src/probe/result.ts'
import { find, metricTypes, parseSamples, value } from './exposition.ts'

const PROBE = { name: 'items-crud', steps: [{ name: 'create' }, { name: 'read' }, { name: 'delete' }] }

function step(name: string, durationMs: number, failure?: Failure): StepResult {
  return { name, cleanup: false, status: failure ? 'failed' : 'passed', durationMs, timings: {}, ...(failure ? { failure } : {}) }
}

function run(overrides: Partial<RunResult> = {}): RunResult {
  return {
    probe: 'items-crud',
    runId: 'r1',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 250,
    outcome: 'success',
    failure: null,
    steps: [step('create', 100), step('read', 50), step('delete', 100)],
    ...overrides,
  }
}

const readFailure: Failure = { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' }

function failedRun(): RunResult {
  return run({
    outcome: 'failure',
    failure: readFailure,
    steps: [
      step('create', 100),
      step('read', 50, readFailure),
      step('delete', 3000, { step: 'delete', kind: 'timeout', reason: 'timeout', message: 'delete: timed out' }),
    ],
  })
}

/** A registry in which every probe_* family has a series: a probe, a failed run, a firing alert, a notification, the outbox and a config. */
function withEverySeries(location: string | null) {
  const metrics = createMetrics({ location })
  metrics.initProbe(PROBE)
  metrics.recordRun(failedRun())
  metrics.setAlertState('items-crud', true, 5)
  metrics.recordNotification('oncall', 'firing', 'sent')
  metrics.setPending('oncall', 0)
  metrics.setConfig('abc', true)
  return metrics
}

async function scrape(metrics: ReturnType<typeof createMetrics>) {
  const text = await metrics.registry.metrics()
  return { text, samples: parseSamples(text) }
}

describe('metrics', () => {
  test('every SPEC metric is exported with its type once a probe, a run, a notification and a config exist', async () => {
    const metrics = createMetrics({ location: null })
    metrics.initProbe(PROBE)
    metrics.recordRun(run())
    metrics.recordRun(failedRun())
    metrics.recordNotification('oncall', 'firing', 'sent')
    metrics.setPending('oncall', 2)
    metrics.setConfig('a'.repeat(64), true)
    metrics.setNetworkUp(true)
    const types = metricTypes(await metrics.registry.metrics())
    expect(Object.fromEntries([...types].filter(([name]) => name.startsWith('probe_')))).toEqual({
      probe_success: 'gauge',
      probe_duration_seconds: 'gauge',
      probe_runs_total: 'counter',
      probe_step_duration_seconds: 'histogram',
      probe_failures_total: 'counter',
      probe_consecutive_failures: 'gauge',
      probe_alert_firing: 'gauge',
      probe_muted: 'gauge',
      probe_last_run_timestamp_seconds: 'gauge',
      probe_runs_skipped_total: 'counter',
      probe_runs_missed_total: 'counter',
      probe_schedule_lateness_seconds: 'histogram',
      probe_notifications_total: 'counter',
      probe_notifications_pending: 'gauge',
      probe_config_info: 'gauge',
      probe_config_last_reload_successful: 'gauge',
      probe_state_write_failures_total: 'counter',
      probe_network_up: 'gauge',
      probe_cleanup_pending: 'gauge',
      probe_cleanup_abandoned_total: 'counter',
      probe_orphans_found: 'gauge',
      probe_sweep_deleted_total: 'counter',
      probe_sweep_failures_total: 'counter',
    })
    expect(types.get('smokeprobe_process_cpu_seconds_total')).toBe('counter')
  })

  test('probe_state_write_failures_total exists at 0 from the start and counts each failed write', async () => {
    const metrics = createMetrics({ location: 'eu-west-1' })
    expect(value((await scrape(metrics)).samples, 'probe_state_write_failures_total', { location: 'eu-west-1' })).toBe(0)
    metrics.recordStateWriteFailure()
    metrics.recordStateWriteFailure()
    expect(value((await scrape(metrics)).samples, 'probe_state_write_failures_total', { location: 'eu-west-1' })).toBe(2)
  })

  test('initProbe zeroes the known series but reports no success before the first run', async () => {
    const metrics = createMetrics({ location: null })
    metrics.initProbe(PROBE)
    const { samples } = await scrape(metrics)
    const probe = { probe: 'items-crud' }
    expect(value(samples, 'probe_runs_total', { ...probe, result: 'success' })).toBe(0)
    expect(value(samples, 'probe_runs_total', { ...probe, result: 'failure' })).toBe(0)
    expect(value(samples, 'probe_runs_total', { ...probe, result: 'retried' })).toBe(0)
    expect(value(samples, 'probe_runs_total', { ...probe, result: 'inconclusive' })).toBe(0)
    expect(value(samples, 'probe_muted', probe)).toBe(0)
    expect(value(samples, 'probe_consecutive_failures', probe)).toBe(0)
    expect(value(samples, 'probe_alert_firing', probe)).toBe(0)
    expect(value(samples, 'probe_runs_skipped_total', probe)).toBe(0)
    expect(value(samples, 'probe_runs_missed_total', probe)).toBe(0)
    for (const { name } of PROBE.steps) expect(value(samples, 'probe_step_duration_seconds_count', { ...probe, step: name })).toBe(0)
    // A 0 before any run would page every `probe_success == 0` rule at start-up.
    expect(find(samples, 'probe_success')).toEqual([])
    expect(find(samples, 'probe_last_run_timestamp_seconds')).toEqual([])
  })

  test('a run sets success, duration, last run time, per-step histograms and a failure per failed step', async () => {
    const metrics = createMetrics({ location: null })
    metrics.initProbe(PROBE)
    metrics.recordRun(run())
    let { samples } = await scrape(metrics)
    const probe = { probe: 'items-crud' }
    expect(value(samples, 'probe_success', probe)).toBe(1)
    expect(value(samples, 'probe_duration_seconds', probe)).toBe(0.25)
    expect(value(samples, 'probe_last_run_timestamp_seconds', probe)).toBe(Date.parse('2026-01-01T00:00:00.250Z') / 1000)

    metrics.recordRun(failedRun())
    ;({ samples } = await scrape(metrics))
    expect(value(samples, 'probe_success', probe)).toBe(0)
    expect(value(samples, 'probe_runs_total', { ...probe, result: 'success' })).toBe(1)
    expect(value(samples, 'probe_runs_total', { ...probe, result: 'failure' })).toBe(1)
    expect(value(samples, 'probe_failures_total', { ...probe, step: 'read', reason: 'status' })).toBe(1)
    expect(value(samples, 'probe_failures_total', { ...probe, step: 'delete', reason: 'timeout' })).toBe(1)
    expect(find(samples, 'probe_failures_total', { step: 'create' })).toEqual([])
    expect(value(samples, 'probe_step_duration_seconds_count', { ...probe, step: 'delete' })).toBe(2)
    expect(value(samples, 'probe_step_duration_seconds_sum', { ...probe, step: 'delete' })).toBeCloseTo(3.1)
    // 3 s lands above the 2.5 s bucket and within 5 s.
    expect(value(samples, 'probe_step_duration_seconds_bucket', { ...probe, step: 'delete', le: '2.5' })).toBe(1)
    expect(value(samples, 'probe_step_duration_seconds_bucket', { ...probe, step: 'delete', le: '5' })).toBe(2)
    expect(value(samples, 'probe_step_duration_seconds_bucket', { ...probe, step: 'delete', le: '30' })).toBe(2)
  })

  test('skipped steps are not observed, and a failure outside any step is counted once', async () => {
    const metrics = createMetrics({ location: null })
    const deadline: Failure = { step: 'read', kind: 'timeout', reason: 'timeout', message: 'run timed out' }
    metrics.recordRun(
      run({
        outcome: 'failure',
        failure: deadline,
        steps: [step('create', 10), { name: 'read', cleanup: false, status: 'skipped', durationMs: 0, timings: {} }],
      }),
    )
    const { samples } = await scrape(metrics)
    expect(find(samples, 'probe_step_duration_seconds_count', { step: 'read' })).toEqual([])
    expect(value(samples, 'probe_failures_total', { step: 'read', reason: 'timeout' })).toBe(1)
  })

  test('an aborted run records nothing', async () => {
    const metrics = createMetrics({ location: null })
    metrics.initProbe(PROBE)
    const before = await metrics.registry.getSingleMetricAsString('probe_runs_total')
    metrics.recordRun(run({ outcome: 'aborted' }))
    const { samples } = await scrape(metrics)
    expect(find(samples, 'probe_success')).toEqual([])
    expect(find(samples, 'probe_duration_seconds')).toEqual([])
    expect(await metrics.registry.getSingleMetricAsString('probe_runs_total')).toBe(before)
    expect(value(samples, 'probe_step_duration_seconds_count', { step: 'create' })).toBe(0)
  })

  test('probe_runs_total counts the judged outcome; probe_success and the failures keep what the run saw', async () => {
    const metrics = createMetrics({ location: null })
    metrics.initProbe(PROBE)
    const probe = { probe: 'items-crud' }
    const runs = async () => {
      const { samples } = await scrape(metrics)
      const count = (result: string) => value(samples, 'probe_runs_total', { ...probe, result })
      return { success: count('success'), failure: count('failure'), retried: count('retried'), inconclusive: count('inconclusive') }
    }
    metrics.recordRun(run(), 'retried')
    expect(await runs()).toEqual({ success: 0, failure: 0, retried: 1, inconclusive: 0 })
    expect(value((await scrape(metrics)).samples, 'probe_success', probe)).toBe(1)

    metrics.recordRun(failedRun(), 'inconclusive')
    expect(await runs()).toEqual({ success: 0, failure: 0, retried: 1, inconclusive: 1 })
    const { samples } = await scrape(metrics)
    expect(value(samples, 'probe_success', probe)).toBe(0)
    expect(value(samples, 'probe_failures_total', { ...probe, step: 'read', reason: 'status' })).toBe(1)

    // Without a judgement, the raw result's outcome; an aborted one counts nowhere.
    metrics.recordRun(run())
    metrics.recordRun(failedRun(), 'failure')
    metrics.recordRun(run({ outcome: 'aborted' }), 'aborted')
    expect(await runs()).toEqual({ success: 1, failure: 1, retried: 1, inconclusive: 1 })
  })

  test('probe_muted follows setMuted and goes with its probe', async () => {
    const metrics = createMetrics({ location: 'eu-1' })
    metrics.initProbe(PROBE)
    metrics.setMuted('items-crud', true)
    expect(value((await scrape(metrics)).samples, 'probe_muted', { probe: 'items-crud', location: 'eu-1' })).toBe(1)
    // A reload (initProbe again) leaves it as the last run set it.
    metrics.initProbe(PROBE)
    expect(value((await scrape(metrics)).samples, 'probe_muted', { probe: 'items-crud', location: 'eu-1' })).toBe(1)
    metrics.setMuted('items-crud', false)
    expect(value((await scrape(metrics)).samples, 'probe_muted', { probe: 'items-crud', location: 'eu-1' })).toBe(0)
    metrics.removeProbe('items-crud')
    expect(find((await scrape(metrics)).samples, 'probe_muted')).toEqual([])
  })

  test('probe_network_up follows setNetworkUp; null (no canaries) removes it', async () => {
    const metrics = createMetrics({ location: 'eu-1' })
    expect(find((await scrape(metrics)).samples, 'probe_network_up')).toEqual([])
    metrics.setNetworkUp(false)
    expect(value((await scrape(metrics)).samples, 'probe_network_up', { location: 'eu-1' })).toBe(0)
    metrics.setNetworkUp(true)
    expect(value((await scrape(metrics)).samples, 'probe_network_up', { location: 'eu-1' })).toBe(1)
    metrics.setNetworkUp(null)
    expect(find((await scrape(metrics)).samples, 'probe_network_up')).toEqual([])
  })

  test('alert state, skipped and missed runs, notifications and pending deliveries', async () => {
    const metrics = createMetrics({ location: null })
    metrics.setAlertState('items-crud', true, 5)
    metrics.recordSkipped('items-crud')
    metrics.recordMissed('items-crud')
    metrics.recordMissed('items-crud')
    metrics.recordNotification('oncall', 'firing', 'failed')
    metrics.recordNotification('oncall', 'firing', 'sent')
    metrics.recordNotification('pager', 'resolved', 'sent')
    metrics.setPending('oncall', 3)
    metrics.setPending('oncall', 1)
    const { samples } = await scrape(metrics)
    expect(value(samples, 'probe_alert_firing', { probe: 'items-crud' })).toBe(1)
    expect(value(samples, 'probe_consecutive_failures', { probe: 'items-crud' })).toBe(5)
    expect(value(samples, 'probe_runs_skipped_total', { probe: 'items-crud' })).toBe(1)
    expect(value(samples, 'probe_runs_missed_total', { probe: 'items-crud' })).toBe(2)
    expect(value(samples, 'probe_notifications_total', { channel: 'oncall', event: 'firing', result: 'failed' })).toBe(1)
    expect(value(samples, 'probe_notifications_total', { channel: 'oncall', event: 'firing', result: 'sent' })).toBe(1)
    expect(value(samples, 'probe_notifications_total', { channel: 'pager', event: 'resolved', result: 'failed' })).toBe(0)
    expect(value(samples, 'probe_notifications_pending', { channel: 'oncall' })).toBe(1)
  })

  test('a notification given up counts as dropped; every result of a channel and event starts at zero', async () => {
    const metrics = createMetrics({ location: null })
    metrics.recordNotification('pager', 'firing', 'failed')
    metrics.recordNotification('pager', 'firing', 'dropped')
    metrics.recordNotification('chat', 'firing', 'sent')
    const { samples } = await scrape(metrics)
    const count = (channel: string, result: string) => value(samples, 'probe_notifications_total', { channel, event: 'firing', result })
    expect([count('pager', 'sent'), count('pager', 'failed'), count('pager', 'dropped')]).toEqual([0, 1, 1])
    expect([count('chat', 'sent'), count('chat', 'failed'), count('chat', 'dropped')]).toEqual([1, 0, 0])
  })

  test('run start lateness is one daemon-wide histogram in seconds, with location', async () => {
    const metrics = createMetrics({ location: 'eu-1' })
    metrics.recordLateness(3)
    metrics.recordLateness(1500)
    metrics.recordLateness(-2)
    const { samples } = await scrape(metrics)
    const bucket = (le: string) => value(samples, 'probe_schedule_lateness_seconds_bucket', { location: 'eu-1', le })
    expect(bucket('0.005')).toBe(2)
    expect(bucket('1')).toBe(2)
    expect(bucket('2.5')).toBe(3)
    expect(value(samples, 'probe_schedule_lateness_seconds_count', { location: 'eu-1' })).toBe(3)
  })

  test('setConfig keeps exactly one probe_config_info series', async () => {
    const metrics = createMetrics({ location: null })
    metrics.setConfig('aaa', true)
    metrics.setConfig('bbb', false)
    const { samples } = await scrape(metrics)
    expect(find(samples, 'probe_config_info')).toEqual([{ name: 'probe_config_info', labels: { sha256: 'bbb' }, value: 1 }])
    expect(value(samples, 'probe_config_last_reload_successful')).toBe(0)
  })

  test('removeProbe drops every series of that probe and leaves the others', async () => {
    const metrics = createMetrics({ location: null })
    metrics.initProbe(PROBE)
    metrics.initProbe({ name: 'other', steps: [{ name: 'get' }] })
    metrics.recordRun(failedRun())
    metrics.recordSkipped('items-crud')
    metrics.removeProbe('items-crud')
    metrics.removeProbe('never-existed')
    const { samples } = await scrape(metrics)
    expect(samples.filter((s) => s.labels.probe === 'items-crud')).toEqual([])
    expect(value(samples, 'probe_runs_total', { probe: 'other', result: 'failure' })).toBe(0)
    // Recording again after removal recreates the series from scratch.
    metrics.recordRun(run())
    expect(value(parseSamples(await metrics.registry.metrics()), 'probe_runs_total', { probe: 'items-crud', result: 'success' })).toBe(1)
  })

  test('initProbe on reload drops the series of steps that no longer exist', async () => {
    const metrics = createMetrics({ location: null })
    metrics.initProbe(PROBE)
    metrics.recordRun(failedRun())
    metrics.initProbe({ name: 'items-crud', steps: [{ name: 'create' }, { name: 'fetch' }] })
    const { samples } = await scrape(metrics)
    const steps = new Set(find(samples, 'probe_step_duration_seconds_count').map((s) => s.labels.step))
    expect(steps).toEqual(new Set(['create', 'fetch']))
    expect(find(samples, 'probe_failures_total')).toEqual([])
    // Counters that survive a reload keep counting.
    expect(value(samples, 'probe_runs_total', { result: 'failure' })).toBe(1)
  })

  test('--location labels every probe_* series and no process metric', async () => {
    const { samples } = await scrape(withEverySeries('eu-west-1'))
    const probeSamples = samples.filter((s) => s.name.startsWith('probe_'))
    expect(new Set(probeSamples.map((s) => s.name.replace(/_(bucket|sum|count)$/, ''))).size).toBe(16)
    for (const sample of probeSamples) expect(sample.labels.location, sample.name).toBe('eu-west-1')
    for (const sample of samples.filter((s) => s.name.startsWith('smokeprobe_'))) expect(sample.labels.location).toBeUndefined()
  })

  test('without --location no series carries a location label', async () => {
    const { samples } = await scrape(withEverySeries(null))
    expect(samples.filter((s) => 'location' in s.labels)).toEqual([])
  })

  test('registries are independent: no module globals', async () => {
    const a = createMetrics({ location: null })
    const b = createMetrics({ location: null })
    a.recordSkipped('only-in-a')
    expect(find(parseSamples(await b.registry.metrics()), 'probe_runs_skipped_total')).toEqual([])
  })

  const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((path) => existsSync(path))
  const skipPromtool = promtool === undefined && !process.env.CI
  test.skipIf(skipPromtool)('the scrape passes promtool check metrics (skipped: promtool is not installed and CI is not set)', async () => {
    expect(promtool, 'promtool must be installed in CI (apt-get install prometheus)').toBeDefined()
    const { text } = await scrape(withEverySeries('eu-west-1'))
    const check = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' })
    expect(check.stdout + check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
})
