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
 * These rules are pure, in `outbox.ts`; this module keeps the timers, the
 * attempts in flight and their abort signals.
 */
import type { Logger } from '../log.ts'
import type { Channel, SendResult } from './channel.ts'
import type { Notification, NotificationEvent } from './notification.ts'
import * as box from './outbox.ts'
import type { OutboxEntry } from './outbox.ts'
import { attemptOnce, DEFAULT_RETRY, type RetryPolicy } from './retry.ts'

export type { OutboxEntry } from './outbox.ts'
export { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './retry.ts'

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
  readonly onResult?: (channel: string, event: NotificationEvent, result: DeliveryResult, notification: Notification) => void
  /** An entry was given up; the caller may need to undo what it assumed delivered. */
  readonly onDrop?: (entry: OutboxEntry, reason: string) => void
  /** The number of undelivered notifications per channel, after every change of the outbox: feeds `probe_notifications_pending`. */
  readonly onPending?: (pending: ReadonlyMap<string, number>) => void
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
  let outbox: box.Outbox = box.EMPTY_OUTBOX
  const staged = new Set<string>()
  const inFlight = new Map<string, InFlight>()
  /** The last delivery error logged per channel: a repeating error is logged when it changes. */
  const lastError = new Map<string, string>()
  let settleWaiters: (() => void)[] = []
  let timer: NodeJS.Timeout | null = null
  let nextWake = Number.POSITIVE_INFINITY
  let closed = false

  /** The channel an entry goes to: the current one under its name, or the retired one it was queued for. */
  function route(channel: string, identity: string | null): { channel: Channel; timeoutMs: number } | null {
    const current = identities.get(channel) ?? null
    if (identity === null || current === null || identity === current) {
      const found = channels.get(channel)
      return found ? { channel: found, timeoutMs: found.timeoutMs } : null
    }
    return retired.get(box.destinationOf(channel, identity)) ?? null
  }

  /** Every change of the outbox is reported: the pending counts live here, with the outbox. */
  function changed(next: box.Outbox): void {
    const before = outbox.entries
    outbox = next
    if (next.entries !== before) deps.onPending?.(box.pending(next))
  }

  function pump(): void {
    if (closed) return
    const pass = box.due(outbox, now(), retry, {
      staged,
      inFlight,
      unroutable: (entry) => box.unroutable(entry, route(entry.channel, entry.identity)?.channel, channels.has(entry.channel)),
      parked: (entry) => box.parked(route(entry.channel, entry.identity)?.channel, channels.has(entry.channel)),
    })
    changed(pass.outbox)
    nextWake = pass.wake
    for (const decision of pass.decisions)
      if (decision.kind === 'drop') dropped(decision.key, decision.entry, decision.reason, decision.attempts)
      else attempt(decision.key, decision.entry, decision.lane)
    forgetRetired()
    arm()
  }

  /** A retired destination with nothing left queued (or in flight) for it is forgotten. */
  function forgetRetired(): void {
    if (retired.size === 0) return
    const wanted = new Set(outbox.entries.map((entry) => box.destinationOf(entry.channel, entry.identity)))
    for (const destination of retired.keys()) if (!wanted.has(destination)) retired.delete(destination)
  }

  function arm(): void {
    if (timer) clearTimeout(timer)
    timer = null
    if (closed || nextWake === Number.POSITIVE_INFINITY) return
    timer = setTimeout(pump, Math.min(MAX_TIMER_MS, Math.max(0, nextWake - now())))
    timer.unref()
  }

  function attempt(key: string, entry: OutboxEntry, lane: string): void {
    const target = route(entry.channel, entry.identity)
    if (!target) return // `due` gives up whatever cannot be routed
    const { channel, timeoutMs } = target
    const controller = new AbortController()
    const firstAttemptAt = entry.firstAttemptAt ?? new Date(now()).toISOString()
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
    const { outbox: next, settled } = box.settle(outbox, key, result, { now: now(), firstAttemptAt }, retry, random)
    changed(next)
    if (settled.kind === 'gone') return
    const { channel, notification } = settled.entry
    if (settled.kind === 'sent') {
      if (lastError.delete(channel)) logger.info({ channel }, 'notification delivery recovered')
      logger.debug({ channel, probe: notification.probe, event: notification.event, id: notification.id }, 'notification sent')
      deps.onResult?.(channel, notification.event, 'sent', notification)
      persist()
      return
    }
    // Every failed attempt counts, as Alertmanager's notifications_failed_total does: a channel
    // that is down shows in the metrics within minutes, not when the entry is given up.
    deps.onResult?.(channel, notification.event, 'failed', notification)
    if (settled.kind === 'dropped') {
      dropped(key, settled.entry, settled.reason, settled.attempts)
      return
    }
    const { attempts, lastError: reason } = settled.entry
    if (reason !== null && lastError.get(channel) !== reason) {
      lastError.set(channel, reason)
      const retryInMs = settled.delayMs
      logger.warn(
        { channel, probe: notification.probe, event: notification.event, attempts, retryInMs, reason },
        'notification delivery failed; will retry',
      )
    }
    persist()
  }

  /** An entry given up, already out of the outbox: what remains is telling. */
  function dropped(key: string, entry: OutboxEntry, reason: string, attempts: number): void {
    staged.delete(key)
    const { notification } = entry
    logger.error(
      { channel: entry.channel, probe: notification.probe, event: notification.event, id: notification.id, attempts, reason },
      'notification dropped',
    )
    deps.onResult?.(entry.channel, notification.event, 'dropped', notification)
    deps.onDrop?.(entry, reason)
    persist()
  }

  function enqueue(channelName: string, notification: Notification, identity?: string | null): boolean {
    const addressed = identity === undefined ? (identities.get(channelName) ?? null) : identity
    const channel = route(channelName, addressed)?.channel
    if (!channel?.events.has(notification.event)) return false
    const entry = box.entryOf(channelName, addressed, notification, now())
    const next = box.add(outbox, entry, inFlight.get(box.laneOf(entry))?.key)
    for (const key of next.superseded) staged.delete(key)
    if (next.outbox !== outbox) changed(next.outbox)
    if (!next.added) return false
    staged.add(box.keyOf(entry))
    return true
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
      outbox = box.restore(outbox, entries)
      // Reported even when nothing was restored: the counts exist from the start.
      deps.onPending?.(box.pending(outbox))
    },
    entries: () => [...outbox.entries],
    setChannels(nextChannels, nextIdentities) {
      const next = nextIdentities ?? new Map<string, string>()
      // A destination that goes away stays reachable for what is queued for it (forgotten at the next pump otherwise).
      for (const [name, identity] of identities) {
        const channel = channels.get(name)
        if (channel && next.get(name) !== identity) {
          retired.set(box.destinationOf(name, identity), { channel, timeoutMs: channel.timeoutMs })
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
