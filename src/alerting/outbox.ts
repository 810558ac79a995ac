/**
 * The outbox's rules, with no timers, no I/O and no clock: data in,
 * decisions out, as `state.ts` is for the alert state machine (README
 * "Alerting"). `delivery.ts` owns the timers, the in-flight attempts and the
 * channel calls, and asks this module what to do.
 *
 * Ordering: FIFO per lane, a lane being one incident on one destination of
 * a channel, so a resolve never overtakes its firing, and a destination that
 * is down delays nothing for another. Only the head of a lane may be tried.
 */
import type { SendResult } from './channel.ts'
import type { Notification } from './notification.ts'
import { backoffDelay, type RetryPolicy } from './retry.ts'

export interface OutboxEntry {
  readonly channel: string
  /**
   * The channel's destination hash when the entry was queued: the entry goes
   * to that destination or nowhere, never to another one configured under the
   * same name since. Null when unknown (a state file from before it was
   * stored): then whatever the name points at now.
   */
  readonly identity: string | null
  readonly notification: Notification
  readonly attempts: number
  readonly enqueuedAt: string
  readonly firstAttemptAt: string | null
  readonly nextAttemptAt: string
  readonly lastError: string | null
}

export interface Outbox {
  /** Insertion order is delivery order within a lane. */
  readonly entries: readonly OutboxEntry[]
  /** A channel's `Retry-After`, until when: the endpoint asked for a pause, for every lane. */
  readonly holds: ReadonlyMap<string, number>
}

export const EMPTY_OUTBOX: Outbox = { entries: [], holds: new Map() }

export const destinationOf = (channel: string, identity: string | null): string => `${channel}\u0000${identity ?? ''}`
export const keyOf = (entry: Pick<OutboxEntry, 'channel' | 'identity' | 'notification'>): string =>
  `${destinationOf(entry.channel, entry.identity)}\u0000${entry.notification.id}`
export const laneOf = (entry: OutboxEntry): string =>
  `${destinationOf(entry.channel, entry.identity)}\u0000${entry.notification.incidentId}`

const iso = (ms: number) => new Date(ms).toISOString()
const without = (outbox: Outbox, key: string): Outbox => ({ ...outbox, entries: outbox.entries.filter((e) => keyOf(e) !== key) })

export function find(outbox: Outbox, key: string): OutboxEntry | undefined {
  return outbox.entries.find((entry) => keyOf(entry) === key)
}

/** A new entry, due at once. */
export function entryOf(channel: string, identity: string | null, notification: Notification, now: number): OutboxEntry {
  const at = iso(now)
  return { channel, identity, notification, attempts: 0, enqueuedAt: at, firstAttemptAt: null, nextAttemptAt: at, lastError: null }
}

/**
 * Appends an entry unless the same notification is queued already. A
 * reminder not yet attempted says less than the newer event behind it, so
 * the lane's reminders are superseded, except the one in flight (`flying`).
 *
 * The same notification queued again (its id is per incident and event)
 * while newer events of its incident wait behind it — a channel dropped and
 * listed again (resolve, then firing) or the reverse, all undelivered: the
 * receiver is to end where the queued one leaves it, so what came after it
 * is undone. Skipping the repeat instead would leave the receiver in the
 * state of the entry behind it (a firing after the incident's last resolve).
 */
export function add(outbox: Outbox, entry: OutboxEntry, flying?: string): { outbox: Outbox; added: boolean; superseded: string[] } {
  const key = keyOf(entry)
  const lane = laneOf(entry)
  const at = outbox.entries.findIndex((e) => keyOf(e) === key)
  if (at >= 0) {
    const undone = outbox.entries.filter((e, index) => index > at && laneOf(e) === lane)
    if (undone.length === 0) return { outbox, added: false, superseded: [] }
    const entries = outbox.entries.filter((e) => !undone.includes(e))
    return { outbox: { ...outbox, entries }, added: false, superseded: undone.map(keyOf) }
  }
  // A firing for a destination whose resolve of this incident waits, never tried, at the lane's end:
  // the destination still holds the firing it was sent (one still queued would be this same key,
  // above), so the two cancel out. A resolve already tried may have arrived: then both are sent.
  const last = outbox.entries.findLast((e) => laneOf(e) === lane)
  if (entry.notification.event === 'firing' && last?.notification.event === 'resolved' && last.attempts === 0 && keyOf(last) !== flying)
    return { outbox: without(outbox, keyOf(last)), added: false, superseded: [keyOf(last)] }
  const superseded: string[] = []
  const kept = outbox.entries.filter((e) => {
    const gone = e.notification.event === 'reminder' && laneOf(e) === lane && keyOf(e) !== flying
    if (gone) superseded.push(keyOf(e))
    return !gone
  })
  return { outbox: { ...outbox, entries: [...kept, entry] }, added: true, superseded }
}

