/**
 * Figures derived from a probe's runs: uptime over a window and the p50/p95
 * duration. Pure functions of the runs and the time.
 */
import type { RunRing } from './runs.ts'

export const HOUR_MS = 3_600_000
export const UPTIME_WINDOWS = { '1h': HOUR_MS, '24h': 24 * HOUR_MS, '7d': 7 * 24 * HOUR_MS } as const
export type UptimeWindow = keyof typeof UPTIME_WINDOWS

/** What `/api/probes` and the page show of the runs. A figure is null when no run counts for it. */
export interface RunStats {
  /** Share of counted runs that passed, 0…1. */
  readonly uptime: Readonly<Record<UptimeWindow, number | null>>
  /** Over the last 24 h, every judged run (not aborted ones), in ms. */
  readonly p50Ms: number | null
  readonly p95Ms: number | null
}

/**
 * Muted and inconclusive runs say nothing about the target (SPEC "History
 * and the status page"), and an aborted run never finished; `retried` passed.
 */
export function uptime(runs: RunRing, now: number, windowMs: number): number | null {
  let up = 0
  let counted = 0
  for (let i = runs.firstAtOrAfter(now - windowMs); i < runs.length; i++) {
    if (runs.mutedOf(i)) continue
    const outcome = runs.outcomeOf(i)
    if (outcome === 'success' || outcome === 'retried') up++
    else if (outcome !== 'failure') continue
    counted++
  }
  return counted === 0 ? null : up / counted
}

export function runStats(runs: RunRing, now: number): RunStats {
  const from = runs.firstAtOrAfter(now - UPTIME_WINDOWS['24h'])
  const durations = new Float64Array(runs.length - from)
  let n = 0
  for (let i = from; i < runs.length; i++) if (runs.outcomeOf(i) !== 'aborted') durations[n++] = runs.durationOf(i)
  const values = durations.subarray(0, n)
  return {
    uptime: {
      '1h': uptime(runs, now, UPTIME_WINDOWS['1h']),
      '24h': uptime(runs, now, UPTIME_WINDOWS['24h']),
      '7d': uptime(runs, now, UPTIME_WINDOWS['7d']),
    },
    p50Ms: n === 0 ? null : quantile(values, 0.5),
    p95Ms: n === 0 ? null : quantile(values, 0.95),
  }
}

/**
 * The nearest-rank quantile (the smallest value with at least q of the values
 * at or below it), found by quickselect in place: O(n), no sort.
 */
export function quantile(values: Float64Array, q: number): number {
  const k = Math.max(0, Math.ceil(q * values.length) - 1)
  let lo = 0
  let hi = values.length - 1
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!
    let i = lo
    let j = hi
    while (i <= j) {
      while (values[i]! < pivot) i++
      while (values[j]! > pivot) j--
      if (i <= j) {
        const t = values[i]!
        values[i] = values[j]!
        values[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else break
  }
  return values[k]!
}
