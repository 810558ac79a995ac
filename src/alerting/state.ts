/**
 * The alert state machine of one probe: pure, no I/O, no clock of its own.
 * Persistence (store.ts) and delivery (delivery.ts) are adapters around it.
 *
 *   ok ──fail──▶ failing(k) ──k = failureThreshold──▶ firing ──pass──▶ recovering(m) ──m = successThreshold──▶ ok
 *                   │ pass                             ▲  │ fail, every reminderInterval: reminder   │ fail
 *                   ▼                                  │  └──────────────────────────────────────────┤
 *                   ok                                 └──────────── (no new page) ───────────────────┘
 *
 * It counts judged outcomes (src/judge/): `retried` is a pass, `inconclusive`
 * and `aborted` are no run at all. A muted run moves the counts like any
 * other, but a transition that would notify is held back until the mute
 * ends (`unmuted`, which the daemon calls at the mute's end) or the first
 * unmuted run, whichever comes first: the firing comes then, with the real count.
 *
 * Times are ISO strings so the state is plain JSON for the state file.
 */
import type { AlertPolicy } from '../config/alert-policy.ts'
import type { Outcome } from '../judge/judge.ts'
import type { Failure } from '../probe/result.ts'

export type AlertState =
  | { readonly kind: 'ok' }
  | {
      readonly kind: 'failing'
      /** Start of the (possible) incident: the time of the streak's first failed run. */
      readonly since: string
      readonly failures: number
      readonly lastFailure: Failure | null
    }
  | {
      readonly kind: 'firing'
      readonly since: string
      /** Consecutive failed runs right now (restarts at 1 after a pass while recovering). */
      readonly failures: number
      /** Every failed run of the incident. */
      readonly failedRuns: number
      readonly lastFailure: Failure | null
      /** When the last firing or reminder was decided: the reminder clock. */
      readonly lastNotifiedAt: string
      readonly reminders: number
    }
  | {
      readonly kind: 'recovering'
      readonly since: string
      readonly successes: number
      readonly failedRuns: number
      readonly lastFailure: Failure | null
      readonly lastNotifiedAt: string
      readonly reminders: number
    }

export type AlertStateKind = AlertState['kind']

/** What a Notification needs from one decision; notify.ts adds probe, location and labels. */
export interface AlertEvent {
  readonly event: 'firing' | 'resolved' | 'reminder'
  /** ISO time of the incident's first failed run: with probe and location it names the incident. */
  readonly since: string
  /** ISO time the event was decided. */
  readonly at: string
  readonly consecutiveFailures: number
  readonly failedRuns: number
  /** The failure to report; null for a resolve. */
  readonly failure: Failure | null
  /** 0 for firing and resolved; n for the incident's nth reminder (part of the notification id). */
  readonly sequence: number
}

export interface RunInput {
  /** The judged outcome of the run (src/judge/), not the raw result's. */
  readonly outcome: Outcome
  /** In a maintenance window or an ad-hoc mute: the state advances, no event is decided. */
  readonly muted: boolean
  readonly failure: Failure | null
  /**
   * The run's scheduled slot (or its start, outside the scheduler): the first
   * failed run's becomes the incident start, and with it the incident's id.
   */
  readonly at: Date
}

export interface Transition {
  readonly state: AlertState
  readonly events: readonly AlertEvent[]
}

export const INITIAL_STATE: AlertState = { kind: 'ok' }

/** Firing or recovering: an incident is open and its channels were paged. */
export function isFiring(state: AlertState): state is Extract<AlertState, { kind: 'firing' | 'recovering' }> {
  return state.kind === 'firing' || state.kind === 'recovering'
}

/** Failed runs in a row right now (the `probe_consecutive_failures` gauge). */
export function consecutiveFailures(state: AlertState): number {
  return state.kind === 'failing' || state.kind === 'firing' ? state.failures : 0
}

