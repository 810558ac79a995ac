import { describe, expect, it } from 'vitest'
import { type AlertPolicy, BUILTIN_POLICY } from '../../src/config/alert-policy.ts'
import {
  type AlertEvent,
  type AlertState,
  consecutiveFailures,
  firingEvent,
  INITIAL_STATE,
  isFiring,
  next,
  resolve,
  unmuted,
} from '../../src/alerting/state.ts'
import type { Outcome } from '../../src/judge/judge.ts'
import type { Failure } from '../../src/probe/result.ts'

/*
 * Timelines in the style of Cloudprober's TestAlertHandlerRecord: one run a
 * minute. Runs (judged outcomes): F failed, P passed, A aborted, N
 * inconclusive (the monitor's network was down), T retried (passed after a
 * retry); lower case is the same run while muted (a maintenance window or
 * mute); E is no run but the mute's end (a window closes, a mute expires),
 * which the daemon reports at once. Events: F firing, M reminder, R resolved, . nothing. States: o ok,
 * f failing, X firing, r recovering.
 */
const T0 = Date.parse('2026-03-01T10:00:00.000Z')
const MINUTE = 60_000

interface Case {
  readonly name: string
  readonly policy?: Partial<AlertPolicy>
  readonly runs: string
  readonly events: string
  readonly states: string
}

const NO_REMINDERS = { reminderIntervalMs: 0 }

