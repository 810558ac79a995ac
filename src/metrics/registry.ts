import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client'
import { FastRegistry } from './exposition.ts'
import type { Outcome } from '../judge/judge.ts'
import type { RunResult } from '../probe/result.ts'

/**
 * Every metric smokeprobe exports, in one module around one injected
 * registry. Names and labels are the contract README "Metrics and endpoints" documents.
 *
 * With `--location`, every `probe_*` series carries a `location` label
 * (README "Scaling"), so replicas at several vantage points never collide. The
 * process metrics (`smokeprobe_*`) describe this process, not a probe,
 * and stay unlabelled, as every exporter's `process_*` metrics do.
 */
export interface Metrics {
  readonly registry: Registry
  /** Creates a probe's known series at zero (Cloudprober), so `rate()` sees the first failure; also reconciles steps on reload. */
  initProbe(probe: { name: string; steps: readonly { name: string }[] }): void
  /** Drops every series of a probe that is no longer configured, so no stale series lives on. */
  removeProbe(name: string): void
  /**
   * Records a finished run; an aborted run (shutdown) counts as neither success nor failure and records nothing.
   * `outcome` is the judged one (src/judge/), the `result` label of `probe_runs_total`; without it, the raw result's.
   */
  recordRun(result: RunResult, outcome?: Outcome): void
  /** `probe_muted`: whether the probe's notifications are muted (a maintenance window or an ad-hoc mute). */
  setMuted(probe: string, muted: boolean): void
  setAlertState(probe: string, firing: boolean, consecutiveFailures: number): void
  recordNotification(channel: string, event: string, result: NotificationResult): void
  setPending(channel: string, n: number): void
  recordSkipped(probe: string): void
  recordMissed(probe: string): void
  /** How late a run started after its slot (timer or cron latency, a blocked event loop), in ms. */
  recordLateness(ms: number): void
  /** One write of the state file that failed (each attempt; coalesced saves are one write). */
  recordStateWriteFailure(): void
  /** Keeps exactly one `probe_config_info` series: the configuration running now. */
  setConfig(sha256: string, reloadOk: boolean): void
  /** `probe_network_up`: whether the canaries answered at their last check; null (no canaries configured) removes it. */
  setNetworkUp(up: boolean | null): void
  /** The cleanup journal and the orphan sweep (src/cleanup/). */
  readonly cleanup: CleanupMetrics
}

/** `probe_notifications_total{result}`: delivered, one failed attempt, or an entry given up. */
export type NotificationResult = 'sent' | 'failed' | 'dropped'
const NOTIFICATION_RESULTS: readonly NotificationResult[] = ['sent', 'failed', 'dropped']

/**
 * Step durations in seconds: from a fast local API up to the default 30 s
 * run budget (web-request defaults stop at 10 s); `+Inf` holds the rest.
 * Few buckets on purpose: the histogram is most of a scrape at 1,000 probes.
 */
export const STEP_DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Run start lateness in seconds: a healthy daemon stays in the first buckets; 1 s is the capacity line (BENCHMARKS.md). */
export const LATENESS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

type Labels = Record<string, string>

/** `probe_runs_total{result}`: every judged outcome of a finished run (an aborted one is not counted). */
type RunLabel = Exclude<Outcome, 'aborted'>
const RUN_RESULTS: readonly RunLabel[] = ['success', 'failure', 'retried', 'inconclusive']

/** Cached labelled children of one probe, so a run costs no label hashing beyond the first. */
interface ProbeSeries {
  readonly base: Labels
  readonly success: Gauge.Internal<string>
  readonly duration: Gauge.Internal<string>
  readonly lastRun: Gauge.Internal<string>
  readonly consecutive: Gauge.Internal<string>
  readonly firing: Gauge.Internal<string>
  readonly muted: Gauge.Internal<string>
  readonly runs: Readonly<Record<RunLabel, Counter.Internal>>
  readonly skipped: Counter.Internal
  readonly missed: Counter.Internal
  readonly steps: Map<string, Histogram.Internal<string>>
  /** Keyed `step\0reason`. */
  readonly failures: Map<string, Counter.Internal>
}

