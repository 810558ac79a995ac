import { createHash } from 'node:crypto'
import { formatDuration } from '../config/duration.ts'

/** The timing fields of a probe, all the scheduler reads besides its name. */
export interface Timing {
  readonly name: string
  /** Every N ms, or null when `schedule` is given. */
  readonly intervalMs: number | null
  /** A cron expression in UTC (5 fields, or 6 with seconds). */
  readonly schedule?: string | undefined
}

/** How a probe is triggered: a node-cron expression, or the drift-free timer loop for periods cron cannot express. */
export type Plan =
  | { readonly kind: 'cron'; readonly expression: string; readonly offsetMs: number | null }
  | { readonly kind: 'timer'; readonly intervalMs: number; readonly offsetMs: number }

/** Upper bound on how late a slot may start before it counts as missed; node-cron's 1 s default drops runs on a GC pause. */
export const DEFAULT_MISSED_TOLERANCE_MS = 15_000

/**
 * Where in its interval a probe fires: a hash of its name modulo the
 * interval, as Prometheus spreads scrape targets. Stable across restarts
 * and replicas, different for different probes, so 1,000 probes at `1m`
 * do not all fire at second 0. Whole seconds when the interval is whole
 * seconds (so a cron expression can carry it).
 *
 * The hash is salted: the sharding hash (`src/daemon/shard.ts`) is sha256
 * of the bare name, and reusing it would give every probe of one shard the
 * same offset modulo the shard count.
 */
export function stableOffset(name: string, intervalMs: number): number {
  const hash = createHash('sha256').update(`schedule-offset\0${name}`).digest().readUIntBE(0, 6)
  if (intervalMs % 1000 === 0) return (hash % (intervalMs / 1000)) * 1000
  return hash % intervalMs
}

/**
 * A 6-field UTC cron expression firing every `intervalMs` at `offsetMs`
 * into each period, or null when cron cannot say it. Cron fields count
 * within a minute, an hour or a day, so only periods that divide one of
 * those evenly repeat evenly: `*\/45` in the seconds field fires at :00
 * and :45, i.e. 45 s then 15 s apart. Those periods get the timer loop.
 */
export function intervalCron(intervalMs: number, offsetMs: number): string | null {
  if (intervalMs % 1000 !== 0 || offsetMs % 1000 !== 0) return null
  const period = intervalMs / 1000
  const offset = offsetMs / 1000
  const second = offset % 60
  const minute = Math.floor(offset / 60) % 60
  const hour = Math.floor(offset / 3600)
  if (period <= 60 && 60 % period === 0) return `${field(second, period, 60)} * * * * *`
  if (period % 60 === 0 && period <= 3600 && 3600 % period === 0) return `${second} ${field(minute, period / 60, 60)} * * * *`
  if (period % 3600 === 0 && period <= 86_400 && 86_400 % period === 0) return `${second} ${minute} ${field(hour, period / 3600, 24)} * * *`
  return null
}

/** `start-last/step`, or just `start` when the step spans the whole field. */
function field(start: number, step: number, size: number): string {
  return step === size ? String(start) : `${start}-${size - 1}/${step}`
}

export function planOf(probe: Timing): Plan {
  if (probe.intervalMs === null) {
    if (probe.schedule === undefined) throw new Error(`probe ${probe.name} has neither an interval nor a schedule`)
    return { kind: 'cron', expression: probe.schedule, offsetMs: null }
  }
  const offsetMs = stableOffset(probe.name, probe.intervalMs)
  const expression = intervalCron(probe.intervalMs, offsetMs)
  return expression === null ? { kind: 'timer', intervalMs: probe.intervalMs, offsetMs } : { kind: 'cron', expression, offsetMs }
}

/** A key that changes exactly when the probe's timing does; equal keys keep their running task. */
export function timingKey(probe: Timing): string {
  return probe.intervalMs === null ? `cron ${probe.schedule}` : `every ${probe.intervalMs}`
}

/** How late a slot may start and still run: half the period (so it never runs into the next slot), at most `cap`. */
export function missedTolerance(periodMs: number, cap: number = DEFAULT_MISSED_TOLERANCE_MS): number {
  return Math.max(0, Math.min(cap, Math.floor(periodMs / 2)))
}

/** `every 1m` or `cron 0 9 * * 1-5 (UTC)`, for `probe list`, `/api/probes` and the status page. */
export function describeSchedule(probe: Timing): string {
  return probe.intervalMs === null ? `cron ${probe.schedule} (UTC)` : `every ${formatDuration(probe.intervalMs)}`
}