const CASES: Case[] = [
  // Default threshold 5.
  { name: 'four failures never page', runs: 'F F F F P', events: '. . . . .', states: 'f f f f o' },
  { name: 'fires on the 5th failure, resolves on the first pass', runs: 'F F F F F P', events: '. . . . F R', states: 'f f f f X o' },
  { name: 'failures: 1, 0, 2, 0, 2 never page', runs: 'F P F F P F F', events: '. . . . . . .', states: 'f o f f o f f' },
  {
    name: 'firing stays firing without new pages',
    policy: NO_REMINDERS,
    runs: 'F F F F F F F F',
    events: '. . . . F . . .',
    states: 'f f f f X X X X',
  },
  { name: 'a pass at 4 restarts the count', runs: 'F F F F P F F F F F', events: '. . . . . . . . . F', states: 'f f f f o f f f f X' },
  // Threshold 1.
  {
    name: 'threshold 1 fires on the first failure',
    policy: { failureThreshold: 1 },
    runs: 'F P F P',
    events: 'F R F R',
    states: 'X o X o',
  },
  // successThreshold 3.
  {
    name: 'successThreshold 3 resolves on the third pass',
    policy: { successThreshold: 3 },
    runs: 'F F F F F P P P P',
    events: '. . . . F . . R .',
    states: 'f f f f X r r o o',
  },
  {
    name: 'flapping while recovering returns to firing without a new page',
    policy: { successThreshold: 3, ...NO_REMINDERS },
    runs: 'F F F F F P P F P F P P P',
    events: '. . . . F . . . . . . . R',
    states: 'f f f f X r r X r X r r o',
  },
  {
    name: 'a new incident after a resolve pages again',
    policy: { failureThreshold: 2 },
    runs: 'F F P F F',
    events: '. F R . F',
    states: 'f X o f X',
  },
  // Reminders (every 3 minutes, decided on a failed run).
  {
    name: 'reminders every interval while failing',
    policy: { failureThreshold: 2, reminderIntervalMs: 3 * MINUTE },
    runs: 'F F F F F F F F',
    events: '. F . . M . . M',
    states: 'f X X X X X X X',
  },
  {
    name: 'no reminder decided on a pass; the next failure after the interval reminds',
    policy: { failureThreshold: 1, successThreshold: 3, reminderIntervalMs: 3 * MINUTE },
    runs: 'F P P F F',
    events: 'F . . M .',
    states: 'X r r X X',
  },
  {
    name: 'reminder interval 0 never reminds',
    policy: { failureThreshold: 1, reminderIntervalMs: 0 },
    runs: 'F F F F F F',
    events: 'F . . . . .',
    states: 'X X X X X X',
  },
  // sendResolved false: the machine still decides the resolve; who is told is the alerter's choice
  // (a level-triggered channel must hear it, or it keeps the alert firing).
  {
    name: 'sendResolved false still decides the resolve',
    policy: { failureThreshold: 2, sendResolved: false },
    runs: 'F F P F F',
    events: '. F R . F',
    states: 'f X o f X',
  },
  {
    name: 'sendResolved false with successThreshold 2 resolves on the second pass',
    policy: { failureThreshold: 1, successThreshold: 2, sendResolved: false },
    runs: 'F P P P',
    events: 'F . R .',
    states: 'X r o o',
  },
  // Aborted runs change nothing.
  { name: 'aborted runs neither extend nor break a streak', runs: 'F F A F F A F', events: '. . . . . . F', states: 'f f f f f f X' },
  {
    name: 'aborted runs do not count towards recovery',
    policy: { failureThreshold: 1, successThreshold: 2 },
    runs: 'F P A A P',
    events: 'F . . . R',
    states: 'X r r r o',
  },
  { name: 'aborted from ok stays ok', runs: 'A A P A', events: '. . . .', states: 'o o o o' },
  // Inconclusive runs (canaries down) change nothing either.
  {
    name: 'inconclusive runs neither extend nor break a streak: fires on the 5th real failure, never during N',
    runs: 'F F N N F F F',
    events: '. . . . . . F',
    states: 'f f f f f f X',
  },
  { name: 'inconclusive runs alone never page', runs: 'N N N N N N P N', events: '. . . . . . . .', states: 'o o o o o o o o' },
  {
    name: 'the network comes back and the target is still down: counted from the first real failure',
    runs: 'N N N N N F F F F F',
    events: '. . . . . . . . . F',
    states: 'o o o o o f f f f X',
  },
  {
    name: 'a flapping network between failures: fires on the 3rd real failure',
    policy: { failureThreshold: 3 },
    runs: 'F N F N N F',
    events: '. . . . . F',
    states: 'f f f f f X',
  },
  {
    name: 'inconclusive runs never resolve an incident',
    policy: { failureThreshold: 1 },
    runs: 'F N N P',
    events: 'F . . R',
    states: 'X X X o',
  },
  {
    name: 'inconclusive runs do not count towards recovery',
    policy: { failureThreshold: 1, successThreshold: 2 },
    runs: 'F P N P',
    events: 'F . . R',
    states: 'X r r o',
  },
  {
    name: 'inconclusive runs never remind; the next failure after the interval does',
    policy: { failureThreshold: 1, reminderIntervalMs: 2 * MINUTE },
    runs: 'F N N N F',
    events: 'F . . . M',
    states: 'X X X X X',
  },
  // Retried runs are passes.
  { name: 'a retried run breaks a streak like a pass', runs: 'F F F F T F', events: '. . . . . .', states: 'f f f f o f' },
  { name: 'a retried run resolves', policy: { failureThreshold: 2 }, runs: 'F F T', events: '. F R', states: 'f X o' },
  {
    name: 'retried runs count towards successThreshold',
    policy: { failureThreshold: 1, successThreshold: 2 },
    runs: 'F T P',
    events: 'F . R',
    states: 'X r o',
  },
  // Muted runs count, but decide no event until the mute ends.
  {
    name: 'a streak inside a mute pages nobody and, recovered inside it, sends nothing',
    runs: 'f f f f f f p P',
    events: '. . . . . . . .',
    states: 'f f f f f f o o',
  },
  {
    name: 'a streak that outlasts the mute fires once, on the first failure after it',
    runs: 'f f f f f f F F',
    events: '. . . . . . F .',
    states: 'f f f f f f X X',
  },
  { name: 'a mute that starts mid-streak holds the page until it ends', runs: 'F F f f f F', events: '. . . . . F', states: 'f f f f f X' },
  { name: 'a mute that ends below the threshold changes nothing', runs: 'f f F F F', events: '. . . . F', states: 'f f f f X' },
  {
    name: 'a streak that recovers on the first run after the mute sends nothing',
    policy: { failureThreshold: 2 },
    runs: 'f n f T',
    events: '. . . .',
    states: 'f f f o',
  },
  {
    name: 'a firing incident is not reminded while muted; the first failure after the mute is',
    policy: { failureThreshold: 1, reminderIntervalMs: 3 * MINUTE },
    runs: 'F f f f f F',
    events: 'F . . . . M',
    states: 'X X X X X X',
  },
  {
    name: 'a firing incident that recovers while muted resolves on the first pass after the mute',
    runs: 'F F F F F p p P',
    events: '. . . . F . . R',
    states: 'f f f f X r r o',
  },
  {
    name: 'a firing incident that flaps while muted stays one incident',
    policy: NO_REMINDERS,
    runs: 'F F F F F p f t F P',
    events: '. . . . F . . . . R',
    states: 'f f f f X r X r X o',
  },
  { name: 'muted aborted and inconclusive runs change nothing', runs: 'F f a n f', events: '. . . . .', states: 'f f f f f' },
  // The mute's end decides what it held, then and there, not at the next run.
  {
    name: 'a streak past the threshold fires at the mute end, once, not again on the next failure',
    policy: NO_REMINDERS,
    runs: 'f f f f f f E F F',
    events: '. . . . . . F . .',
    states: 'f f f f f f X X X',
  },
  {
    name: 'a streak that recovered inside the window sends nothing at its end',
    runs: 'f f f f f p E F',
    events: '. . . . . . . .',
    states: 'f f f f f o o f',
  },
  {
    name: 'a streak below the threshold at the end waits for the threshold',
    runs: 'f f E F F F',
    events: '. . . . . F',
    states: 'f f f f f X',
  },
  {
    name: 'inconclusive runs in the window do not count at its end',
    runs: 'f n n f f E F F',
    events: '. . . . . . . F',
    states: 'f f f f f f f X',
  },
  { name: 'a held resolve is sent at the end', runs: 'F F F F F p E P', events: '. . . . F . R .', states: 'f f f f X r o o' },
  {
    name: 'a held resolve waits for successThreshold even at the end',
    policy: { successThreshold: 2 },
    runs: 'F F F F F p E P',
    events: '. . . . F . . R',
    states: 'f f f f X r r o',
  },
  {
    name: 'a reminder that fell due in the window is sent at its end',
    policy: { failureThreshold: 1, reminderIntervalMs: 3 * MINUTE },
    runs: 'F f f f f E F',
    events: 'F . . . . M .',
    states: 'X X X X X X X',
  },
  { name: 'the end of a mute over a healthy probe is nothing', runs: 'p p E P', events: '. . . .', states: 'o o o o' },
  { name: 'an unmuted streak is not touched by a mute end elsewhere', runs: 'F F E F', events: '. . . .', states: 'f f f f' },
]

