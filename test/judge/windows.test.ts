import { describe, expect, it } from 'vitest'
import { type MaintenanceWindow, MaintenanceWindowSchema, shortestGap } from '../../src/config/maintenance-schema.ts'
import { combineMutes, nextOccurrence, nextWindowOf, occurrenceAt, selects, windowClock, windowMutes } from '../../src/judge/windows.ts'

const compile = (raw: Record<string, unknown>): MaintenanceWindow => MaintenanceWindowSchema.parse(raw)

// SPEC's example: Sundays 02:00 Berlin time for 2 h. 2026-03-29 is the spring-forward Sunday (02:00 CET does not exist),
// 2026-03-22 is CET (UTC+1), 2026-04-05 is CEST (UTC+2).
const WEEKLY = compile({ name: 'weekly-db', probes: ['items-crud'], schedule: '0 2 * * SUN', duration: '2h', timezone: 'Europe/Berlin' })
const FIXED = compile({ name: 'migration', probes: [{ team: 'storefront' }], start: '2026-12-01T10:00:00Z', end: '2026-12-01T11:00:00Z' })

describe('occurrenceAt', () => {
  it.each([
    ['before a CET occurrence', '2026-03-22T00:59:59Z', null],
    ['at its start (inclusive)', '2026-03-22T01:00:00Z', '2026-03-22T01:00:00.000Z'],
    ['inside it', '2026-03-22T02:30:00Z', '2026-03-22T01:00:00.000Z'],
    ['at its end (exclusive)', '2026-03-22T03:00:00Z', null],
    ['inside a CEST occurrence: 02:00 Berlin is 00:00 UTC', '2026-04-05T01:59:00Z', '2026-04-05T00:00:00.000Z'],
    ['on a Monday', '2026-03-23T01:30:00Z', null],
    // The spring Sunday has no 02:00 in Berlin: the window starts when the clock jumps, at 03:00 CEST.
    ['on the spring daylight-saving Sunday', '2026-03-29T01:30:00Z', '2026-03-29T01:00:00.000Z'],
    ['on the autumn daylight-saving Sunday (02:00 CEST, the first of two)', '2026-10-25T00:30:00Z', '2026-10-25T00:00:00.000Z'],
  ])('%s', (_, at, start) => {
    const found = occurrenceAt(WEEKLY, new Date(at))
    expect(found?.start.toISOString() ?? null).toBe(start)
    if (found) expect(found.end.getTime() - found.start.getTime()).toBe(2 * 3_600_000)
  })

  it.each([
    ['2026-12-01T09:59:59Z', false],
    ['2026-12-01T10:00:00Z', true],
    ['2026-12-01T10:59:59Z', true],
    ['2026-12-01T11:00:00Z', false],
  ])('a fixed window at %s: %s', (at, inside) => {
    expect(occurrenceAt(FIXED, new Date(at)) !== null).toBe(inside)
  })
})

describe('nextOccurrence', () => {
  it('is the current occurrence inside one, the next after it', () => {
    expect(nextOccurrence(WEEKLY, new Date('2026-03-22T02:00:00Z'))?.start.toISOString()).toBe('2026-03-22T01:00:00.000Z')
    expect(nextOccurrence(WEEKLY, new Date('2026-03-22T03:00:00Z'))?.start.toISOString()).toBe('2026-03-29T01:00:00.000Z')
  })

  it('a fixed window that is over has none', () => {
    expect(nextOccurrence(FIXED, new Date('2026-12-01T11:00:00Z'))).toBeNull()
    expect(nextOccurrence(FIXED, new Date('2026-11-01T00:00:00Z'))?.end.toISOString()).toBe('2026-12-01T11:00:00.000Z')
  })
})

describe('selectors', () => {
  it.each([
    ['items-crud', 'items-crud', {}, true],
    ['items-crud', 'orders', {}, false],
    [{ team: 'storefront' }, 'orders', { team: 'storefront', tier: '1' }, true],
    [{ team: 'storefront', tier: '2' }, 'orders', { team: 'storefront', tier: '1' }, false],
    [{ team: 'storefront' }, 'orders', {}, false],
  ] as const)('%o selects %s %o: %s', (selector, probe, labels, expected) => {
    expect(selects(selector, probe, labels)).toBe(expected)
  })
})