/** Entries read from the state file, back in their order; one already queued is kept as it is. */
export function restore(outbox: Outbox, entries: readonly OutboxEntry[]): Outbox {
  const keys = new Set(outbox.entries.map(keyOf))
  const fresh = entries.filter((entry) => {
    const key = keyOf(entry)
    if (keys.has(key)) return false
    keys.add(key)
    return true
  })
  return { ...outbox, entries: [...outbox.entries, ...fresh] }
}

/** What delivery knows that the outbox does not: what is staged, in flight, and routable. */
export interface DueContext {
  /** Enqueued but not yet released by `kick`: the caller persists them before any attempt. */
  readonly staged: ReadonlySet<string>
  /** The attempts in flight, by lane, with their channel. */
  readonly inFlight: ReadonlyMap<string, { readonly channel: string }>
  /** Why an entry can no longer be delivered (see `unroutable`), or null. */
  readonly unroutable: (entry: OutboxEntry) => string | null
  /** Whether an entry waits for its former destination to be configured again (see `parked`). */
  readonly parked?: (entry: OutboxEntry) => boolean
}

/**
 * Why an entry cannot be delivered, or null: the configuration changed under
 * it (reload, or restart with a new file). `target` is where its name and
 * identity lead now; `named`, whether a channel of that name is configured.
 */
export function unroutable(
  entry: OutboxEntry,
  target: { readonly events: ReadonlySet<string> } | undefined,
  named: boolean,
): string | null {
  if (target?.events.has(entry.notification.event)) return null
  if (target) return `channel no longer takes ${entry.notification.event} events`
  // Named but not routable: a former destination, parked (see `parked`), not given up.
  if (named) return null
  return 'channel no longer configured'
}

/**
 * An entry for a former destination of a channel still configured under its
 * name, which nothing reaches now (a restart came after the reload that
 * moved it, so the retired channel is gone). A reload back to it would reach
 * it again, and the receiver there still holds what it was sent: its resolve
 * is still owed. So it waits, under the age bound, instead of being dropped.
 */
export function parked(target: unknown, named: boolean): boolean {
  return target === undefined && named
}

export type Decision =
  | { readonly kind: 'attempt'; readonly key: string; readonly lane: string; readonly entry: OutboxEntry }
  | { readonly kind: 'drop'; readonly key: string; readonly entry: OutboxEntry; readonly reason: string; readonly attempts: number }

/**
 * One pass over the lane heads at `now`: which to attempt, which to give up,
 * and when to look again (`wake`, infinite when nothing waits). Dropped
 * entries leave the returned outbox; a dropped head frees its lane for the
 * entry behind it in the same pass.
 */