const FAILURE: Failure = { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' }

function policyOf(overrides: Partial<AlertPolicy> = {}): AlertPolicy {
  return { ...BUILTIN_POLICY, channels: ['oncall'], ...overrides }
}

const OUTCOMES: Record<string, Outcome> = { F: 'failure', P: 'success', A: 'aborted', N: 'inconclusive', T: 'retried' }
const EVENT_CODES: Record<AlertEvent['event'], string> = { firing: 'F', reminder: 'M', resolved: 'R' }
const STATE_CODES: Record<AlertState['kind'], string> = { ok: 'o', failing: 'f', firing: 'X', recovering: 'r' }

function play(runs: string, policy: AlertPolicy) {
  let state = INITIAL_STATE
  const events: string[] = []
  const states: string[] = []
  const all: AlertEvent[] = []
  for (const [i, code] of runs.split(' ').entries()) {
    if (code === 'E') {
      const result = unmuted(state, policy, new Date(T0 + i * MINUTE))
      state = result.state
      events.push(result.events[0] ? EVENT_CODES[result.events[0].event] : '.')
      states.push(STATE_CODES[state.kind])
      all.push(...result.events)
      continue
    }
    const outcome = OUTCOMES[code.toUpperCase()]
    if (!outcome) throw new Error(`bad run code ${code}`)
    const muted = code !== code.toUpperCase()
    const at = new Date(T0 + i * MINUTE)
    const failure = outcome === 'failure' || outcome === 'inconclusive' ? FAILURE : null
    const result = next(state, { outcome, muted, failure, at }, policy, new Date(at.getTime() + 500))
    state = result.state
    expect(result.events.length).toBeLessThanOrEqual(1)
    events.push(result.events[0] ? EVENT_CODES[result.events[0].event] : '.')
    states.push(STATE_CODES[state.kind])
    all.push(...result.events)
  }
  return { events: events.join(' '), states: states.join(' '), all, state }
}

describe('next: timelines', () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(c.runs.split(' ')).toHaveLength(c.events.split(' ').length)
      const played = play(c.runs, policyOf(c.policy))
      expect({ events: played.events, states: played.states }).toEqual({ events: c.events, states: c.states })
    })
  }
})