describe('windowMutes', () => {
  const at = new Date('2026-12-01T10:30:00Z')
  it('mutes a covered probe until the end of the occurrence, and nobody else', () => {
    const mutes = windowMutes([FIXED, WEEKLY])
    expect(mutes('orders', { team: 'storefront' }, at)).toEqual({
      kind: 'maintenance',
      name: 'migration',
      until: new Date('2026-12-01T11:00:00Z'),
    })
    expect(mutes('orders', { team: 'payments' }, at)).toBeNull()
    expect(mutes('items-crud', {}, at)).toBeNull()
  })

  it('of overlapping sources, the one ending last is the answer', () => {
    const later = compile({ name: 'longer', probes: ['orders'], start: '2026-12-01T10:15:00Z', end: '2026-12-01T12:00:00Z' })
    const combined = combineMutes(windowMutes([FIXED]), windowMutes([later]), () => null)
    expect(combined('orders', { team: 'storefront' }, at)?.name).toBe('longer')
  })

  it('nextWindowOf picks the soonest covering window', () => {
    const soon = compile({ name: 'soon', probes: ['items-crud'], start: '2026-03-22T00:00:00Z', end: '2026-03-22T00:30:00Z' })
    expect(nextWindowOf([WEEKLY, soon], 'items-crud', {}, new Date('2026-03-21T00:00:00Z'))?.name).toBe('soon')
    expect(nextWindowOf([WEEKLY, soon], 'items-crud', {}, new Date('2026-03-22T00:30:00Z'))?.name).toBe('weekly-db')
    expect(nextWindowOf([WEEKLY, soon], 'orders', {}, new Date('2026-03-21T00:00:00Z'))).toBeNull()
  })
})

describe('shortestGap', () => {
  it.each([
    ['0 * * * *', 'UTC', 3_600_000],
    ['0 2 * * SUN', 'Europe/Berlin', 7 * 86_400_000 - 3_600_000],
    ['0 0 1,2 * *', 'UTC', 86_400_000],
  ])('%s in %s', (schedule, zone, gap) => {
    // From a winter date: the DST change within the sample shortens one week by an hour.
    expect(shortestGap(schedule, zone, Date.parse('2026-01-01T00:00:00Z'))).toBe(gap)
  })

  it('a schedule that never occurs is a message', () => {
    expect(shortestGap('0 0 30 2 *', 'UTC')).toMatch(/never occurs/)
    expect(shortestGap('not cron', 'UTC')).toMatch(/invalid cron expression "not cron"/)
  })
})

describe('windowClock', () => {
  it('one remembering clock answers as fresh evaluation does, forwards, backwards and across occurrences', () => {
    const clock = windowClock(WEEKLY)
    const from = Date.parse('2026-03-15T00:00:00Z')
    // Steps of 7 h 13 min over five weeks (DST included), then the same times in reverse.
    const times = Array.from({ length: 120 }, (_, i) => new Date(from + i * 26_000_000))
    for (const at of [...times, ...times.reverse()]) {
      const fresh = windowClock(WEEKLY)
      expect([at.toISOString(), clock.at(at)]).toEqual([at.toISOString(), fresh.at(at)])
      expect([at.toISOString(), clock.next(at)]).toEqual([at.toISOString(), fresh.next(at)])
    }
  })

  it('asks cron again only when a start is passed: a day of once-a-second ticks costs next to nothing', () => {
    const clock = windowClock(WEEKLY)
    const from = Date.parse('2026-03-22T01:30:00Z')
    const started = performance.now()
    let muted = 0
    for (let i = 0; i < 86_400; i++) if (clock.at(new Date(from + i * 1_000))) muted++
    // 01:30 to 03:00 UTC is inside the occurrence: 5,400 ticks.
    expect(muted).toBe(5_400)
    // Each cron step costs milliseconds: 86,400 of them would take minutes.
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})