export function next(state: AlertState, run: RunInput, policy: AlertPolicy, now: Date): Transition {
  // A run cut short by shutdown says nothing about the target (README
  // "Alerting"): it neither extends a failure streak nor counts towards recovery.
  if (run.outcome === 'aborted') return { state, events: [] }
  // Inconclusive: the monitor's own network was down (every canary failed
  // too), so the run says nothing about the target either. Counting it as a
  // failure would page for the monitor; counting it as a pass would resolve
  // an outage nobody saw end. It is left out, exactly as an aborted run.
  if (run.outcome === 'inconclusive') return { state, events: [] }
  if (run.outcome === 'failure') return onFailure(state, run, policy, now)
  // Retried: the target answered in the end, so it works; its flakiness is
  // for metrics and the status page, not a page.
  return onSuccess(state, run, policy, now)
}

function onFailure(state: AlertState, run: RunInput, policy: AlertPolicy, now: Date): Transition {
  const at = now.toISOString()
  switch (state.kind) {
    case 'ok':
    case 'failing': {
      // The streak starts at its first failed run; that time names the incident,
      // so it must not move while the streak goes on.
      const since = state.kind === 'ok' ? run.at.toISOString() : state.since
      const failures = state.kind === 'ok' ? 1 : state.failures + 1
      // `>=`, not `===`: a threshold lowered by a reload mid-streak fires on the
      // next failure instead of never. The same `>=` fires a streak that
      // passed the threshold while muted: it stays failing, counting, and its
      // first failure after the mute is the page, with the real count.
      if (failures < policy.failureThreshold || run.muted) {
        return { state: { kind: 'failing', since, failures, lastFailure: run.failure }, events: [] }
      }
      // The Nth failure in a row: this is the one page of the incident.
      const firing: AlertState = {
        kind: 'firing',
        since,
        failures,
        failedRuns: failures,
        lastFailure: run.failure,
        lastNotifiedAt: at,
        reminders: 0,
      }
      return { state: firing, events: [event('firing', firing, at, 0)] }
    }
    case 'firing':
    case 'recovering': {
      // Still the same incident: a failure while recovering goes back to firing
      // without a new page (Gatus "almost resolved but failing again"), since
      // the channels were never told it had ended.
      const failures = state.kind === 'firing' ? state.failures + 1 : 1
      const firing = {
        kind: 'firing' as const,
        since: state.since,
        failures,
        failedRuns: state.failedRuns + 1,
        lastFailure: run.failure,
        lastNotifiedAt: state.lastNotifiedAt,
        reminders: state.reminders,
      }
      // Muted: no reminder, and the reminder clock stays where it was, so the
      // first failure after the mute reminds if one fell due meanwhile.
      return run.muted ? { state: firing, events: [] } : remindIfDue(firing, policy, now)
    }
  }
}

/**
 * The mute over a probe ended (a window closed, a mute expired or was
 * deleted): what it held back is decided now, at the mute's end, not at the
 * next run, which may be an interval away. A streak that passed the
 * threshold while muted fires, with its real count; an incident whose
 * recovery the mute held resolves; a reminder that fell due meanwhile is
 * sent. A streak that recovered inside the mute is already `ok`: nothing.
 */
export function unmuted(state: AlertState, policy: AlertPolicy, now: Date): Transition {
  const at = now.toISOString()
  switch (state.kind) {
    case 'ok':
      return { state, events: [] }
    case 'failing': {
      if (state.failures < policy.failureThreshold) return { state, events: [] }
      const firing: AlertState = {
        kind: 'firing',
        since: state.since,
        failures: state.failures,
        failedRuns: state.failures,
        lastFailure: state.lastFailure,
        lastNotifiedAt: at,
        reminders: 0,
      }
      return { state: firing, events: [event('firing', firing, at, 0)] }
    }
    case 'firing':
      return remindIfDue(state, policy, now)
    case 'recovering':
      return state.successes >= policy.successThreshold ? resolve(state, now) : { state, events: [] }
  }
}

