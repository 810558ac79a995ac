import { createTask } from 'node-cron'
import { describe, expect, test } from 'vitest'
import { shardOf } from '../../src/daemon/shard.ts'
import { describeSchedule, intervalCron, missedTolerance, planOf, stableOffset, timingKey } from '../../src/scheduler/plan.ts'

const names = Array.from({ length: 120 }, (_, i) => `probe-${i}`)

describe('stableOffset', () => {
  test('is the same for the same name, every time', () => {
    for (const name of names) expect(stableOffset(name, 60_000)).toBe(stableOffset(name, 60_000))
    // Pinned, so a change of hash (which moves every probe in production) is a deliberate one.
    expect([stableOffset('items-crud', 60_000), stableOffset('health', 60_000)]).toEqual([29_000, 37_000])
  })

  test('lies within the interval, in whole seconds when the interval is whole seconds', () => {
    for (const name of names) {
      const offset = stableOffset(name, 300_000)
      expect(offset).toBeGreaterThanOrEqual(0)
      expect(offset).toBeLessThan(300_000)
      expect(offset % 1000).toBe(0)
      expect(stableOffset(name, 1500)).toBeLessThan(1500)
    }
  })

  test('spreads probes across the interval instead of second 0', () => {
    const seconds = new Set(names.map((name) => stableOffset(name, 60_000)))
    // 120 names hashed into 60 seconds fill about 52 of them; all at one second would be a herd.
    expect(seconds.size).toBeGreaterThanOrEqual(45)
  })

  test('is independent of the sharding hash: one shard still uses every residue', () => {
    const shard0 = names.concat(Array.from({ length: 240 }, (_, i) => `extra-${i}`)).filter((name) => shardOf(name, 3) === 0)
    const residues = new Set(shard0.map((name) => (stableOffset(name, 60_000) / 1000) % 3))
    expect(residues).toEqual(new Set([0, 1, 2]))
  })
})

describe('intervalCron', () => {
  test.each([
    [1_000, 0, '0-59/1 * * * * *'],
    [10_000, 3_000, '3-59/10 * * * * *'],
    [30_000, 29_000, '29-59/30 * * * * *'],
    [60_000, 17_000, '17 * * * * *'],
    [300_000, 137_000, '17 2-59/5 * * * *'],
    [3_600_000, 1_000_000, '40 16 * * * *'],
    [21_600_000, 7_384_000, '4 3 2-23/6 * * *'],
    [86_400_000, 50_000_000, '20 53 13 * * *'],
  ])('every %i ms at offset %i ms is %s', (interval, offset, expression) => {
    expect(intervalCron(interval, offset)).toBe(expression)
  })

  test.each([
    [45_000, 'does not divide a minute'],
    [90_000, 'is not whole minutes dividing an hour'],
    [420_000, '7 minutes does not divide an hour'],
    [1_500, 'is not whole seconds'],
    [5 * 3_600_000, '5 hours does not divide a day'],
    [2 * 86_400_000, 'is longer than a day'],
  ])('every %i ms has no even cron expression: it %s', (interval) => {
    expect(intervalCron(interval, 0)).toBeNull()
  })

  test('fires on the same epoch-aligned grid as the timer loop would', () => {
    for (const [interval, name] of [
      [10_000, 'a'],
      [300_000, 'b'],
      [3_600_000, 'c'],
      [21_600_000, 'd'],
    ] as const) {
      const offset = stableOffset(name, interval)
      const task = createTask(intervalCron(interval, offset)!, () => {}, { timezone: 'UTC' })
      const runs = task.getNextRuns(4).map((date) => date.getTime())
      void task.destroy()
      for (const run of runs) expect((run - offset) % interval, `${interval} ${offset}`).toBe(0)
      for (let i = 1; i < runs.length; i++) expect(runs[i]! - runs[i - 1]!).toBe(interval)
    }
  })
})

describe('planOf', () => {
  test('uses cron when the interval divides evenly, the timer loop otherwise, and a schedule as is', () => {
    expect(planOf({ name: 'a', intervalMs: 60_000 })).toEqual({
      kind: 'cron',
      expression: expect.stringMatching(/^\d+ \* \* \* \* \*$/),
      offsetMs: expect.any(Number),
    })
    expect(planOf({ name: 'a', intervalMs: 45_000 })).toEqual({ kind: 'timer', intervalMs: 45_000, offsetMs: stableOffset('a', 45_000) })
    expect(planOf({ name: 'a', intervalMs: null, schedule: '0 9 * * 1-5' })).toEqual({
      kind: 'cron',
      expression: '0 9 * * 1-5',
      offsetMs: null,
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