export function due(
  outbox: Outbox,
  now: number,
  policy: Pick<RetryPolicy, 'maxAgeMs' | 'maxInFlightPerChannel'>,
  context: DueContext,
): { outbox: Outbox; decisions: Decision[]; wake: number } {
  const seen = new Set<string>()
  const inFlight = new Map<string, number>()
  for (const flight of context.inFlight.values()) inFlight.set(flight.channel, (inFlight.get(flight.channel) ?? 0) + 1)
  const decisions: Decision[] = []
  const dropped = new Set<string>()
  let wake = Number.POSITIVE_INFINITY
  // A pause that has passed is forgotten.
  const holds = new Map([...outbox.holds].filter(([, until]) => until > now))
  for (const entry of outbox.entries) {
    const key = keyOf(entry)
    const lane = laneOf(entry)
    if (seen.has(lane)) continue
    seen.add(lane)
    if (context.staged.has(key) || context.inFlight.has(lane)) continue
    const gone = context.unroutable(entry)
    // The age bound holds for an entry that is waiting too (behind a hold, a
    // long backoff, or a restored far-off retry), not only after an attempt.
    const expires = Date.parse(entry.enqueuedAt) + policy.maxAgeMs
    const reason = gone ?? (expires <= now ? `gave up after ${entry.attempts} attempts: not delivered within ${policy.maxAgeMs} ms` : null)
    if (reason !== null) {
      decisions.push({ kind: 'drop', key, entry, reason, attempts: entry.attempts })
      dropped.add(key)
      seen.delete(lane)
      continue
    }
    if (context.parked?.(entry)) {
      wake = Math.min(wake, expires)
      continue
    }
    const at = Math.max(Date.parse(entry.nextAttemptAt), holds.get(entry.channel) ?? 0)
    if (at > now) {
      wake = Math.min(wake, at, expires)
      continue
    }
    const flying = inFlight.get(entry.channel) ?? 0
    if (flying >= policy.maxInFlightPerChannel) continue
    inFlight.set(entry.channel, flying + 1)
    decisions.push({ kind: 'attempt', key, lane, entry })
  }
  const entries = dropped.size === 0 ? outbox.entries : outbox.entries.filter((e) => !dropped.has(keyOf(e)))
  return { outbox: { entries, holds }, decisions, wake }
}

export type Settled =
  | { readonly kind: 'gone' }
  | { readonly kind: 'sent'; readonly entry: OutboxEntry }
  | { readonly kind: 'dropped'; readonly entry: OutboxEntry; readonly reason: string; readonly attempts: number }
  | { readonly kind: 'retry'; readonly entry: OutboxEntry; readonly delayMs: number }

/**
 * The result of an attempt begun at `firstAttemptAt` (the entry's first
 * attempt if it had none before). `random` is drawn once, for a retryable
 * failure only: the backoff's full jitter.
 */
export function settle(
  outbox: Outbox,
  key: string,
  result: SendResult,
  at: { readonly now: number; readonly firstAttemptAt: string },
  policy: RetryPolicy,
  random: () => number,
): { outbox: Outbox; settled: Settled } {
  const entry = find(outbox, key)
  if (!entry) return { outbox, settled: { kind: 'gone' } }
  if (result.ok) {
    // The endpoint takes notifications again: whatever pause it asked for is over.
    const holds = new Map(outbox.holds)
    holds.delete(entry.channel)
    return { outbox: { ...without(outbox, key), holds }, settled: { kind: 'sent', entry } }
  }
  const attempts = entry.attempts + 1
  if (!result.retryable) return { outbox: without(outbox, key), settled: { kind: 'dropped', entry, reason: result.reason, attempts } }
  // Capped: the endpoint may ask for a pause, not for silence.
  const retryAfter =
    result.retryAfterMs !== undefined && result.retryAfterMs > 0 ? Math.min(result.retryAfterMs, policy.maxRetryAfterMs) : 0
  const holds = new Map(outbox.holds)
  if (retryAfter > 0) holds.set(entry.channel, at.now + retryAfter)
  // At least 1 ms: a retry always goes through a timer, so a channel that
  // fails at once cannot spin the event loop on a zero jitter draw.
  const delayMs = Math.max(1, backoffDelay(attempts, policy, random), retryAfter)
  if (at.now + delayMs > Date.parse(entry.enqueuedAt) + policy.maxAgeMs) {
    const reason = `gave up after ${attempts} attempts: ${result.reason}`
    return { outbox: { entries: without(outbox, key).entries, holds }, settled: { kind: 'dropped', entry, reason, attempts } }
  }
  const next: OutboxEntry = {
    ...entry,
    attempts,
    firstAttemptAt: at.firstAttemptAt,
    nextAttemptAt: iso(at.now + delayMs),
    lastError: result.reason,
  }
  const entries = outbox.entries.map((e) => (keyOf(e) === key ? next : e))
  return { outbox: { entries, holds }, settled: { kind: 'retry', entry: next, delayMs } }
}

/** Undelivered entries per channel: `probe_notifications_pending`. */
export function pending(outbox: Outbox): Map<string, number> {
  const counts = new Map<string, number>()
  for (const entry of outbox.entries) counts.set(entry.channel, (counts.get(entry.channel) ?? 0) + 1)
  return counts
}
