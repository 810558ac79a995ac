import type { Probe } from '../config/probe-schema.ts'
import type { Logger } from '../log.ts'
import { DEFAULT_MISSED_TOLERANCE_MS, missedTolerance, type Plan, planOf, timingKey } from './plan.ts'
import { cronPeriod, cronTrigger, type Trigger, timerTrigger } from './triggers.ts'

export interface SchedulerOptions {
  /** Runs one probe for one slot; `signal` aborts when the daemon shuts down. Must not reject (a rejection is logged as a bug). */
  readonly run: (probe: Probe, slot: Date, signal: AbortSignal) => Promise<void>
  readonly logger: Logger
  /** A slot came while the probe's previous run was still going, and was skipped. */
  onSkipped(probe: string): void
  /** A slot came more than the tolerance late (the process was blocked), and was not run. */
  onMissed(probe: string): void
  /** Upper bound of the per-probe missed tolerance, which is half the period up to this. @defaultValue 15000 */
  readonly missedTolerance?: number
}

export interface Scheduler {
  /** Replaces the scheduled set. A probe whose timing is unchanged keeps its task (and its slot grid); the next run uses the new definition. */
  schedule(probes: readonly Probe[]): void
  /** Stops scheduling, lets runs in flight finish for up to `graceMs`, then aborts them and waits until they have settled. */
  stop(graceMs: number): Promise<void>
  /** Runs in progress, including those of probes removed by a reload. */
  inFlight(): number
  /** What is scheduled and how, for listings and tests. */
  planned(): PlannedProbe[]
}

export interface PlannedProbe {
  readonly name: string
  readonly plan: Plan
  readonly toleranceMs: number
  /** When the current task was created: unchanged across a reload that leaves the timing alone. */
  readonly since: Date
}

interface Entry {
  probe: Probe
  readonly key: string
  readonly plan: Plan
  readonly toleranceMs: number
  readonly since: Date
  readonly trigger: Trigger
}

interface Run {
  readonly controller: AbortController
  readonly done: Promise<void>
}

/**
 * When each probe runs (STYLE §1 "schedule"): interval probes spread by a
 * stable offset, cron probes in UTC, never two runs of one probe at once,
 * skipped and missed slots counted.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const logger = options.logger.child({ component: 'scheduler' })
  const cap = options.missedTolerance ?? DEFAULT_MISSED_TOLERANCE_MS
  const entries = new Map<string, Entry>()
  // Keyed by probe name, not entry, so no overlap survives a reload that re-creates or re-adds the probe.
  const running = new Map<string, Run>()
  const inFlight = new Set<Run>()
  const skipStreak = new Map<string, number>()
  let stopping: Promise<void> | undefined

  function fire(name: string, slot: Date): void {
    const entry = entries.get(name)
    if (entry === undefined || stopping !== undefined) return
    if (running.has(name)) {
      const streak = (skipStreak.get(name) ?? 0) + 1
      skipStreak.set(name, streak)
      // Logged once per streak: a probe slower than its interval would otherwise log every slot.
      if (streak === 1) logger.warn({ probe: name, slot: slot.toISOString() }, 'slot skipped: the previous run is still going')
      options.onSkipped(name)
      return
    }
    skipStreak.delete(name)
    const controller = new AbortController()
    const done = (async () => options.run(entry.probe, slot, controller.signal))()
      .catch((err: unknown) => logger.error({ err, probe: name }, 'probe run threw'))
      .finally(() => {
        running.delete(name)
        inFlight.delete(run)
      })
    const run: Run = { controller, done }
    running.set(name, run)
    inFlight.add(run)
  }

  function missed(name: string, slot: Date): void {
    logger.warn({ probe: name, slot: slot.toISOString() }, 'slot missed: the process was blocked past the tolerance')
    options.onMissed(name)
  }

  function create(probe: Probe): Entry {
    const plan = planOf(probe)
    const period = plan.kind === 'timer' ? plan.intervalMs : (probe.intervalMs ?? cronPeriod(plan.expression))
    const toleranceMs = missedTolerance(period, cap)
    const handlers = { onSlot: (slot: Date) => fire(probe.name, slot), onMissed: (slot: Date) => missed(probe.name, slot) }
    const cronLog = logger.child({ probe: probe.name })
    const trigger =
      plan.kind === 'cron'
        ? cronTrigger(plan.expression, toleranceMs, handlers, cronLog)
        : timerTrigger(plan.intervalMs, plan.offsetMs, toleranceMs, handlers, cronLog)
    return { probe, key: timingKey(probe), plan, toleranceMs, since: new Date(), trigger }
  }

  return {
    schedule(probes) {
      if (stopping !== undefined) throw new Error('schedule() after stop()')
      const wanted = new Map(probes.map((probe) => [probe.name, probe]))
      for (const [name, entry] of entries) {
        if (wanted.has(name)) continue
        // A run in flight finishes: aborting it could skip its cleanup step and leave test data behind.
        entry.trigger.stop()
        entries.delete(name)
        skipStreak.delete(name)
      }
      for (const probe of wanted.values()) {
        const entry = entries.get(probe.name)
        if (entry !== undefined && entry.key === timingKey(probe)) {
          entry.probe = probe
          continue
        }
        entry?.trigger.stop()
        entries.set(probe.name, create(probe))
      }
      logger.info({ probes: entries.size }, 'probes scheduled')
    },
    stop(graceMs) {
      stopping ??= drain(graceMs)
      return stopping
    },
    inFlight: () => inFlight.size,
    planned: () => [...entries.values()].map(({ probe, plan, toleranceMs, since }) => ({ name: probe.name, plan, toleranceMs, since })),
  }

  async function drain(graceMs: number): Promise<void> {
    for (const entry of entries.values()) entry.trigger.stop()
    entries.clear()
    const settled = () => Promise.all([...inFlight].map((run) => run.done))
    if (inFlight.size === 0) return
    if (graceMs > 0) {
      logger.info({ runs: inFlight.size, graceMs }, 'waiting for runs in flight')
      let timer: NodeJS.Timeout | undefined
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs)
      })
      await Promise.race([settled(), graceOver])
      clearTimeout(timer)
    }
    if (inFlight.size > 0) {
      logger.warn({ runs: inFlight.size }, 'aborting runs still going after the shutdown grace')
      const reason = new DOMException('smokeprobe is shutting down', 'AbortError')
      for (const run of inFlight) run.controller.abort(reason)
      await settled()
    }
  }
}
