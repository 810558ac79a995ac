import { describe, expect, test } from 'vitest'
import { shardOf } from '../../src/daemon/shard.ts'
import { describeSchedule, missedTolerance, planOf, stableOffset, timingKey } from '../../src/scheduler/plan.ts'

const names = Array.from({ length: 120 }, (_, i) => `probe-${i}`)

describe('stableOffset', () => {
  test('is the same for the same name, every time', () => {
    for (const name of names) expect(stableOffset(name, 60_000)).toBe(stableOffset(name, 60_000))
    // Pinned, so a change of hash (which moves every probe in production) is a deliberate one.
    expect([stableOffset('items-crud', 60_000), stableOffset('health', 60_000)]).toEqual([14_069, 39_157])
  })

  test('lies within the interval, to the millisecond', () => {
    for (const name of names) {
      const offset = stableOffset(name, 300_000)
      expect(offset).toBeGreaterThanOrEqual(0)
      expect(offset).toBeLessThan(300_000)
      expect(Number.isInteger(offset)).toBe(true)
      expect(stableOffset(name, 1500)).toBeLessThan(1500)
    }
    // Whole-second offsets would put these 120 probes into 5 instants; milliseconds keep them apart.
    expect(new Set(names.map((name) => stableOffset(name, 5_000))).size).toBeGreaterThanOrEqual(115)
  })

  test('spreads probes across the interval instead of second 0', () => {
    const seconds = new Set(names.map((name) => stableOffset(name, 60_000)))
    // 120 names hashed into 60 seconds fill about 52 of them; all at one second would be a herd.
    expect(seconds.size).toBeGreaterThanOrEqual(45)
  })

  test('is independent of the sharding hash: one shard still uses every residue', () => {
    const shard0 = names.concat(Array.from({ length: 240 }, (_, i) => `extra-${i}`)).filter((name) => shardOf(name, 3) === 0)
    const residues = new Set(shard0.map((name) => Math.floor(stableOffset(name, 60_000) / 1000) % 3))
    expect(residues).toEqual(new Set([0, 1, 2]))
  })
})

describe('planOf', () => {
  test('uses the timer loop at the stable offset for an interval, and node-cron for a schedule as is', () => {
    expect(planOf({ name: 'a', intervalMs: 60_000 })).toEqual({ kind: 'timer', intervalMs: 60_000, offsetMs: stableOffset('a', 60_000) })
    expect(planOf({ name: 'a', intervalMs: 45_000 })).toEqual({ kind: 'timer', intervalMs: 45_000, offsetMs: stableOffset('a', 45_000) })
    expect(planOf({ name: 'a', intervalMs: null, schedule: '0 9 * * 1-5' })).toEqual({
      kind: 'cron',
      expression: '0 9 * * 1-5',
    })
  })

  test('timing keys change with the timing only', () => {
    expect(timingKey({ name: 'a', intervalMs: 60_000 })).toBe(timingKey({ name: 'b', intervalMs: 60_000 }))
    expect(timingKey({ name: 'a', intervalMs: 60_000 })).not.toBe(timingKey({ name: 'a', intervalMs: 30_000 }))
    expect(timingKey({ name: 'a', intervalMs: null, schedule: '* * * * *' })).not.toBe(
      timingKey({ name: 'a', intervalMs: null, schedule: '*/2 * * * *' }),
    )
  })

  test('describes the schedule in words', () => {
    expect(describeSchedule({ name: 'a', intervalMs: 60_000 })).toBe('every 1m')
    expect(describeSchedule({ name: 'a', intervalMs: 1_500 })).toBe('every 1.5s')
    expect(describeSchedule({ name: 'a', intervalMs: null, schedule: '0 9 * * 1-5' })).toBe('cron 0 9 * * 1-5 (UTC)')
  })

  test('the missed tolerance is half the period, at most the cap', () => {
    expect(missedTolerance(1_000)).toBe(500)
    expect(missedTolerance(10_000)).toBe(5_000)
    expect(missedTolerance(60_000)).toBe(15_000)
    expect(missedTolerance(60_000, 2_000)).toBe(2_000)
  })
})
