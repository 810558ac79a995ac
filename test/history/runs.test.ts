import { describe, expect, it } from 'vitest'
import { type HistoryLine, isHistoryLine, MAX_AGE_MS, MAX_INCIDENTS, MAX_RUNS, retainLines } from '../../src/history/records.ts'
import { type RunRecord, RunRing } from '../../src/history/runs.ts'
import { bucketOf, bucketValue, histogramQuantile, RunFigures } from '../../src/history/stats.ts'
import type { Outcome } from '../../src/judge/judge.ts'

const HOUR = 3_600_000
const NOW = Date.parse('2026-01-08T00:00:00Z')

function run(at: number, outcome: Outcome = 'success', extra: Partial<RunRecord> = {}): RunRecord {
  return { at, outcome, muted: false, durationMs: 100, step: null, reason: null, ...extra }
}

function ring(runs: readonly RunRecord[], capacity = MAX_RUNS): RunRing {
  const r = new RunRing(capacity, 2)
  for (const x of runs) r.push(x)
  return r
}

describe('RunRing', () => {
  it('keeps runs oldest first, growing from a small start, and reads back every field', () => {
    const runs = [
      run(1),
      run(2, 'failure', { step: 'read', reason: 'status', durationMs: 12.5 }),
      run(3, 'retried', { muted: true }),
      run(4, 'inconclusive', { step: 'create', reason: 'connect' }),
      run(5, 'aborted'),
    ]
    const r = ring(runs)
    expect(r.length).toBe(5)
    expect(Array.from({ length: 5 }, (_, i) => r.get(i))).toEqual(runs)
  })

  it('drops the oldest past its capacity (the 10,000-run bound)', () => {
    const r = ring(
      Array.from({ length: 25 }, (_, i) => run(i)),
      10,
    )
    expect(r.length).toBe(10)
    expect(r.get(0).at).toBe(15)
    expect(r.get(9).at).toBe(24)
    expect(r.bytes).toBe(10 * (8 + 4 + 1 + 2 + 2))
  })

  it('drops the runs older than a cutoff (the 7-day bound) and finds a time by binary search', () => {
    const r = ring([run(10), run(20), run(30), run(40)])
    expect(r.firstAtOrAfter(25)).toBe(2)
    expect(r.firstAtOrAfter(0)).toBe(0)
    expect(r.firstAtOrAfter(99)).toBe(4)
    r.dropBefore(25)
    expect([r.get(0).at, r.get(1).at]).toEqual([30, 40])
  })

  it('bounds the distinct step names it keeps; beyond the bound a step reads as "?"', () => {
    const r = new RunRing(5000)
    for (let i = 0; i < 1100; i++) r.push(run(i, 'failure', { step: `step-${i}` }))
    expect(r.get(0).step).toBe('step-0')
    expect(r.get(1099).step).toBe('?')
  })
})

function figured(runs: readonly RunRecord[], capacity = MAX_RUNS): { ring: RunRing; figures: RunFigures } {
  const r = new RunRing(capacity, 2)
  const figures = new RunFigures(r)
  for (const x of runs) {
    r.push(x)
    figures.added()
  }
  return { ring: r, figures }
}

describe('uptime', () => {
  // Muted and inconclusive runs say nothing about the target; retried passed; aborted never finished.
  it.each([
    { runs: [run(NOW - 2, 'success'), run(NOW - 1, 'failure')], expected: 0.5 },
    { runs: [run(NOW - 2, 'retried'), run(NOW - 1, 'failure')], expected: 0.5 },
    { runs: [run(NOW - 2, 'success'), run(NOW - 1, 'inconclusive')], expected: 1 },
    { runs: [run(NOW - 2, 'success'), run(NOW - 1, 'failure', { muted: true })], expected: 1 },
    { runs: [run(NOW - 2, 'failure'), run(NOW - 1, 'aborted')], expected: 0 },
    { runs: [run(NOW - 1, 'inconclusive')], expected: null },
    { runs: [], expected: null },
  ])('$expected for $runs.length runs', ({ runs, expected }) => {
    expect(figured(runs).figures.stats(NOW).uptime['1h']).toBe(expected)
  })

  it('counts only the runs inside each window, and lets them go as time passes', () => {
    const { figures } = figured([run(NOW - 2 * HOUR, 'failure'), run(NOW - 30 * 60_000, 'success')])
    expect(figures.stats(NOW).uptime).toEqual({ '1h': 1, '24h': 0.5, '7d': 0.5 })
    expect(figures.stats(NOW + 23 * HOUR).uptime).toEqual({ '1h': null, '24h': 1, '7d': 0.5 })
    expect(figures.stats(NOW + 8 * 24 * HOUR).uptime).toEqual({ '1h': null, '24h': null, '7d': null })
  })

  it('lets go of the runs the ring drops at its capacity', () => {
    const runs = [run(NOW - 5, 'failure'), run(NOW - 4, 'failure'), run(NOW - 3), run(NOW - 2), run(NOW - 1)]
    const { ring, figures } = figured(runs, 3)
    expect(ring.length).toBe(3)
    expect(figures.stats(NOW).uptime).toEqual({ '1h': 1, '24h': 1, '7d': 1 })
    ring.dropBefore(NOW - 1)
    expect(figures.stats(NOW).uptime['7d']).toBe(1)
  })
})

