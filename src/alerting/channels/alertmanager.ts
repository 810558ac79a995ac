import * as z from 'zod'
import { duration } from '../../config/duration.ts'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { ChannelCore, ChannelDefinition, ChannelDeps, SendResult } from '../channel.ts'
import type { Notification } from '../notification.ts'
import { type AlertmanagerAlert, amAlert, testAlert } from './alertmanager-alert.ts'
import { channelCommonFields, httpUrl, sortedEntries } from './common.ts'
import { postJson } from './http.ts'

/** Prometheus keeps re-sending a resolved alert this long (rules/alerting.go resolvedRetention). */
export const RESOLVED_RETENTION_MS = 15 * 60_000

function schema(context: TemplateContext) {
  const Url = envString(context).pipe(httpUrl())
  return z.strictObject({
    type: z.literal('alertmanager').meta({
      description:
        'Prometheus Alertmanager API v2 (`POST /api/v2/alerts`), alert `ProbeFailing` with labels `probe`, `location` and the probe’s labels.',
    }),
    ...channelCommonFields,
    url: z
      .union([Url, z.array(Url).min(1)])
      .transform((u) => (Array.isArray(u) ? u : [u]))
      .meta({ description: 'One Alertmanager, or every member of an HA cluster: each is sent every alert (never load-balanced).' }),
    /**
     * How often firing alerts are re-sent (as Prometheus does): at least 1s (`0s` re-posted in a busy
     * loop, and `endsAt`, 4 intervals ahead, expired the alert), at most 10m, so that a resolved alert is
     * re-sent at least once within RESOLVED_RETENTION_MS. @defaultValue 1m
     */
    resendInterval: duration({ min: 1_000, max: 10 * 60_000 })
      .prefault('1m')
      .meta({
        description:
          'How often firing alerts are re-sent, with `endsAt` 4 intervals ahead (as Prometheus does): at least 1s, at most 10m, so that a resolved alert, re-sent for 15 minutes, is re-sent at least once.',
      }),
    labels: z.record(z.string(), z.string()).default({}).meta({ description: 'Extra labels on every alert, e.g. `severity: page`.' }),
  })
}

export type AlertmanagerConfig = z.output<ReturnType<typeof schema>>

/** What the channel still tells Alertmanager about one probe. */
interface Entry {
  readonly notification: Notification
  /** Wall-clock ms after which a resolved alert is no longer re-sent; null while firing. */
  readonly keepUntil: number | null
}

/**
 * Alertmanager is level-triggered (notes alert-protocols §2): an alert lives
 * only while its sender keeps re-sending it, and Alertmanager keeps nothing
 * across its own restart. So the channel holds the current alert per probe and
 * re-posts all of them every `resendInterval`, as Prometheus does; a failed
 * post needs no retry queue, the next re-send is the retry.
 *
 * Every URL is posted to (an HA cluster is never load-balanced). `send` is ok
 * when at least one member accepted: any member that has the alert notifies,
 * and the members that missed it get it at the next re-send. Retrying the
 * whole post through the delivery wrapper instead would hold a notification
 * that has already paged as undelivered while one member is down for
 * maintenance. Per-member failures are logged when they change.
 */
export class AlertmanagerChannel implements ChannelCore {
  readonly name: string
  readonly levelTriggered = true
  readonly events: ReadonlySet<Notification['event']> = new Set(['firing', 'resolved', 'test'])
  readonly #config: AlertmanagerConfig
  readonly #deps: ChannelDeps
  readonly #entries = new Map<string, Entry>()
  readonly #lastReason = new Map<string, string | null>()
  readonly #closed = new AbortController()
  #timer: NodeJS.Timeout | null = null
  #resending: Promise<void> | null = null

  constructor(config: AlertmanagerConfig, deps: ChannelDeps) {
    this.name = deps.name
    this.#config = config
    this.#deps = deps
  }