export function createMetrics(options: { location: string | null }): Metrics {
  const registry = new FastRegistry()
  collectDefaultMetrics({ register: registry, prefix: 'smokeprobe_' })
  // Gauges named `*_total` fail `promtool check metrics` (README "Metrics and endpoints"); each repeats the sum of its unsuffixed sibling.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(`smokeprobe_${name}`)
  }
  const m = defineMetrics(registry)
  const location: Labels = options.location === null ? {} : { location: options.location }
  const probes = new Map<string, ProbeSeries>()
  const lateness = m.lateness.labels(location)
  // Exists at zero from the start, so that the first failure is an increase (Cloudprober).
  const stateWriteFailures = m.stateWriteFailures.labels(location)
  stateWriteFailures.inc(0)

  function series(name: string): ProbeSeries {
    let s = probes.get(name)
    if (s === undefined) {
      const base = { probe: name, ...location }
      s = {
        base,
        success: m.success.labels(base),
        duration: m.duration.labels(base),
        lastRun: m.lastRun.labels(base),
        consecutive: m.consecutive.labels(base),
        firing: m.firing.labels(base),
        muted: m.muted.labels(base),
        runs: {
          success: m.runs.labels({ ...base, result: 'success' }),
          failure: m.runs.labels({ ...base, result: 'failure' }),
          retried: m.runs.labels({ ...base, result: 'retried' }),
          inconclusive: m.runs.labels({ ...base, result: 'inconclusive' }),
        },
        skipped: m.skipped.labels(base),
        missed: m.missed.labels(base),
        steps: new Map(),
        failures: new Map(),
      }
      // Zeroed once, when the probe's series are created, not on every initProbe: a reload must not
      // unmute a probe in a window until its next run (probe_muted is set by each run).
      s.muted.set(0)
      probes.set(name, s)
    }
    return s
  }

  function stepChild(s: ProbeSeries, step: string): Histogram.Internal<string> {
    let child = s.steps.get(step)
    if (child === undefined) {
      m.stepDuration.zero({ ...s.base, step })
      child = m.stepDuration.labels({ ...s.base, step })
      s.steps.set(step, child)
    }
    return child
  }

  function failureChild(s: ProbeSeries, step: string, reason: string): Counter.Internal {
    const key = `${step}\0${reason}`
    let child = s.failures.get(key)
    if (child === undefined) {
      child = m.failures.labels({ ...s.base, step, reason })
      child.inc(0)
      s.failures.set(key, child)
    }
    return child
  }

  function dropStep(s: ProbeSeries, step: string): void {
    m.stepDuration.remove({ ...s.base, step })
    s.steps.delete(step)
    for (const key of [...s.failures.keys()]) {
      const [keyStep, reason] = key.split('\0') as [string, string]
      if (keyStep !== step) continue
      m.failures.remove({ ...s.base, step, reason })
      s.failures.delete(key)
    }
  }

  return {
    registry,
    initProbe(probe) {
      const s = series(probe.name)
      s.consecutive.set(0)
      s.firing.set(0)
      for (const result of RUN_RESULTS) s.runs[result].inc(0)
      s.skipped.inc(0)
      s.missed.inc(0)
      const wanted = new Set(probe.steps.map((step) => step.name))
      for (const step of [...s.steps.keys()]) if (!wanted.has(step)) dropStep(s, step)
      for (const step of wanted) {
        // Failure reasons are an open set, so (unlike steps) they are not zeroed ahead: a
        // zero per step and reason would be most of a scrape at 1,000 probes.
        stepChild(s, step)
      }
    },
    removeProbe(name) {
      const s = probes.get(name)
      if (s === undefined) return
      for (const step of [...s.steps.keys()]) dropStep(s, step)
      for (const key of s.failures.keys()) {
        const [step, reason] = key.split('\0') as [string, string]
        m.failures.remove({ ...s.base, step, reason })
      }
      for (const metric of [m.success, m.duration, m.lastRun, m.consecutive, m.firing, m.muted, m.skipped, m.missed]) metric.remove(s.base)
      for (const result of RUN_RESULTS) m.runs.remove({ ...s.base, result })
      probes.delete(name)
    },
    recordRun(result, outcome = result.outcome) {
      if (result.outcome === 'aborted' || outcome === 'aborted') return
      const s = series(result.probe)
      // probe_success keeps the blackbox_exporter's meaning, what the run saw: an
      // inconclusive run did fail, a retried one did pass. The judgement is in the result label.
      s.success.set(result.outcome === 'success' ? 1 : 0)
      s.duration.set(result.durationMs / 1000)
      s.lastRun.set((Date.parse(result.startedAt) + result.durationMs) / 1000)
      s.runs[outcome].inc()
      let counted = false
      for (const step of result.steps) {
        if (step.status === 'skipped') continue
        stepChild(s, step.name).observe(step.durationMs / 1000)
        if (step.failure !== undefined) {
          failureChild(s, step.name, step.failure.reason).inc()
          counted = true
        }
      }
      // A failure outside any step (the run's deadline, say) still counts once.
      if (!counted && result.failure !== null) failureChild(s, result.failure.step, result.failure.reason).inc()
    },
    setMuted(probe, muted) {
      series(probe).muted.set(muted ? 1 : 0)
    },
    setAlertState(probe, firing, consecutiveFailures) {
      const s = series(probe)
      s.firing.set(firing ? 1 : 0)
      s.consecutive.set(consecutiveFailures)
    },
    recordNotification(channel, event, result) {
      const labels = { ...location, channel, event }
      // The other results start at zero too, so the first failed or dropped delivery is visible to rate().
      for (const other of NOTIFICATION_RESULTS) if (other !== result) m.notifications.inc({ ...labels, result: other }, 0)
      m.notifications.inc({ ...labels, result })
    },
    setPending(channel, n) {
      m.pending.set({ ...location, channel }, n)
    },
    recordSkipped(probe) {
      series(probe).skipped.inc()
    },
    recordMissed(probe) {
      series(probe).missed.inc()
    },
    recordLateness(ms) {
      lateness.observe(Math.max(0, ms) / 1000)
    },
    recordStateWriteFailure() {
      stateWriteFailures.inc()
    },
    setConfig(sha256, reloadOk) {
      m.configInfo.reset()
      m.configInfo.set({ ...location, sha256 }, 1)
      m.reloadOk.set(location, reloadOk ? 1 : 0)
    },
    setNetworkUp(up) {
      if (up === null) m.networkUp.remove(location)
      else m.networkUp.set(location, up ? 1 : 0)
    },
    cleanup: createCleanupMetrics(registry, location),
  }
}

