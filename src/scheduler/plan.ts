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

/** How a probe is triggered: node-cron for a `schedule:`, the drift-free timer loop for an `interval`. */
export type Plan =
  | { readonly kind: 'cron'; readonly expression: string }
  | { readonly kind: 'timer'; readonly intervalMs: number; readonly offsetMs: number }

/** Upper bound on how late a slot may start before it counts as missed; node-cron's 1 s default drops runs on a GC pause. */
export const DEFAULT_MISSED_TOLERANCE_MS = 15_000

/**
 * Where in its interval a probe fires: a hash of its name modulo the
 * interval, to the millisecond, as Prometheus spreads scrape targets.
 * Stable across restarts and replicas, different for different probes, so
 * 1,000 probes at `5s` arrive one every 5 ms on average rather than 200 in
 * the same millisecond, as whole-second offsets made them (each such burst
 * delayed the start of its last runs, and their timings, by 100 ms or more).
 *
 * The hash is salted: the sharding hash (`src/daemon/shard.ts`) is sha256
 * of the bare name, and reusing it would give every probe of one shard the
 * same offset modulo the shard count.
 */
export function stableOffset(name: string, intervalMs: number): number {
  const hash = createHash('sha256').update(`schedule-offset\0${name}`).digest().readUIntBE(0, 6)
  return hash % intervalMs
}

export function planOf(probe: Timing): Plan {
  if (probe.intervalMs === null) {
    if (probe.schedule === undefined) throw new Error(`probe ${probe.name} has neither an interval nor a schedule`)
    return { kind: 'cron', expression: probe.schedule }
  }
  // Interval probes use the timer loop: cron counts whole seconds, which would fire every probe of a second together.
  return { kind: 'timer', intervalMs: probe.intervalMs, offsetMs: stableOffset(probe.name, probe.intervalMs) }
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
