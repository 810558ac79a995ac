import { pino } from 'pino'
import { afterEach, describe, expect, test, vi } from 'vitest'
import type { Probe } from '../../src/config/probe-schema.ts'
import { silentLogger } from '../../src/log.ts'
import { stableOffset } from '../../src/scheduler/plan.ts'
import { createScheduler, type Scheduler, type SchedulerOptions } from '../../src/scheduler/scheduler.ts'
import { cronLogger } from '../../src/scheduler/triggers.ts'

/** The scheduler reads only a probe's name and timing; the rest of a compiled Probe is irrelevant here. */
function probe(name: string, timing: { intervalMs?: number; schedule?: string }, extra: object = {}): Probe {
  return { name, intervalMs: timing.intervalMs ?? null, schedule: timing.schedule, ...extra } as unknown as Probe
}

const BASE = Date.UTC(2026, 0, 1)

/** Starts fake time one second before the probe's first slot (after BASE) and returns that slot. */
function startBeforeFirstSlot(name: string, intervalMs: number): number {
  const first = BASE + stableOffset(name, intervalMs)
  vi.useFakeTimers({ now: first - 1000 })
  return first
}

/** Resolves after `ms` of (fake) time, or at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

interface Call {
  readonly probe: Probe
  readonly slot: number
  readonly at: number
  readonly signal: AbortSignal
}

let scheduler: Scheduler | undefined
afterEach(async () => {
  await scheduler?.stop(0)
  scheduler = undefined
  vi.useRealTimers()
})

function harness(runMs = 0, overrides: Partial<SchedulerOptions> = {}) {
  const calls: Call[] = []
  const skipped: string[] = []
  const missed: string[] = []
  scheduler = createScheduler({
    run: async (p, slot, signal) => {
      calls.push({ probe: p, slot: slot.getTime(), at: Date.now(), signal })
      if (runMs > 0) await sleep(runMs, signal)
    },
    logger: silentLogger(),
    onSkipped: (name) => skipped.push(name),
    onMissed: (name) => missed.push(name),
    ...overrides,
  })
  return { scheduler, calls, skipped, missed }
}

// Interval probes run on the timer loop: one interval that divides a minute, one that does not.
const IMPLEMENTATIONS = [
  ['divides a minute', 10_000],
  ['does not divide a minute', 45_000],
] as const

describe.each(IMPLEMENTATIONS)('interval probes (%s, every %i ms)', (_, interval) => {
  test('run at their stable offset, on time, without drift', async () => {
    const first = startBeforeFirstSlot('a', interval)
    const { scheduler, calls } = harness()
    scheduler.schedule([probe('a', { intervalMs: interval })])
    await vi.advanceTimersByTimeAsync(1000 + 9 * interval)
    const expected = Array.from({ length: 10 }, (_, k) => first + k * interval)
    expect(calls.map((c) => c.slot)).toEqual(expected)
    expect(calls.map((c) => c.at)).toEqual(expected)
  })

  test('a slot that comes while the previous run is still going is skipped and counted', async () => {
    const first = startBeforeFirstSlot('a', interval)
    const { scheduler, calls, skipped } = harness(2.5 * interval)
    scheduler.schedule([probe('a', { intervalMs: interval })])
    await vi.advanceTimersByTimeAsync(1000 + 5 * interval)
    expect(calls.map((c) => c.slot)).toEqual([first, first + 3 * interval])
    expect(skipped).toEqual(['a', 'a', 'a', 'a'])
  })

  test('slots the process was blocked past are counted missed and not run; the schedule goes on', async () => {
    const first = startBeforeFirstSlot('a', interval)
    const { scheduler, calls, missed } = harness()
    scheduler.schedule([probe('a', { intervalMs: interval })])
    await vi.advanceTimersByTimeAsync(1000)
    // The wall clock moves 3.2 intervals while no timer runs: a blocked event loop.
    vi.setSystemTime(Date.now() + 3.2 * interval)
    await vi.advanceTimersByTimeAsync(interval)
    expect(missed).toEqual(['a', 'a', 'a'])
    expect(calls.map((c) => c.slot)).toEqual([first, first + 4 * interval])
    await vi.advanceTimersByTimeAsync(interval)
    expect(calls.map((c) => c.slot)).toEqual([first, first + 4 * interval, first + 5 * interval])
  })

  test('a slot late by less than the tolerance still runs, for its own slot', async () => {
    const first = startBeforeFirstSlot('a', interval)
    const { scheduler, calls, missed } = harness()
    scheduler.schedule([probe('a', { intervalMs: interval })])
    await vi.advanceTimersByTimeAsync(1000)
    vi.setSystemTime(Date.now() + 0.3 * interval)
    await vi.advanceTimersByTimeAsync(interval)
    expect(missed).toEqual([])
    expect(calls.map((c) => c.slot)).toEqual([first, first + interval])
    expect(calls[1]!.at).toBe(first + 1.3 * interval)
    // The late start does not shift the grid: the next slot is where it always was.
    await vi.advanceTimersByTimeAsync(interval)
    expect(calls.map((c) => c.at)).toEqual([first, first + 1.3 * interval, first + 2 * interval])
  })
})

describe('scheduler', () => {
  test('many probes at one interval are spread over it, not fired together', async () => {
    vi.useFakeTimers({ now: BASE })
    const { scheduler, calls } = harness()
    scheduler.schedule(Array.from({ length: 30 }, (_, i) => probe(`p-${i}`, { intervalMs: 60_000 })))
    await vi.advanceTimersByTimeAsync(60_000)
    expect(calls).toHaveLength(30)
    expect(new Set(calls.map((c) => c.at)).size).toBeGreaterThanOrEqual(15)
  })

  test('a cron schedule runs as written, in UTC, with half its period as tolerance', async () => {
    vi.useFakeTimers({ now: BASE + 1000 })
    const { scheduler, calls } = harness()
    scheduler.schedule([probe('c', { schedule: '*/15 * * * * *' })])
    await vi.advanceTimersByTimeAsync(59_000)
    expect(calls.map((c) => c.slot - BASE)).toEqual([15_000, 30_000, 45_000, 60_000])
    expect(scheduler.planned()).toEqual([
      { name: 'c', plan: { kind: 'cron', expression: '*/15 * * * * *' }, toleranceMs: 7_500, since: new Date(BASE + 1000) },
    ])
  })

  test('the tolerance is capped by missedTolerance', () => {
    vi.useFakeTimers({ now: BASE })
    const { scheduler } = harness(0, { missedTolerance: 2_000 })
    scheduler.schedule([probe('a', { intervalMs: 60_000 }), probe('b', { intervalMs: 1_000 })])
    expect(scheduler.planned().map((p) => p.toleranceMs)).toEqual([2_000, 500])
  })

  test('a reload keeps unchanged probes on their task, re-plans changed ones and drops removed ones', async () => {
    vi.useFakeTimers({ now: BASE })
    const { scheduler, calls } = harness()
    scheduler.schedule([probe('a', { intervalMs: 10_000 }), probe('b', { intervalMs: 10_000 }), probe('c', { intervalMs: 10_000 })])
    await vi.advanceTimersByTimeAsync(15_000)
    const reloaded = probe('a', { intervalMs: 10_000 }, { description: 'v2' })
    scheduler.schedule([reloaded, probe('c', { intervalMs: 20_000 }), probe('d', { intervalMs: 10_000 })])
    const since = Object.fromEntries(scheduler.planned().map((p) => [p.name, p.since.getTime()]))
    expect(since).toEqual({ a: BASE, c: BASE + 15_000, d: BASE + 15_000 })
    calls.length = 0
    await vi.advanceTimersByTimeAsync(20_000)
    const ran = (name: string) => calls.filter((c) => c.probe.name === name)
    expect(ran('a')).toHaveLength(2)
    expect(ran('a').every((c) => c.probe === reloaded)).toBe(true)
    expect(ran('b')).toEqual([])
    expect(ran('c')).toHaveLength(1)
    expect(ran('d')).toHaveLength(2)
  })

  test('no overlap across a reload that changes the timing of a probe with a run in flight', async () => {
    const first = startBeforeFirstSlot('a', 10_000)
    const { scheduler, calls, skipped } = harness(60_000)
    scheduler.schedule([probe('a', { intervalMs: 10_000 })])
    await vi.advanceTimersByTimeAsync(1000)
    scheduler.schedule([probe('a', { intervalMs: 20_000 })])
    await vi.advanceTimersByTimeAsync(40_000)
    expect(calls.map((c) => c.slot)).toEqual([first])
    expect(skipped).toEqual(['a', 'a'])
  })

  test('a removed probe finishes its run in flight, unaborted', async () => {
    startBeforeFirstSlot('a', 10_000)
    const { scheduler, calls } = harness(5_000)
    scheduler.schedule([probe('a', { intervalMs: 10_000 })])
    await vi.advanceTimersByTimeAsync(1000)
    scheduler.schedule([])
    expect(scheduler.inFlight()).toBe(1)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(scheduler.inFlight()).toBe(0)
    expect(calls[0]!.signal.aborted).toBe(false)
  })

  test('stop waits for runs in flight up to the grace, then aborts them and waits until they settle', async () => {
    startBeforeFirstSlot('a', 10_000)
    const { scheduler, calls } = harness(60_000)
    scheduler.schedule([probe('a', { intervalMs: 10_000 })])
    await vi.advanceTimersByTimeAsync(1000)
    expect(scheduler.inFlight()).toBe(1)
    let stopped = false
    const stopping = scheduler.stop(5_000).then(() => (stopped = true))
    await vi.advanceTimersByTimeAsync(4_999)
    expect(stopped).toBe(false)
    expect(calls[0]!.signal.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await stopping
    expect(calls[0]!.signal.aborted).toBe(true)
    expect((calls[0]!.signal.reason as DOMException).name).toBe('AbortError')
    expect(scheduler.inFlight()).toBe(0)
    // Nothing is scheduled after stop.
    await vi.advanceTimersByTimeAsync(60_000)
    expect(calls).toHaveLength(1)
  })

  test('stop resolves as soon as runs finish within the grace, without aborting', async () => {
    startBeforeFirstSlot('a', 10_000)
    const { scheduler, calls } = harness(3_000)
    scheduler.schedule([probe('a', { intervalMs: 10_000 })])
    await vi.advanceTimersByTimeAsync(1000)
    let stopped = false
    void scheduler.stop(30_000).then(() => (stopped = true))
    await vi.advanceTimersByTimeAsync(3_000)
    expect(stopped).toBe(true)
    expect(calls[0]!.signal.aborted).toBe(false)
  })

  test('stop with no grace aborts runs in flight at once', async () => {
    startBeforeFirstSlot('a', 10_000)
    const { scheduler, calls } = harness(60_000)
    scheduler.schedule([probe('a', { intervalMs: 10_000 })])
    await vi.advanceTimersByTimeAsync(1000)
    await scheduler.stop(0)
    expect(calls[0]!.signal.aborted).toBe(true)
    expect(scheduler.inFlight()).toBe(0)
  })

  test('stop with nothing in flight resolves at once, and scheduling after it is a bug', async () => {
    vi.useFakeTimers({ now: BASE })
    const { scheduler } = harness()
    scheduler.schedule([probe('a', { intervalMs: 10_000 })])
    await scheduler.stop(10_000)
    expect(() => scheduler.schedule([])).toThrow('schedule() after stop()')
  })

  test('a run that rejects is logged as a bug and the schedule goes on', async () => {
    startBeforeFirstSlot('a', 10_000)
    const lines: string[] = []
    let n = 0
    const { scheduler } = harness(0, {
      logger: pino({ level: 'error' }, { write: (line: string) => lines.push(line) }),
      run: async () => {
        n++
        throw new Error('engine bug')
      },
    })
    scheduler.schedule([probe('a', { intervalMs: 10_000 })])
    await vi.advanceTimersByTimeAsync(1000 + 10_000)
    expect(n).toBe(2)
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ msg: 'probe run threw', probe: 'a', err: expect.objectContaining({ message: 'engine bug' }) }),
      expect.objectContaining({ msg: 'probe run threw' }),
    ])
  })

  test("node-cron's messages go to pino under component cron", () => {
    const lines: string[] = []
    const log = cronLogger(pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }))
    log.warn('task still running')
    log.error(new Error('boom'))
    log.error('Task failed with error!', new Error('inner'))
    const parsed = lines.map((line) => JSON.parse(line))
    expect(parsed).toEqual([
      expect.objectContaining({ component: 'cron', level: 40, msg: 'task still running' }),
      expect.objectContaining({ component: 'cron', level: 50, msg: 'node-cron error', err: expect.objectContaining({ message: 'boom' }) }),
      expect.objectContaining({ component: 'cron', msg: 'Task failed with error!', err: expect.objectContaining({ message: 'inner' }) }),
    ])
  })
})