describe('p50 / p95', () => {
  const within = (actual: number | null, expected: number) => Math.abs((actual ?? Number.NaN) - expected) / expected <= 0.01
  it.each([
    { durations: [5], p50: 5, p95: 5 },
    { durations: [1, 2, 3, 4], p50: 2, p95: 4 },
    { durations: Array.from({ length: 100 }, (_, i) => 100 - i), p50: 50, p95: 95 },
    { durations: [7, 7, 7, 1, 7], p50: 7, p95: 7 },
    { durations: [0.05, 0.05, 30_000], p50: 0.1, p95: 30_000 },
  ])('of $durations.length runs: $p50 / $p95, within 1 %', ({ durations, p50, p95 }) => {
    const { figures } = figured(durations.map((d, i) => run(NOW - durations.length + i, 'success', { durationMs: d })))
    const stats = figures.stats(NOW)
    expect(within(stats.p50Ms, p50), `p50 ${stats.p50Ms}`).toBe(true)
    expect(within(stats.p95Ms, p95), `p95 ${stats.p95Ms}`).toBe(true)
  })

  it('leave aborted runs out, count failures, and cover 24 h only', () => {
    const { figures } = figured([
      run(NOW - 25 * HOUR, 'success', { durationMs: 5000 }),
      run(NOW - 3, 'success', { durationMs: 10 }),
      run(NOW - 2, 'aborted', { durationMs: 9000 }),
      run(NOW - 1, 'failure', { durationMs: 30 }),
    ])
    const stats = figures.stats(NOW)
    expect(within(stats.p50Ms, 10) && within(stats.p95Ms, 30)).toBe(true)
    expect(figured([]).figures.stats(NOW)).toMatchObject({ p50Ms: null, p95Ms: null })
  })

  it('every bucket is within 1 % of the values in it, 0.1 ms to 10 minutes', () => {
    for (let v = 0.1; v < 600_000; v *= 1.003) expect(Math.abs(bucketValue(bucketOf(v)) - v) / v).toBeLessThanOrEqual(0.01)
    expect(histogramQuantile(new Uint32Array(4), 0, 0.5)).toBeNull()
  })
})

describe('retainLines', () => {
  const runLine = (at: number): HistoryLine => ({ k: 'run', at, o: 'success', d: 1 })
  it('keeps 7 days of runs', () => {
    const lines = [runLine(NOW - MAX_AGE_MS - 1), runLine(NOW - MAX_AGE_MS), runLine(NOW)]
    expect(retainLines(lines, NOW)).toEqual(lines.slice(1))
  })

  it('keeps at most 10,000 runs, the newest', () => {
    const lines = Array.from({ length: MAX_RUNS + 5 }, (_, i) => runLine(NOW - MAX_RUNS - 5 + i))
    const kept = retainLines(lines, NOW)
    expect(kept).toHaveLength(MAX_RUNS)
    expect(kept[0]).toBe(lines[5])
  })

  it('keeps every line of the last 50 incidents, in order, and drops the older ones', () => {
    const lines: HistoryLine[] = []
    for (let i = 0; i < MAX_INCIDENTS + 2; i++) {
      lines.push({ k: 'open', id: `i${i}`, at: NOW - 100 + i })
      lines.push({ k: 'note', id: `i${i}`, ch: 'hook', ev: 'firing', res: 'sent', at: NOW - 100 + i })
      lines.push({ k: 'close', id: `i${i}`, at: NOW - 100 + i })
    }
    const kept = retainLines(lines, NOW)
    expect(kept).toEqual(lines.slice(6))
  })
})

describe('retainLines: step durations', () => {
  it('keeps the per-step durations of the last 120 runs only', () => {
    const lines: HistoryLine[] = Array.from({ length: 130 }, (_, i) => ({
      k: 'run',
      at: NOW - 130 + i,
      o: 'success',
      d: 1,
      sd: { read: i },
    }))
    const kept = retainLines(lines, NOW)
    expect(kept).toHaveLength(130)
    expect(kept.slice(0, 10).every((line) => line.k === 'run' && line.sd === undefined)).toBe(true)
    expect(kept.slice(10)).toEqual(lines.slice(10))
  })
})

describe('isHistoryLine', () => {
  it.each([
    [{ k: 'run', at: 1, o: 'success', d: 2 }, true],
    [{ k: 'run', at: 1, o: 'failure', m: true, d: 2, s: 'read', r: 'status', sd: { read: 2 } }, true],
    [{ k: 'open', id: 'x', at: 1 }, true],
    [{ k: 'close', id: 'x', at: 1 }, true],
    [{ k: 'note', id: 'x', ch: 'hook', ev: 'firing', res: 'sent', at: 1 }, true],
    [{ k: 'run', at: 1, o: 'great', d: 2 }, false],
    [{ k: 'run', at: 1, o: 'success', d: -1 }, false],
    [{ k: 'run', at: 1, o: 'success', d: 2, m: false }, false],
    [{ k: 'run', at: 1, o: 'success', d: 2, sd: { read: 'fast' } }, false],
    [{ k: 'run', at: Number.NaN, o: 'success', d: 2 }, false],
    [{ k: 'note', id: 'x', ch: 'hook', ev: 'firing', res: 'maybe', at: 1 }, false],
    [{ k: 'open', at: 1 }, false],
    [{ k: 'other', at: 1 }, false],
    [null, false],
    ['run', false],
  ])('%j → %s', (line, expected) => {
    expect(isHistoryLine(line)).toBe(expected)
  })
})