describe('next: event data', () => {
  it('names the incident by the first failed run and carries the failure', () => {
    const { all } = play('P F F F F F F P', policyOf({ reminderIntervalMs: 0 }))
    expect(all).toEqual([
      {
        event: 'firing',
        since: new Date(T0 + MINUTE).toISOString(),
        at: new Date(T0 + 5 * MINUTE + 500).toISOString(),
        consecutiveFailures: 5,
        failedRuns: 5,
        failure: FAILURE,
        sequence: 0,
      },
      {
        event: 'resolved',
        since: new Date(T0 + MINUTE).toISOString(),
        at: new Date(T0 + 7 * MINUTE + 500).toISOString(),
        consecutiveFailures: 0,
        failedRuns: 6,
        failure: null,
        sequence: 0,
      },
    ])
  })

  it('numbers reminders and keeps the incident start across recovering', () => {
    const { all } = play('F P F F F F F', policyOf({ failureThreshold: 1, successThreshold: 2, reminderIntervalMs: 2 * MINUTE }))
    expect(all.map((e) => [e.event, e.sequence, e.since, e.consecutiveFailures, e.failedRuns])).toEqual([
      ['firing', 0, new Date(T0).toISOString(), 1, 1],
      ['reminder', 1, new Date(T0).toISOString(), 1, 2],
      ['reminder', 2, new Date(T0).toISOString(), 3, 4],
      ['reminder', 3, new Date(T0).toISOString(), 5, 6],
    ])
  })

  it('a streak that outlasts a mute fires with its real count and its first failed run as the start', () => {
    const { all } = play('P f f f f f f F', policyOf())
    expect(all).toEqual([
      {
        event: 'firing',
        since: new Date(T0 + MINUTE).toISOString(),
        at: new Date(T0 + 7 * MINUTE + 500).toISOString(),
        consecutiveFailures: 7,
        failedRuns: 7,
        failure: FAILURE,
        sequence: 0,
      },
    ])
  })

  it('a streak fired at the mute end carries its real count and the time of the end', () => {
    const { all } = play('P f f f f f f E', policyOf())
    expect(all).toEqual([
      {
        event: 'firing',
        since: new Date(T0 + MINUTE).toISOString(),
        at: new Date(T0 + 7 * MINUTE).toISOString(),
        consecutiveFailures: 6,
        failedRuns: 6,
        failure: FAILURE,
        sequence: 0,
      },
    ])
  })

  it('a resolve held by a mute counts every failed run of the incident', () => {
    const { all } = play('F F f p f p P', policyOf({ failureThreshold: 2, reminderIntervalMs: 0 }))
    expect(all.map((e) => [e.event, e.since, e.consecutiveFailures, e.failedRuns])).toEqual([
      ['firing', new Date(T0).toISOString(), 2, 2],
      ['resolved', new Date(T0).toISOString(), 0, 4],
    ])
  })

  it('reports the latest failure in a reminder', () => {
    const policy = policyOf({ failureThreshold: 1, reminderIntervalMs: MINUTE })
    const first = next(INITIAL_STATE, { outcome: 'failure', muted: false, failure: FAILURE, at: new Date(T0) }, policy, new Date(T0))
    const other: Failure = { step: 'create', kind: 'timeout', reason: 'timeout', message: 'create: timed out after 10s' }
    const second = next(
      first.state,
      { outcome: 'failure', muted: false, failure: other, at: new Date(T0 + MINUTE) },
      policy,
      new Date(T0 + MINUTE),
    )
    expect(second.events[0]?.failure).toEqual(other)
  })

  it('copes with a failure outcome that carries no failure', () => {
    const { state, events } = next(
      INITIAL_STATE,
      { outcome: 'failure', muted: false, failure: null, at: new Date(T0) },
      policyOf({ failureThreshold: 1 }),
      new Date(T0),
    )
    expect(state.kind).toBe('firing')
    expect(events[0]?.failure).toBeNull()
  })

  it('sends no reminder when the clock went backwards', () => {
    const policy = policyOf({ failureThreshold: 1, reminderIntervalMs: MINUTE })
    const fired = next(INITIAL_STATE, { outcome: 'failure', muted: false, failure: FAILURE, at: new Date(T0) }, policy, new Date(T0))
    const back = next(
      fired.state,
      { outcome: 'failure', muted: false, failure: FAILURE, at: new Date(T0 - 10 * MINUTE) },
      policy,
      new Date(T0 - 10 * MINUTE),
    )
    expect(back.events).toEqual([])
  })
})

