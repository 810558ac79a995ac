/**
 * The one delivery wrapper around every channel (Alertmanager's
 * `notify/retry_stage.go`): a persisted outbox, a per-attempt timeout,
 * exponential backoff with full jitter, `Retry-After`, retries only for
 * retryable failures, and a bound after which an entry is given up.
 *
 * Ordering: the outbox is FIFO per lane, a lane being one incident on one
 * channel, so a resolve never overtakes its firing. Lanes are independent: a
 * channel that is down, or an incident whose attempt hangs, delays nothing
 * else, and `enqueue` never waits for the network.
 *
 * Supersession: when the resolve arrives while that channel's firing is still
 * undelivered, both are delivered, in order. PagerDuty drops a resolve for an
 * alert it never saw and Alertmanager merges by time, so both need the trigger
 * first; for email and webhooks the pair is an honest record of a short outage.
 * Only a queued reminder is superseded: a newer event of its incident replaces it.
 */
import type { Logger } from '../log.ts'
import type { Channel, SendResult } from './channel.ts'
import type { Notification, NotificationEvent } from './notification.ts'
import { attemptOnce, backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './retry.ts'

export { backoffDelay, DEFAULT_ATTEMPT_TIMEOUT_MS, DEFAULT_RETRY, type RetryPolicy } from './retry.ts'

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

/**
 * `sent`: delivered. `failed`: one attempt failed, retried or not. `dropped`:
 * the entry was given up (not retryable, too old, channel gone); nothing more
 * will be tried for it.
 */
export type DeliveryResult = 'sent' | 'failed' | 'dropped'

export interface DeliveryDeps {
  readonly channels: ReadonlyMap<string, Channel>
  /** Each channel's destination hash (see OutboxEntry.identity); none known: every entry goes by name. */
  readonly identities?: ReadonlyMap<string, string>
  readonly logger: Logger
  /** Called whenever the outbox changed; the caller writes it (coalesced) to the state file. */
  readonly persist: () => void
  /** Each delivered notification ('sent'), each failed attempt ('failed') and each entry given up ('dropped'): `probe_notifications_total`. */
  readonly onResult?: (channel: string, event: NotificationEvent, result: DeliveryResult) => void
  /** An entry was given up; the caller may need to undo what it assumed delivered. */
  readonly onDrop?: (entry: OutboxEntry, reason: string) => void
  readonly now?: () => number
  readonly random?: () => number
  readonly retry?: Partial<RetryPolicy>
}

export interface Delivery {
  /**
   * Queues a notification for a channel, unless the channel takes no such
   * event or the same notification is already queued. It is held until
   * `kick()`, so the caller can persist it before any attempt. `identity`
   * addresses one destination of the channel (default: the current one); a
   * destination replaced by `setChannels` stays reachable while entries for
   * it are queued.
   */
  enqueue(channel: string, notification: Notification, identity?: string | null): boolean
  /** Releases what was enqueued and attempts whatever is due. */
  kick(): void
  /** Puts entries read from the state file back, in their order. */
  restore(entries: readonly OutboxEntry[]): void
  entries(): OutboxEntry[]
  setChannels(channels: ReadonlyMap<string, Channel>, identities?: ReadonlyMap<string, string>): void
  /** For shutdown: attempts what falls due within `budgetMs`, then aborts what is still in flight. */
  flush(budgetMs: number): Promise<void>
  close(): Promise<void>
}

/** setTimeout's limit; a longer wait is re-armed when the timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

interface InFlight {
  readonly key: string
  readonly channel: string
  readonly controller: AbortController
  readonly done: Promise<void>
}

export function createDelivery(deps: DeliveryDeps): Delivery {
  const now = deps.now ?? Date.now
  const random = deps.random ?? Math.random
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...deps.retry }
  const { logger, persist } = deps
  let channels = deps.channels
  let identities: ReadonlyMap<string, string> = deps.identities ?? new Map()
  /**
   * Channels replaced by a reload with another destination, by name and old
   * identity: kept while entries for them (the resolve of an incident they
   * were paged for) are queued, then forgotten.
   */
  const retired = new Map<string, { readonly channel: Channel; readonly timeoutMs: number }>()
  /** Insertion order is delivery order within a lane. */
  const outbox = new Map<string, OutboxEntry>()
  const staged = new Set<string>()
  const inFlight = new Map<string, InFlight>()
  /** A channel's `Retry-After`: the endpoint asked for a pause, for every lane. */
  const holds = new Map<string, number>()
  /** The last delivery error logged per channel: a repeating error is logged when it changes. */
  const lastError = new Map<string, string>()
  let settleWaiters: (() => void)[] = []
  let timer: NodeJS.Timeout | null = null
  let nextWake = Number.POSITIVE_INFINITY
  let closed = false

  const destinationOf = (channel: string, identity: string | null) => `${channel}\u0000${identity ?? ''}`
  const keyOf = (channel: string, identity: string | null, id: string) => `${destinationOf(channel, identity)}\u0000${id}`
  // A lane per destination: an old destination that is down delays nothing for the new one.
  const laneOf = (entry: OutboxEntry) => `${destinationOf(entry.channel, entry.identity)}\u0000${entry.notification.incidentId}`

  /** The channel an entry goes to: the current one under its name, or the retired one it was queued for. */
  function route(channel: string, identity: string | null): { channel: Channel; timeoutMs: number } | null {
    const current = identities.get(channel) ?? null
    if (identity === null || current === null || identity === current) {
      const found = channels.get(channel)
      return found ? { channel: found, timeoutMs: found.timeoutMs } : null
    }
    return retired.get(destinationOf(channel, identity)) ?? null
  }
  const iso = (ms: number) => new Date(ms).toISOString()

  function pump(): void {
    if (closed) return
    const at = now()
    const seen = new Set<string>()
    nextWake = Number.POSITIVE_INFINITY
    for (const [key, entry] of outbox) {
      const lane = laneOf(entry)
      // Only the head of a lane may go: FIFO per incident and channel.
      if (seen.has(lane)) continue
      seen.add(lane)
      if (staged.has(key) || inFlight.has(lane)) continue
      const target = route(entry.channel, entry.identity)
      if (!target?.channel.events.has(entry.notification.event)) {
        // Configuration changed under a queued entry (reload, or restart with a new file).
        drop(key, entry, unroutable(entry, target?.channel), entry.attempts)
        seen.delete(lane)
        continue
      }
      // The age bound holds for an entry that is waiting too (behind a hold, a
      // long backoff, or a restored far-off retry), not only after an attempt.
      const expires = Date.parse(entry.enqueuedAt) + retry.maxAgeMs
      if (expires <= at) {
        drop(key, entry, `gave up after ${entry.attempts} attempts: not delivered within ${retry.maxAgeMs} ms`, entry.attempts)
        seen.delete(lane)
        continue
      }
      const due = Math.max(Date.parse(entry.nextAttemptAt), holdOf(entry.channel, at))
      if (due > at) {
        nextWake = Math.min(nextWake, due, expires)
        continue
      }
      if (inFlightOn(entry.channel) >= retry.maxInFlightPerChannel) continue
      attempt(key, entry, target.channel, target.timeoutMs, lane)
    }
    forgetRetired()
    arm()
  }

  function unroutable(entry: OutboxEntry, channel: Channel | undefined): string {
    if (channel) return `channel no longer takes ${entry.notification.event} events`
    if (channels.has(entry.channel)) return 'channel configuration changed; its former destination can no longer be reached'
    return 'channel no longer configured'
  }

  /** A retired destination with nothing left queued (or in flight) for it is forgotten. */
  function forgetRetired(): void {
    if (retired.size === 0) return
    const wanted = new Set([...outbox.values()].map((entry) => destinationOf(entry.channel, entry.identity)))
    for (const destination of retired.keys()) if (!wanted.has(destination)) retired.delete(destination)
  }

  /** A channel's pause, forgotten once it has passed. */
  function holdOf(channel: string, at: number): number {
    const until = holds.get(channel)
    if (until === undefined) return 0
    if (until > at) return until
    holds.delete(channel)
    return 0
  }

  function arm(): void {
    if (timer) clearTimeout(timer)
    timer = null
    if (closed || nextWake === Number.POSITIVE_INFINITY) return
    timer = setTimeout(pump, Math.min(MAX_TIMER_MS, Math.max(0, nextWake - now())))
    timer.unref()
  }

  function inFlightOn(channel: string): number {
    let count = 0
    for (const flight of inFlight.values()) if (flight.channel === channel) count++
    return count
  }

  function attempt(key: string, entry: OutboxEntry, channel: Channel, timeoutMs: number, lane: string): void {
    const controller = new AbortController()
    const firstAttemptAt = entry.firstAttemptAt ?? iso(now())
    const done = attemptOnce(channel, entry.notification, controller, timeoutMs).then((result) => {
      inFlight.delete(lane)
      settle(key, result, firstAttemptAt)
      const waiters = settleWaiters
      settleWaiters = []
      for (const wake of waiters) wake()
      pump()
    })
    inFlight.set(lane, { key, channel: entry.channel, controller, done })
  }

  function settle(key: string, result: SendResult, firstAttemptAt: string): void {
    const entry = outbox.get(key)
    if (!entry) return
    const { channel, notification } = entry
    if (result.ok) {
      outbox.delete(key)
      // The endpoint takes notifications again: whatever pause it asked for is over.
      holds.delete(channel)
      if (lastError.delete(channel)) logger.info({ channel }, 'notification delivery recovered')
      logger.debug({ channel, probe: notification.probe, event: notification.event, id: notification.id }, 'notification sent')
      deps.onResult?.(channel, notification.event, 'sent')
      persist()
      return
    }
    const attempts = entry.attempts + 1
    if (!result.retryable) {
      deps.onResult?.(channel, notification.event, 'failed')
      drop(key, entry, result.reason, attempts)
      return
    }
    const at = now()
    // Capped: the endpoint may ask for a pause, not for silence.
    const retryAfter =
      result.retryAfterMs !== undefined && result.retryAfterMs > 0 ? Math.min(result.retryAfterMs, retry.maxRetryAfterMs) : 0
    if (retryAfter > 0) holds.set(channel, at + retryAfter)
    // At least 1 ms: a retry always goes through a timer, so a channel that
    // fails at once cannot spin the event loop on a zero jitter draw.
    const delay = Math.max(1, backoffDelay(attempts, retry, random), retryAfter)
    if (at + delay > Date.parse(entry.enqueuedAt) + retry.maxAgeMs) {
      deps.onResult?.(channel, notification.event, 'failed')
      drop(key, entry, `gave up after ${attempts} attempts: ${result.reason}`, attempts)
      return
    }
    outbox.set(key, { ...entry, attempts, firstAttemptAt, nextAttemptAt: iso(at + delay), lastError: result.reason })
    // Every failed attempt counts, as Alertmanager's notifications_failed_total does: a channel
    // that is down shows in the metrics within minutes, not when the entry is given up.
    deps.onResult?.(channel, notification.event, 'failed')
    if (lastError.get(channel) !== result.reason) {
      lastError.set(channel, result.reason)
      logger.warn(
        { channel, probe: notification.probe, event: notification.event, attempts, retryInMs: delay, reason: result.reason },
        'notification delivery failed; will retry',
      )
    }
    persist()
  }

  function drop(key: string, entry: OutboxEntry, reason: string, attempts: number): void {
    outbox.delete(key)
    staged.delete(key)
    const { notification } = entry
    logger.error(
      { channel: entry.channel, probe: notification.probe, event: notification.event, id: notification.id, attempts, reason },
      'notification dropped',
    )
    deps.onResult?.(entry.channel, notification.event, 'dropped')
    deps.onDrop?.(entry, reason)
    persist()
  }

  function enqueue(channelName: string, notification: Notification, identity?: string | null): boolean {
    const addressed = identity === undefined ? (identities.get(channelName) ?? null) : identity
    const channel = route(channelName, addressed)?.channel
    const key = keyOf(channelName, addressed, notification.id)
    if (!channel?.events.has(notification.event)) return false
    if (outbox.has(key)) {
      undoAfter(key)
      return false
    }
    const at = iso(now())
    const entry: OutboxEntry = {
      channel: channelName,
      identity: addressed,
      notification,
      attempts: 0,
      enqueuedAt: at,
      firstAttemptAt: null,
      nextAttemptAt: at,
      lastError: null,
    }
    supersedeReminders(laneOf(entry))
    outbox.set(key, entry)
    staged.add(key)
    return true
  }

  /**
   * The same notification queued again (its id is per incident and event),
   * while newer events of its incident were queued behind it: a channel
   * dropped and listed again (resolve, then firing) or the reverse, all
   * while undelivered. The receiver is to end where the queued one leaves
   * it, so what came after it is undone; skipping the repeat instead would
   * leave the receiver in the state of the entry behind it (a firing after
   * the incident's last resolve).
   */
  function undoAfter(key: string): void {
    const entry = outbox.get(key) as OutboxEntry
    const lane = laneOf(entry)
    let after = false
    for (const [other, queued] of outbox) {
      if (other === key) after = true
      else if (after && laneOf(queued) === lane) {
        outbox.delete(other)
        staged.delete(other)
      }
    }
  }

  /** A reminder not yet attempted says less than the newer event behind it. */
  function supersedeReminders(lane: string): void {
    const flying = inFlight.get(lane)?.key
    for (const [key, entry] of outbox) {
      if (entry.notification.event === 'reminder' && laneOf(entry) === lane && key !== flying) {
        outbox.delete(key)
        staged.delete(key)
      }
    }
  }

  async function stopInFlight(reason: string): Promise<void> {
    const flights = [...inFlight.values()]
    for (const flight of flights) flight.controller.abort(new Error(reason))
    await Promise.all(flights.map((flight) => flight.done))
  }

  async function flush(budgetMs: number): Promise<void> {
    const deadline = now() + budgetMs
    staged.clear()
    pump()
    // Bounded by the deadline: each round waits for an attempt to settle or the next entry to fall due.
    while (!closed && (inFlight.size > 0 || nextWake <= deadline)) {
      const remaining = deadline - now()
      if (remaining <= 0) break
      await waitForChange(Math.min(remaining, Math.max(1, nextWake - now())))
      pump()
    }
    await stopInFlight('aborted: shutting down')
    persist()
  }

  function waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wait = setTimeout(done, ms)
      function done() {
        clearTimeout(wait)
        resolve()
      }
      settleWaiters.push(done)
    })
  }

  return {
    enqueue,
    kick() {
      staged.clear()
      pump()
    },
    restore(entries) {
      for (const entry of entries) {
        const key = keyOf(entry.channel, entry.identity, entry.notification.id)
        if (!outbox.has(key)) outbox.set(key, entry)
      }
    },
    entries: () => [...outbox.values()],
    setChannels(nextChannels, nextIdentities) {
      const next = nextIdentities ?? new Map<string, string>()
      // A destination that goes away stays reachable for what is queued for it (forgotten at the next pump otherwise).
      for (const [name, identity] of identities) {
        const channel = channels.get(name)
        if (channel && next.get(name) !== identity) {
          retired.set(destinationOf(name, identity), { channel, timeoutMs: channel.timeoutMs })
        }
      }
      channels = nextChannels
      identities = next
      pump()
    },
    flush,
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      timer = null
      await stopInFlight('aborted: shutting down')
      persist()
    },
  }
}