// --- The cleanup journal and the orphan sweep (README "Cleanup you can trust") ---

export interface CleanupMetrics {
  /** Creates a probe's cleanup and sweep series at zero. */
  initProbe(probe: string, sweeps: boolean): void
  /**
   * `probe_cleanup_pending{probe}`: journaled cleanups waiting for a retry. A probe with none that is
   * no longer configured loses its series; a configured one stays at 0.
   */
  setPending(counts: ReadonlyMap<string, number>, configured: ReadonlySet<string>): void
  recordAbandoned(probe: string): void
  /** A probe no longer configured: its counters and sweep series go (its pending count goes with its last entry). */
  removeProbe(probe: string): void
  /** After a sweep: what it saw (`probe_orphans_found`) and deleted. */
  recordSweep(probe: string, found: number, deleted: number): void
  recordSweepFailure(probe: string): void
}

function createCleanupMetrics(registry: Registry, location: Labels): CleanupMetrics {
  const registers = [registry]
  const labelNames = ['probe', 'location'] as const
  const pending = new Gauge({
    name: 'probe_cleanup_pending',
    help: 'Journaled cleanups of the probe waiting for a retry (their cleanup step failed or never ran).',
    labelNames,
    registers,
  })
  const abandoned = new Counter({
    name: 'probe_cleanup_abandoned_total',
    help: 'Journaled cleanups given up after 24 h of retries: what they would delete may be left behind.',
    labelNames,
    registers,
  })
  const orphans = new Gauge({
    name: 'probe_orphans_found',
    help: "Records the probe's last sweep found that are its own and older than minAge (leftovers).",
    labelNames,
    registers,
  })
  const deleted = new Counter({
    name: 'probe_sweep_deleted_total',
    help: 'Leftover records deleted by the probe sweep.',
    labelNames,
    registers,
  })
  const failures = new Counter({
    name: 'probe_sweep_failures_total',
    help: 'Sweeps that failed (a list page or a delete could not be done); never paged.',
    labelNames,
    registers,
  })
  const shown = new Set<string>()
  const labels = (probe: string) => ({ probe, ...location })
  return {
    initProbe(probe, sweeps) {
      abandoned.inc(labels(probe), 0)
      if (!shown.has(probe)) pending.set(labels(probe), 0)
      shown.add(probe)
      if (!sweeps) return
      deleted.inc(labels(probe), 0)
      failures.inc(labels(probe), 0)
    },
    setPending(counts, configured) {
      for (const probe of new Set([...shown, ...counts.keys()])) {
        const n = counts.get(probe) ?? 0
        if (n === 0 && !configured.has(probe)) {
          pending.remove(labels(probe))
          shown.delete(probe)
        } else {
          pending.set(labels(probe), n)
          shown.add(probe)
        }
      }
    },
    recordAbandoned(probe) {
      abandoned.inc(labels(probe))
    },
    removeProbe(probe) {
      for (const metric of [abandoned, orphans, deleted, failures]) metric.remove(labels(probe))
    },
    recordSweep(probe, found, n) {
      orphans.set(labels(probe), found)
      deleted.inc(labels(probe), n)
    },
    recordSweepFailure(probe) {
      failures.inc(labels(probe))
    },
  }
}

