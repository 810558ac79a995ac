import { describe, expect, it } from 'vitest'
import type { SendResult } from '../../src/alerting/channel.ts'
import type { Notification, NotificationEvent } from '../../src/alerting/notification.ts'
import * as box from '../../src/alerting/outbox.ts'
import type { RetryPolicy } from '../../src/alerting/retry.ts'

/*
 * Timelines of one outbox, in the style of state.test.ts. Each row is
 * [second, step, decided, outbox after].
 * Steps: `+ hook i1 F` enqueues (`added`, `ignored` when queued already, `undone N` when
 * queued already with N entries behind it in its lane, which it removes) a firing (F), resolve (R) or reminder (M) of
 * incident i1 on channel hook; `due`; `ok hook i1 F`, `down hook i1 F [Ns]`
 * (retryable, optional Retry-After), `reject hook i1 F` (not retryable)
 * settle the attempt; `gone hook` unconfigures a channel.
 * Decided: `try hook.i1.F`, `drop hook.i1.F`, `wake 3`, joined by commas; `.` for nothing.
 * Outbox: entries in order, `hook.i1.F` or, once tried, `hook.i1.F(attempts@due)`;
 * then `hold hook@until` per Retry-After pause.
 */
const T0 = Date.parse('2026-03-01T10:00:00.000Z')
const POLICY: RetryPolicy = { baseDelayMs: 2_000, maxDelayMs: 8_000, maxAgeMs: 60_000, maxInFlightPerChannel: 2, maxRetryAfterMs: 10_000 }
// Half of the jitter ceiling: 1 s, 2 s, 4 s, then 4 s for ever.
const random = () => 0.5
const EVENTS: Record<string, NotificationEvent> = { F: 'firing', R: 'resolved', M: 'reminder' }

type Row = readonly [at: number, step: string, decided: string, outbox: string]

function notification(incident: string, letter: string): Notification {
  return {
    id: `${incident}-${letter}`,
    event: EVENTS[letter] ?? 'test',
    probe: 'items',
    location: null,
    incidentId: incident,
    since: new Date(T0).toISOString(),
    at: new Date(T0).toISOString(),
    consecutiveFailures: 1,
    summary: 'FIRING items',
    error: null,
    labels: {},
  }
}

const seconds = (iso: string) => (Date.parse(iso) - T0) / 1000
const label = (entry: box.OutboxEntry) => `${entry.channel}.${entry.notification.incidentId}.${entry.notification.id.split('-')[1]}`

function show(outbox: box.Outbox): string {
  const entries = outbox.entries.map((e) => (e.attempts === 0 ? label(e) : `${label(e)}(${e.attempts}@${seconds(e.nextAttemptAt)})`))
  const holds = [...outbox.holds].map(([channel, until]) => `hold ${channel}@${(until - T0) / 1000}`)
  return [...entries, ...holds].join(' ') || 'empty'
}

/** Plays the rows, keeping the bookkeeping delivery.ts keeps: lanes in flight and the channels configured. */
function play(rows: readonly Row[]): void {
  let outbox = box.EMPTY_OUTBOX
  const flying = new Map<string, { key: string; channel: string; firstAttemptAt: string }>()
  const gone = new Set<string>()
  for (const [at, step, decided, expected] of rows) {
    const now = T0 + at * 1000
    const [verb, channel = '', incident = '', letter = '', extra] = step.split(' ')
    const key = box.keyOf({ channel, identity: null, notification: notification(incident, letter) })
    let got = '.'
    if (verb === '+') {
      const entry = box.entryOf(channel, null, notification(incident, letter), now)
      const added = box.add(outbox, entry, flying.get(box.laneOf(entry))?.key)
      outbox = added.outbox
      const n = added.superseded.length
      got = !added.added ? (n > 0 ? `undone ${n}` : 'ignored') : n > 0 ? `superseded ${n}` : 'added'
    } else if (verb === 'due') {
      const pass = box.due(outbox, now, POLICY, {
        staged: new Set(),
        inFlight: flying,
        unroutable: (entry) => (gone.has(entry.channel) ? 'channel no longer configured' : null),
      })
      outbox = pass.outbox
      const parts = pass.decisions.map((d) => `${d.kind === 'attempt' ? 'try' : 'drop'} ${label(d.entry)}`)
      for (const d of pass.decisions) {
        if (d.kind === 'attempt')
          flying.set(d.lane, {
            key: d.key,
            channel: d.entry.channel,
            firstAttemptAt: d.entry.firstAttemptAt ?? new Date(now).toISOString(),
          })
      }
      if (pass.wake !== Number.POSITIVE_INFINITY) parts.push(`wake ${(pass.wake - T0) / 1000}`)
      got = parts.join(', ') || '.'
    } else if (verb === 'gone') {
      gone.add(channel)
    } else {
      const lane = [...flying].find(([, f]) => f.key === key)
      if (!lane) throw new Error(`row ${at} ${step}: nothing in flight`)
      flying.delete(lane[0])
      const retryAfterMs = extra ? Number.parseFloat(extra) * 1000 : undefined
      const result: SendResult =
        verb === 'ok'
          ? { ok: true }
          : { ok: false, retryable: verb === 'down', reason: `${verb}`, ...(retryAfterMs ? { retryAfterMs } : {}) }
      const settled = box.settle(outbox, key, result, { now, firstAttemptAt: lane[1].firstAttemptAt }, POLICY, random)
      outbox = settled.outbox
      const s = settled.settled
      got = s.kind === 'dropped' ? `dropped: ${s.reason}` : s.kind
    }
    expect({ at, step, decided: got, outbox: show(outbox) }).toEqual({ at, step, decided, outbox: expected })
  }
}