  async send(n: Notification, signal: AbortSignal): Promise<SendResult> {
    const now = Date.now()
    if (n.event === 'test') return this.#post([testAlert(n, this.#config.labels)], signal)
    // Delivery orders per incident, not per probe: after an outage an older incident's firing or
    // resolve may arrive after a newer incident's firing. It says nothing about the alert any more.
    if (this.#superseded(n)) return { ok: true }
    const key = keyOf(n)
    const previous = this.#entries.get(key)
    const entry: Entry = { notification: n, keepUntil: n.event === 'resolved' ? now + RESOLVED_RETENTION_MS : null }
    this.#entries.set(key, entry)
    this.#startTimer()
    const result = await this.#post([this.#alertOf(entry, now)], signal)
    // A firing refused for good is given up by the delivery, and the channel counts as not paged
    // (it gets no resolve): re-sending it would keep the alert firing in Alertmanager forever.
    if (!result.ok && !result.retryable && n.event !== 'resolved' && this.#entries.get(key) === entry) {
      // Nothing of this incident is kept; an older incident's resolve still runs out its retention.
      if (previous && previous.notification.since !== n.since) this.#entries.set(key, previous)
      else this.#entries.delete(key)
    }
    return result
  }

  /** After a restart: what is still firing is re-sent at once, and then every interval. */
  resume(firing: readonly Notification[]): void {
    for (const n of firing) {
      if (n.event !== 'firing' && n.event !== 'reminder') continue
      if (!this.#superseded(n)) this.#entries.set(keyOf(n), { notification: n, keepUntil: null })
    }
    if (this.#entries.size === 0) return
    this.#startTimer()
    void this.resendNow()
  }

  /** One round of re-sending every alert still held; returns once it settled. Skipped while one is running. */
  resendNow(): Promise<void> {
    this.#resending ??= this.#resend().finally(() => {
      this.#resending = null
    })
    return this.#resending
  }

  async close(): Promise<void> {
    this.#stopTimer()
    this.#closed.abort()
    await this.#resending
  }

  async #resend(): Promise<void> {
    const now = Date.now()
    for (const [key, entry] of this.#entries) {
      if (entry.keepUntil !== null && entry.keepUntil <= now) this.#entries.delete(key)
    }
    if (this.#entries.size === 0) return this.#stopTimer()
    const alerts = [...this.#entries.values()].map((entry) => this.#alertOf(entry, now))
    await this.#post(alerts, this.#closed.signal)
  }

  /**
   * The channel holds one alert per probe and location, and a probe's
   * incidents follow each other: the one that started later is the current
   * one, whatever order their notifications arrive in.
   */
  #superseded(n: Notification): boolean {
    const current = this.#entries.get(keyOf(n))
    return current !== undefined && current.notification.since > n.since
  }

  #alertOf(entry: Entry, now: number): AlertmanagerAlert {
    // As Prometheus: valid for four re-send intervals, so two lost posts do not resolve the alert.
    const endsAt = entry.keepUntil === null ? new Date(now + 4 * this.#config.resendInterval).toISOString() : entry.notification.at
    return amAlert(entry.notification, this.#config.labels, endsAt)
  }

  async #post(alerts: readonly AlertmanagerAlert[], signal: AbortSignal): Promise<SendResult> {
    const results = await Promise.all(
      this.#config.url.map(async (base) => {
        const result = await postJson(alertsEndpoint(base), alerts, {
          fetch: this.#deps.fetch ?? fetch,
          secrets: this.#deps.secrets,
          timeoutMs: this.#config.timeout,
          signal,
        })
        const member = this.#deps.secrets.mask(base)
        this.#noteOutcome(member, result)
        return { member, result }
      }),
    )
    if (results.some(({ result }) => result.ok)) return { ok: true }
    const failures = results.flatMap(({ member, result }) => (result.ok ? [] : [{ member, ...result }]))
    return {
      ok: false,
      retryable: failures.some((f) => f.retryable),
      reason: failures.map((f) => (failures.length > 1 ? `${f.member}: ${f.reason}` : f.reason)).join('; '),
    }
  }

  /** Logs a member's failure when it starts or changes, and its recovery: not every re-send. */
  #noteOutcome(member: string, result: SendResult): void {
    const reason = result.ok ? null : result.reason
    const last = this.#lastReason.get(member) ?? null
    this.#lastReason.set(member, reason)
    if (reason === last) return
    const fields = { channel: this.name, alertmanager: member }
    if (reason === null) this.#deps.logger.info(fields, 'alertmanager accepts alerts again')
    else this.#deps.logger.warn({ ...fields, reason }, 'alertmanager post failed')
  }

  #startTimer(): void {
    if (this.#timer || this.#closed.signal.aborted) return
    // unref: re-sending alone must not keep the process alive.
    this.#timer = setInterval(() => void this.resendNow(), this.#config.resendInterval).unref()
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
  }
}

/** `http://am:9093/prefix` → `http://am:9093/prefix/api/v2/alerts` (a route prefix is kept). */
export function alertsEndpoint(base: string): string {
  return new URL('api/v2/alerts', base.endsWith('/') ? base : `${base}/`).href
}

function keyOf(n: Notification): string {
  return `${n.probe}\u0000${n.location ?? ''}`
}

export const alertmanager: ChannelDefinition<ReturnType<typeof schema>> = {
  schema,
  destination: (config) => ({ url: [...config.url].sort(), labels: sortedEntries(config.labels) }),
  create: (config, deps) => new AlertmanagerChannel(config, deps),
}