function defineMetrics(registry: Registry) {
  const registers = [registry]
  const probe = ['probe', 'location'] as const
  return {
    success: new Gauge({
      name: 'probe_success',
      help: 'Whether the last run of the probe succeeded (1) or failed (0).',
      labelNames: probe,
      registers,
    }),
    duration: new Gauge({
      name: 'probe_duration_seconds',
      help: 'How long the last run of the probe took, in seconds.',
      labelNames: probe,
      registers,
    }),
    runs: new Counter({
      name: 'probe_runs_total',
      help: 'Finished runs by judged result (success, failure, retried: passed after a retry, inconclusive: the monitor network was down); runs cut short by shutdown are not counted.',
      labelNames: [...probe, 'result'] as const,
      registers,
    }),
    stepDuration: new Histogram({
      name: 'probe_step_duration_seconds',
      help: 'Duration of each step that ran, in seconds.',
      labelNames: [...probe, 'step'] as const,
      buckets: STEP_DURATION_BUCKETS,
      registers,
    }),
    failures: new Counter({
      name: 'probe_failures_total',
      help: 'Failed steps by step and reason.',
      labelNames: [...probe, 'step', 'reason'] as const,
      registers,
    }),
    consecutive: new Gauge({
      name: 'probe_consecutive_failures',
      help: 'Failed runs in a row, as the alert state machine counts them.',
      labelNames: probe,
      registers,
    }),
    firing: new Gauge({
      name: 'probe_alert_firing',
      help: 'Whether the probe has a firing alert (1) or not (0).',
      labelNames: probe,
      registers,
    }),
    muted: new Gauge({
      name: 'probe_muted',
      help: 'Whether the probe is in a maintenance window or an ad-hoc mute (1): it runs and counts, but notifies nobody.',
      labelNames: probe,
      registers,
    }),
    lastRun: new Gauge({
      name: 'probe_last_run_timestamp_seconds',
      help: 'When the last run of the probe finished, in Unix seconds.',
      labelNames: probe,
      registers,
    }),
    skipped: new Counter({
      name: 'probe_runs_skipped_total',
      help: 'Scheduled runs skipped because the previous run was still going.',
      labelNames: probe,
      registers,
    }),
    missed: new Counter({
      name: 'probe_runs_missed_total',
      help: 'Scheduled runs missed because the process was blocked past the tolerance.',
      labelNames: probe,
      registers,
    }),
    // One daemon-wide series, not one per probe: 13 series per probe would double a scrape at 1,000 probes.
    lateness: new Histogram({
      name: 'probe_schedule_lateness_seconds',
      help: 'How late runs started after their scheduled slot, in seconds (all probes).',
      labelNames: ['location'] as const,
      buckets: LATENESS_BUCKETS,
      registers,
    }),
    notifications: new Counter({
      name: 'probe_notifications_total',
      help: 'Notifications delivered (sent), delivery attempts that failed (failed, each attempt, retried or not) and notifications given up (dropped), by channel and event.',
      labelNames: ['channel', 'event', 'result', 'location'] as const,
      registers,
    }),
    pending: new Gauge({
      name: 'probe_notifications_pending',
      help: 'Notifications waiting for delivery, by channel.',
      labelNames: ['channel', 'location'] as const,
      registers,
    }),
    configInfo: new Gauge({
      name: 'probe_config_info',
      help: 'The configuration running now, by the sha256 of its files.',
      labelNames: ['sha256', 'location'] as const,
      registers,
    }),
    stateWriteFailures: new Counter({
      name: 'probe_state_write_failures_total',
      help: 'Writes of the alert state file that failed; the state stays in memory and the next change retries.',
      labelNames: ['location'] as const,
      registers,
    }),
    networkUp: new Gauge({
      name: 'probe_network_up',
      help: 'Whether the canaries of the alerting file answered at their last check (1) or all failed (0); absent without canaries.',
      labelNames: ['location'] as const,
      registers,
    }),
    reloadOk: new Gauge({
      name: 'probe_config_last_reload_successful',
      help: 'Whether the last configuration load or reload succeeded (1) or not (0).',
      labelNames: ['location'] as const,
      registers,
    }),
  }
}