const CASES: Record<string, readonly Row[]> = {
  'the same notification queued again undoes what was queued behind it in its lane': [
    [0, '+ hook i1 R', 'added', 'hook.i1.R'],
    [0, 'due', 'try hook.i1.R', 'hook.i1.R'],
    [0, 'down hook i1 R', 'retry', 'hook.i1.R(1@1)'],
    [0, '+ hook i1 F', 'added', 'hook.i1.R(1@1) hook.i1.F'],
    [0, '+ pd i1 F', 'added', 'hook.i1.R(1@1) hook.i1.F pd.i1.F'],
    [0, '+ hook i1 R', 'undone 1', 'hook.i1.R(1@1) pd.i1.F'],
    [0, '+ hook i1 R', 'ignored', 'hook.i1.R(1@1) pd.i1.F'],
  ],
  'a firing behind a resolve never tried cancels it: the destination still holds the firing it was sent': [
    [0, '+ hook i1 R', 'added', 'hook.i1.R'],
    [0, '+ hook i1 F', 'undone 1', 'empty'],
    [0, '+ hook i2 R', 'added', 'hook.i2.R'],
    [0, '+ hook i1 F', 'added', 'hook.i2.R hook.i1.F'],
  ],
  'a resolve that was tried may have arrived: the firing behind it is sent too': [
    [0, '+ hook i1 R', 'added', 'hook.i1.R'],
    [0, 'due', 'try hook.i1.R', 'hook.i1.R'],
    [0, '+ hook i1 F', 'added', 'hook.i1.R hook.i1.F'],
    [0, 'down hook i1 R', 'retry', 'hook.i1.R(1@1) hook.i1.F'],
  ],
  'FIFO per lane: the resolve waits for its firing': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, '+ hook i1 R', 'added', 'hook.i1.F hook.i1.R'],
    [0, 'due', 'try hook.i1.F', 'hook.i1.F hook.i1.R'],
    [0, 'due', '.', 'hook.i1.F hook.i1.R'],
    [1, 'ok hook i1 F', 'sent', 'hook.i1.R'],
    [1, 'due', 'try hook.i1.R', 'hook.i1.R'],
    [2, 'ok hook i1 R', 'sent', 'empty'],
  ],
  'lanes are independent, and at most two attempts per channel': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, '+ hook i2 F', 'added', 'hook.i1.F hook.i2.F'],
    [0, '+ hook i3 F', 'added', 'hook.i1.F hook.i2.F hook.i3.F'],
    [0, '+ mail i1 F', 'added', 'hook.i1.F hook.i2.F hook.i3.F mail.i1.F'],
    [0, 'due', 'try hook.i1.F, try hook.i2.F, try mail.i1.F', 'hook.i1.F hook.i2.F hook.i3.F mail.i1.F'],
    [1, 'ok hook i2 F', 'sent', 'hook.i1.F hook.i3.F mail.i1.F'],
    [1, 'due', 'try hook.i3.F', 'hook.i1.F hook.i3.F mail.i1.F'],
  ],
  'the same notification twice is queued once': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, '+ hook i1 F', 'ignored', 'hook.i1.F'],
  ],
  'a queued reminder is superseded by a newer event; one in flight is not': [
    [0, '+ hook i1 M', 'added', 'hook.i1.M'],
    [0, '+ hook i1 R', 'superseded 1', 'hook.i1.R'],
    [0, '+ hook i2 M', 'added', 'hook.i1.R hook.i2.M'],
    [0, 'due', 'try hook.i1.R, try hook.i2.M', 'hook.i1.R hook.i2.M'],
    [0, '+ hook i2 R', 'added', 'hook.i1.R hook.i2.M hook.i2.R'],
  ],
  'a retryable failure backs off with jitter, doubling': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, 'due', 'try hook.i1.F', 'hook.i1.F'],
    [0, 'down hook i1 F', 'retry', 'hook.i1.F(1@1)'],
    [0.5, 'due', 'wake 1', 'hook.i1.F(1@1)'],
    [1, 'due', 'try hook.i1.F', 'hook.i1.F(1@1)'],
    [1, 'down hook i1 F', 'retry', 'hook.i1.F(2@3)'],
    [3, 'due', 'try hook.i1.F', 'hook.i1.F(2@3)'],
    [3, 'down hook i1 F', 'retry', 'hook.i1.F(3@7)'],
    [7, 'due', 'try hook.i1.F', 'hook.i1.F(3@7)'],
    [7, 'down hook i1 F', 'retry', 'hook.i1.F(4@11)'],
  ],
  'Retry-After pauses every lane of the channel, capped at 10 s': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, 'due', 'try hook.i1.F', 'hook.i1.F'],
    [0, 'down hook i1 F 30', 'retry', 'hook.i1.F(1@10) hold hook@10'],
    [1, '+ hook i2 F', 'added', 'hook.i1.F(1@10) hook.i2.F hold hook@10'],
    [1, '+ mail i2 F', 'added', 'hook.i1.F(1@10) hook.i2.F mail.i2.F hold hook@10'],
    [1, 'due', 'try mail.i2.F, wake 10', 'hook.i1.F(1@10) hook.i2.F mail.i2.F hold hook@10'],
    [10, 'due', 'try hook.i1.F, try hook.i2.F', 'hook.i1.F(1@10) hook.i2.F mail.i2.F'],
  ],
  'a delivery ends the pause the endpoint asked for': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, '+ hook i2 F', 'added', 'hook.i1.F hook.i2.F'],
    [0, 'due', 'try hook.i1.F, try hook.i2.F', 'hook.i1.F hook.i2.F'],
    [0, 'down hook i1 F 5', 'retry', 'hook.i1.F(1@5) hook.i2.F hold hook@5'],
    [1, 'ok hook i2 F', 'sent', 'hook.i1.F(1@5)'],
  ],
  'a failure that is not retryable drops the entry and frees the lane': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, '+ hook i1 R', 'added', 'hook.i1.F hook.i1.R'],
    [0, 'due', 'try hook.i1.F', 'hook.i1.F hook.i1.R'],
    [0, 'reject hook i1 F', 'dropped: reject', 'hook.i1.R'],
    [0, 'due', 'try hook.i1.R', 'hook.i1.R'],
  ],
  'a retry that would fall past 60 s gives up now': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, 'due', 'try hook.i1.F', 'hook.i1.F'],
    [59.5, 'down hook i1 F', 'dropped: gave up after 1 attempts: down', 'empty'],
  ],
  'a waiting entry past 60 s is dropped, and the one behind it goes in the same pass': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, 'due', 'try hook.i1.F', 'hook.i1.F'],
    [0, 'down hook i1 F 10', 'retry', 'hook.i1.F(1@10) hold hook@10'],
    [55, '+ hook i1 R', 'added', 'hook.i1.F(1@10) hook.i1.R hold hook@10'],
    [60, 'due', 'drop hook.i1.F, try hook.i1.R', 'hook.i1.R'],
  ],
  'the wake is the earlier of the next attempt and the age limit': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, 'due', 'try hook.i1.F', 'hook.i1.F'],
    [57, 'down hook i1 F 2', 'retry', 'hook.i1.F(1@59) hold hook@59'],
    [58, 'due', 'wake 59', 'hook.i1.F(1@59) hold hook@59'],
  ],
  'a channel no longer configured drops its whole lane in one pass': [
    [0, '+ hook i1 F', 'added', 'hook.i1.F'],
    [0, '+ hook i1 R', 'added', 'hook.i1.F hook.i1.R'],
    [0, '+ mail i1 F', 'added', 'hook.i1.F hook.i1.R mail.i1.F'],
    [1, 'gone hook', '.', 'hook.i1.F hook.i1.R mail.i1.F'],
    [1, 'due', 'drop hook.i1.F, drop hook.i1.R, try mail.i1.F', 'mail.i1.F'],
  ],
}