/**
 * A reminder is decided only when a failed run finds the interval elapsed
 * since the last page: no timer of its own, so a paused daemon sends no burst
 * of catch-up reminders, and a flapping incident is still reminded about.
 */
function remindIfDue(state: Extract<AlertState, { kind: 'firing' }>, policy: AlertPolicy, now: Date): Transition {
  const due = policy.reminderIntervalMs > 0 && now.getTime() - Date.parse(state.lastNotifiedAt) >= policy.reminderIntervalMs
  if (!due) return { state, events: [] }
  const at = now.toISOString()
  const reminded = { ...state, lastNotifiedAt: at, reminders: state.reminders + 1 }
  return { state: reminded, events: [event('reminder', reminded, at, reminded.reminders)] }
}

function onSuccess(state: AlertState, run: RunInput, policy: AlertPolicy, now: Date): Transition {
  switch (state.kind) {
    case 'ok':
      return { state, events: [] }
    case 'failing':
      // The streak broke before the threshold: nobody was paged, nothing to resolve.
      // So too for a streak that passed the threshold while muted: it recovered
      // inside the mute, and there is nothing to tell.
      return { state: INITIAL_STATE, events: [] }
    case 'firing':
    case 'recovering': {
      const successes = state.kind === 'recovering' ? state.successes + 1 : 1
      if (successes < policy.successThreshold || run.muted) {
        // One pass is not yet a recovery: keep the incident open until
        // successThreshold passes in a row, so a flapping target pages once.
        // Muted, the channels that were paged keep their open incident until
        // the first pass after the mute resolves it: a resolve is a
        // notification too, and dropping it would leave the incident open
        // on them for good.
        const recovering: AlertState = {
          kind: 'recovering',
          since: state.since,
          successes,
          failedRuns: state.failedRuns,
          lastFailure: state.lastFailure,
          lastNotifiedAt: state.lastNotifiedAt,
          reminders: state.reminders,
        }
        return { state: recovering, events: [] }
      }
      return resolve(state, now)
    }
  }
}

/**
 * Ends an open incident: after enough passing runs, or because the probe was
 * removed from the configuration (its channels must not keep an alert that
 * nothing will ever resolve).
 *
 * The resolved event is decided whatever `sendResolved` says: the machine
 * states what happened, the alerter decides who is told. A level-triggered
 * channel (Alertmanager) keeps re-posting the alert as firing until it is told
 * otherwise, so it must always hear of the end; `sendResolved` only spares the
 * edge-triggered channels a message.
 */
export function resolve(state: AlertState, now: Date): Transition {
  if (!isFiring(state)) return { state: INITIAL_STATE, events: [] }
  const at = now.toISOString()
  const resolved: AlertEvent = {
    event: 'resolved',
    since: state.since,
    at,
    consecutiveFailures: 0,
    failedRuns: state.failedRuns,
    failure: null,
    sequence: 0,
  }
  return { state: INITIAL_STATE, events: [resolved] }
}

/**
 * The firing event of a still-open incident, decided again at `now`: for a
 * channel added to the probe mid-incident and for level-triggered channels at
 * start. It keeps sequence 0, so its notification id is the original one.
 */
export function firingEvent(state: AlertState, now: Date): AlertEvent | null {
  if (!isFiring(state)) return null
  return event('firing', state, now.toISOString(), 0)
}

function event(
  kind: AlertEvent['event'],
  state: Extract<AlertState, { kind: 'firing' | 'recovering' }>,
  at: string,
  sequence: number,
): AlertEvent {
  return {
    event: kind,
    since: state.since,
    at,
    consecutiveFailures: state.kind === 'firing' ? state.failures : 0,
    failedRuns: state.failedRuns,
    failure: state.lastFailure,
    sequence,
  }
}
