/**
 * Figures derived from a probe's runs — uptime over 1 h / 24 h / 7 d and the
 * p50/p95 duration over 24 h — kept up to date as runs arrive and leave, so
 * asking costs the same at 10 runs as at 10,000: the status page of 1,000
 * probes would otherwise scan 10 million runs on every load
 * (BENCHMARKS.md "Run history"). Each window holds the contiguous span of
 * runs inside it, entered at the newest end and left at the oldest; the 24 h
 * window also keeps the durations as a log-scale histogram (buckets 2 %
 * wide, as DDSketch and Prometheus native histograms do), so p50/p95 are
 * exact to within 1 %.
 */
import type { Outcome } from '../judge/judge.ts'
import type { RunRing } from './runs.ts'

export const HOUR_MS = 3_600_000
export const UPTIME_WINDOWS = { '1h': HOUR_MS, '24h': 24 * HOUR_MS, '7d': 7 * 24 * HOUR_MS } as const
export type UptimeWindow = keyof typeof UPTIME_WINDOWS

/** What `/api/probes` and the page show of the runs. A figure is null when no run counts for it. */
export interface RunStats {
  /** Share of counted runs that passed, 0…1. */
  readonly uptime: Readonly<Record<UptimeWindow, number | null>>
  /** Over the last 24 h, every judged run (not aborted ones), in ms, within 1 %. */
  readonly p50Ms: number | null
  readonly p95Ms: number | null
}

/**
 * Whether a run counts for uptime, and as up: muted and inconclusive runs say
 * nothing about the target (SPEC "History and the status page"), an aborted
 * run never finished, `retried` passed.
 */
export function uptimeClass(outcome: Outcome, muted: boolean): 'up' | 'down' | null {
  if (muted) return null
  if (outcome === 'success' || outcome === 'retried') return 'up'
  return outcome === 'failure' ? 'down' : null
}

const GROWTH = 1.02
const LOG_GROWTH = Math.log(GROWTH)
const MIN_MS = 0.1
/** 0.1 ms × 1.02^800 ≈ 12 minutes: above any probe timeout. */
const BUCKETS = 800

export function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0
  return Math.min(BUCKETS - 1, Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH) + 1)
}

/** The bucket's geometric middle: within 1 % of every value in it. */
export function bucketValue(bucket: number): number {
  return bucket === 0 ? MIN_MS : MIN_MS * GROWTH ** (bucket - 0.5)
}

/** The nearest-rank quantile of a histogram of `count` values. */
export function histogramQuantile(histogram: Uint32Array, count: number, q: number): number | null {
  if (count === 0) return null
  const rank = Math.max(1, Math.ceil(q * count))
  let seen = 0
  for (let b = 0; b < histogram.length; b++) {
    seen += histogram[b]!
    if (seen >= rank) return bucketValue(b)
  }
  return bucketValue(histogram.length - 1)
}

interface Window {
  readonly spanMs: number
  /** Sequence number of the oldest run inside; the newest is always inside. */
  tail: number
  up: number
  counted: number
  readonly histogram: Uint32Array | null
  durations: number
}

export class RunFigures {
  readonly #ring: RunRing
  readonly #windows: Window[]

  /** Call on an empty ring, then `added()` after every push; it hooks the ring's evictions. */
  constructor(ring: RunRing) {
    this.#ring = ring
    const end = ring.first + ring.length
    const window = (spanMs: number, histogram: boolean): Window => ({
      spanMs,
      tail: end,
      up: 0,
      counted: 0,
      histogram: histogram ? new Uint32Array(BUCKETS) : null,
      durations: 0,
    })
    this.#windows = [window(UPTIME_WINDOWS['1h'], false), window(UPTIME_WINDOWS['24h'], true), window(UPTIME_WINDOWS['7d'], false)]
    ring.onEvict = () => {
      for (const w of this.#windows) {
        if (w.tail !== ring.first) continue
        this.#count(w, 0, -1)
        w.tail++
      }
    }
  }

  /** The run just pushed enters every window. */
  added(): void {
    for (const w of this.#windows) this.#count(w, this.#ring.length - 1, 1)
  }

  stats(now: number): RunStats {
    const ring = this.#ring
    const end = ring.first + ring.length
    for (const w of this.#windows) {
      while (w.tail < end && ring.atOf(w.tail - ring.first) < now - w.spanMs) {
        this.#count(w, w.tail - ring.first, -1)
        w.tail++
      }
    }
    const [hour, day, week] = this.#windows as [Window, Window, Window]
    const share = (w: Window) => (w.counted === 0 ? null : w.up / w.counted)
    return {
      uptime: { '1h': share(hour), '24h': share(day), '7d': share(week) },
      p50Ms: histogramQuantile(day.histogram!, day.durations, 0.5),
      p95Ms: histogramQuantile(day.histogram!, day.durations, 0.95),
    }
  }

  #count(w: Window, index: number, sign: 1 | -1): void {
    const outcome = this.#ring.outcomeOf(index)
    const kind = uptimeClass(outcome, this.#ring.mutedOf(index))
    if (kind !== null) {
      w.counted += sign
      if (kind === 'up') w.up += sign
    }
    if (w.histogram && outcome !== 'aborted') {
      const bucket = bucketOf(this.#ring.durationOf(index))
      w.histogram[bucket] = w.histogram[bucket]! + sign
      w.durations += sign
    }
  }
}