describe('outbox timelines', () => {
  for (const [name, rows] of Object.entries(CASES)) it(name, () => play(rows))
})

describe('outbox bookkeeping', () => {
  const entry = (channel: string, incident: string, letter: string) => box.entryOf(channel, null, notification(incident, letter), T0)

  it('restores entries in their order, keeping one already queued as it is', () => {
    const queued = box.add(box.EMPTY_OUTBOX, entry('hook', 'i1', 'F')).outbox
    const tried = { ...entry('hook', 'i1', 'F'), attempts: 3 }
    const restored = box.restore(queued, [tried, entry('hook', 'i2', 'F'), entry('hook', 'i2', 'F'), entry('mail', 'i1', 'R')])
    expect(show(restored)).toBe('hook.i1.F hook.i2.F mail.i1.R')
  })

  it('counts what is pending per channel', () => {
    const outbox = box.restore(box.EMPTY_OUTBOX, [entry('hook', 'i1', 'F'), entry('hook', 'i1', 'R'), entry('mail', 'i1', 'F')])
    expect(box.pending(outbox)).toEqual(
      new Map([
        ['hook', 2],
        ['mail', 1],
      ]),
    )
  })

  it('tells destinations apart: an old destination is a lane of its own', () => {
    const old = box.entryOf('hook', 'aaa', notification('i1', 'R'), T0)
    const current = box.entryOf('hook', 'bbb', notification('i1', 'F'), T0)
    expect(box.laneOf(old)).not.toBe(box.laneOf(current))
    const outbox = box.restore(box.EMPTY_OUTBOX, [old, current])
    const pass = box.due(outbox, T0, POLICY, { staged: new Set(), inFlight: new Map(), unroutable: () => null })
    expect(pass.decisions.map((d) => d.kind)).toEqual(['attempt', 'attempt'])
  })

  it('parks an entry for a former destination nothing reaches now, until its age bound, instead of dropping it', () => {
    const old = box.entryOf('hook', 'aaa', notification('i1', 'R'), T0)
    const outbox = box.restore(box.EMPTY_OUTBOX, [old])
    const context = {
      staged: new Set<string>(),
      inFlight: new Map(),
      unroutable: (e: box.OutboxEntry) => box.unroutable(e, undefined, true),
      parked: (_: box.OutboxEntry) => box.parked(undefined, true),
    }
    const waiting = box.due(outbox, T0 + 1_000, POLICY, context)
    expect(waiting.decisions).toEqual([])
    expect(waiting.outbox.entries).toEqual([old])
    expect(waiting.wake).toBe(T0 + POLICY.maxAgeMs)
    const expired = box.due(outbox, T0 + POLICY.maxAgeMs, POLICY, context)
    expect(expired.decisions.map((d) => d.kind)).toEqual(['drop'])
    // A channel no longer configured at all is given up at once, as before.
    expect(box.unroutable(old, undefined, false)).toBe('channel no longer configured')
    expect(box.parked(undefined, false)).toBe(false)
    expect(box.parked({ events: new Set(['resolved']) }, true)).toBe(false)
  })

  it('leaves staged entries and busy lanes alone', () => {
    const first = entry('hook', 'i1', 'F')
    const outbox = box.restore(box.EMPTY_OUTBOX, [first, entry('hook', 'i2', 'F')])
    const pass = box.due(outbox, T0, POLICY, {
      staged: new Set([box.keyOf(first)]),
      inFlight: new Map([[box.laneOf(entry('hook', 'i2', 'F')), { channel: 'hook' }]]),
      unroutable: () => null,
    })
    expect(pass.decisions).toEqual([])
    expect(pass.wake).toBe(Number.POSITIVE_INFINITY)
  })
})