describe('next: policy changed mid-incident', () => {
  it('a lowered failureThreshold fires on the next failure', () => {
    const three = play('F F F', policyOf()).state
    const { state, events } = next(
      three,
      { outcome: 'failure', muted: false, failure: FAILURE, at: new Date(T0 + 3 * MINUTE) },
      policyOf({ failureThreshold: 2 }),
      new Date(T0 + 3 * MINUTE),
    )
    expect(state.kind).toBe('firing')
    expect(events.map((e) => [e.event, e.since, e.consecutiveFailures])).toEqual([['firing', new Date(T0).toISOString(), 4]])
  })

  it('a raised failureThreshold keeps an incident that is already firing', () => {
    const firing = play('F F', policyOf({ failureThreshold: 2 })).state
    const { state, events } = next(
      firing,
      { outcome: 'failure', muted: false, failure: FAILURE, at: new Date(T0 + 2 * MINUTE) },
      policyOf({ failureThreshold: 10, reminderIntervalMs: 0 }),
      new Date(T0 + 2 * MINUTE),
    )
    expect(state.kind).toBe('firing')
    expect(events).toEqual([])
  })

  it('a lowered successThreshold resolves on the next pass', () => {
    const recovering = play('F P', policyOf({ failureThreshold: 1, successThreshold: 5 })).state
    expect(recovering.kind).toBe('recovering')
    const { state, events } = next(
      recovering,
      { outcome: 'success', muted: false, failure: null, at: new Date(T0 + 2 * MINUTE) },
      policyOf({ successThreshold: 1 }),
      new Date(T0 + 2 * MINUTE),
    )
    expect(state).toEqual(INITIAL_STATE)
    expect(events.map((e) => e.event)).toEqual(['resolved'])
  })
})

describe('resolve, firingEvent and helpers', () => {
  const firing = play('F F', policyOf({ failureThreshold: 2 })).state
  const now = new Date(T0 + 60 * MINUTE)

  it('resolve ends an open incident with a resolved event', () => {
    const { state, events } = resolve(firing, now)
    expect(state).toEqual(INITIAL_STATE)
    expect(events.map((e) => [e.event, e.since, e.at])).toEqual([['resolved', new Date(T0).toISOString(), now.toISOString()]])
  })

  it('resolve is silent when nothing is open', () => {
    expect(resolve(play('F', policyOf()).state, now)).toEqual({ state: INITIAL_STATE, events: [] })
    expect(resolve(INITIAL_STATE, now)).toEqual({ state: INITIAL_STATE, events: [] })
  })

  it('firingEvent re-derives the firing with sequence 0, only while open', () => {
    expect(firingEvent(firing, now)).toMatchObject({
      event: 'firing',
      since: new Date(T0).toISOString(),
      sequence: 0,
      at: now.toISOString(),
    })
    expect(firingEvent(INITIAL_STATE, now)).toBeNull()
  })

  it('isFiring and consecutiveFailures read the state', () => {
    const recovering = play('F F P', policyOf({ failureThreshold: 2, successThreshold: 2 })).state
    expect([INITIAL_STATE, play('F', policyOf()).state, firing, recovering].map((s) => [isFiring(s), consecutiveFailures(s)])).toEqual([
      [false, 0],
      [false, 1],
      [true, 2],
      [true, 0],
    ])
  })
})
