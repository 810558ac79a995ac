/**
 * The world around the daemon in the fault-timeline test: an in-memory file
 * system for the state directory (so every write settles in microtasks and a
 * seed replays exactly), and the receivers behind the channels — PagerDuty
 * services (one per routing key), webhook endpoints (one per URL) and an
 * Alertmanager — reached through an injected `fetch`, each answering as its
 * current fault mode says and recording what it accepted.
 */
import { basename, dirname } from 'node:path'

// ---------------------------------------------------------------- file system

function fsError(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${path}`), { code })
}

/** What `src/alerting/store.ts` uses of `node:fs/promises`, in memory. */
export class MemFs {
  readonly files = new Map<string, string>()

  async mkdir(_path: string, _options?: unknown): Promise<undefined> {
    return undefined
  }

  async open(path: string, flags = 'r', _mode?: number) {
    if (flags === 'wx') {
      if (this.files.has(path)) throw fsError('EEXIST', path)
      this.files.set(path, '')
    }
    return {
      writeFile: async (text: string) => void this.files.set(path, text),
      sync: async () => undefined,
      close: async () => undefined,
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const text = this.files.get(from)
    if (text === undefined) throw fsError('ENOENT', from)
    this.files.delete(from)
    this.files.set(to, text)
  }

  async rm(path: string, _options?: unknown): Promise<void> {
    this.files.delete(path)
  }

  async readdir(dir: string): Promise<string[]> {
    return [...this.files.keys()].filter((path) => dirname(path) === dir).map((path) => basename(path))
  }

  async lstat(path: string): Promise<{ isFile: () => boolean; isDirectory: () => boolean }> {
    const file = this.files.has(path)
    const dir = !file && [...this.files.keys()].some((name) => name.startsWith(`${path}/`))
    if (!file && !dir) throw fsError('ENOENT', path)
    return { isFile: () => file, isDirectory: () => dir }
  }

  async readFile(path: string, _encoding?: unknown): Promise<string> {
    const text = this.files.get(path)
    if (text === undefined) throw fsError('ENOENT', path)
    return text
  }
}

export const memFs = new MemFs()

// ------------------------------------------------------------------ receivers

/** How a channel's endpoint answers each attempt. */
export type Mode =
  | { readonly kind: 'up' }
  | { readonly kind: 'down' }
  | { readonly kind: 'throttle'; readonly retryAfterS: number }
  | { readonly kind: 'reject' }

export type ChannelName = 'pd' | 'hook' | 'am'
export const CHANNEL_NAMES: readonly ChannelName[] = ['pd', 'hook', 'am']
export type Variant = 'a' | 'b'

/** Secrets as the configuration loader would have collected them. */
export const DATA_SECRET = 'tok-9f8e7d6c5b4a3921'
export const ROUTING_KEYS: Readonly<Record<Variant, string>> = { a: 'rk-aaaa1111aaaa1111', b: 'rk-bbbb2222bbbb2222' }
export const HOOK_TOKENS: Readonly<Record<Variant, string>> = { a: 'hk-aaaa3333aaaa', b: 'hk-bbbb4444bbbb' }
export const PD_URL = 'http://pd.test/v2/enqueue'
export const hookUrl = (variant: Variant) => `http://hook-${variant}.test/in?token=${HOOK_TOKENS[variant]}`
export const AM_URL = 'http://am.test/'

/** One notification a receiver accepted, normalised across protocols. */
export interface Delivery {
  /** The receiver: `pd#a` (routing key a), `hook#b` (URL b), `am`. */
  readonly service: string
  readonly event: 'firing' | 'resolved' | 'reminder'
  /** incidentId (webhook), dedup_key (PagerDuty), label set (Alertmanager). */
  readonly key: string
  /** Known from the payload (webhook, PagerDuty trigger, Alertmanager), else null (PagerDuty resolve). */
  readonly probe: string | null
  readonly since: string | null
  readonly step: number
  readonly at: number
}

/** Alertmanager's view: the latest post per label set. */
export interface AmAlert {
  readonly probe: string
  readonly labels: string
  readonly startsAt: string
  readonly endsAt: string
}

/** Far more than any timeline needs (Alertmanager re-sends each minute, retries back off to a minute). */
export const MAX_REQUESTS = 20_000

export class World {
  readonly modes = new Map<ChannelName, Mode>(CHANNEL_NAMES.map((name) => [name, { kind: 'up' }]))
  readonly deliveries: Delivery[] = []
  /** Every request body any receiver saw, accepted or not: the secret check reads these. */
  readonly bodies: { service: string; body: string }[] = []
  /** Notifications a receiver refused with a 4xx: `${service} ${key|probe|since} ${event}`. */
  readonly rejected: { service: string; event: string; probe: string | null; since: string | null; key: string; step: number }[] = []
  readonly am = new Map<string, AmAlert>()
  /** The alerter's `onNotification` counts (`probe_notifications_total`), by `${channel} ${event} ${result}`. */
  readonly outcomes = new Map<string, number>()
  step = 0
  /** Requests any receiver got in this timeline. */
  requests = 0

  outcome(channel: string, event: string, result: string): void {
    const key = `${channel} ${event} ${result}`
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1)
  }

  /** A fetch for one daemon process; once `kill()`ed, the process reaches nobody. */
  fetchFor(): { fetch: typeof fetch; kill: () => void } {
    let alive = true
    const fetchFn = async (input: RequestInfo | URL, _init?: RequestInit): Promise<Response> => {
      const request = input instanceof Request ? input : new Request(input, _init)
      const body = await request.text()
      // A delivery loop that spins without a timer would hang the test: stop answering, and say so.
      if (++this.requests > MAX_REQUESTS) return new Promise<Response>(() => undefined)
      if (!alive) throw new TypeError('fetch failed', { cause: Object.assign(new Error('process is dead'), { code: 'EDEAD' }) })
      return this.#receive(new URL(request.url), body)
    }
    const kill = () => {
      alive = false
    }
    return { fetch: fetchFn as typeof fetch, kill }
  }

  #receive(url: URL, body: string): Response {
    const channel: ChannelName = url.host === 'pd.test' ? 'pd' : url.host === 'am.test' ? 'am' : 'hook'
    const mode = this.modes.get(channel) ?? { kind: 'up' }
    if (mode.kind === 'down') {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })
    }
    const parsed = JSON.parse(body) as unknown
    const items = this.#normalise(channel, url, parsed)
    for (const item of items) this.bodies.push({ service: item.service, body })
    if (items.length === 0) this.bodies.push({ service: channel, body })
    if (mode.kind === 'throttle') return new Response('slow down', { status: 429, headers: { 'retry-after': String(mode.retryAfterS) } })
    if (mode.kind === 'reject') {
      for (const item of items) this.rejected.push({ ...item, step: this.step })
      return new Response('{"status":"invalid event"}', { status: 400 })
    }
    const at = Date.now()
    for (const item of items) {
      if (process.env.FAULT_DEBUG)
        process.stderr.write(
          `${new Date(at).toISOString()} ${item.service} ${item.event} ${item.probe}@${item.since} ${item.alert?.endsAt ?? ''}\n`,
        )
      if (item.alert) this.am.set(item.key, item.alert)
      else this.deliveries.push({ ...item, step: this.step, at })
    }
    return new Response(channel === 'pd' ? '{"status":"success"}' : '', { status: channel === 'pd' ? 202 : 200 })
  }

  #normalise(
    channel: ChannelName,
    url: URL,
    json: unknown,
  ): { service: string; event: Delivery['event']; key: string; probe: string | null; since: string | null; alert?: AmAlert }[] {
    if (channel === 'pd') {
      const event = json as {
        routing_key: string
        event_action: string
        dedup_key: string
        payload?: { component: string; custom_details: { since: string } }
      }
      const variant = event.routing_key === ROUTING_KEYS.a ? 'a' : event.routing_key === ROUTING_KEYS.b ? 'b' : '?'
      return [
        {
          service: `pd#${variant}`,
          event: event.event_action === 'resolve' ? 'resolved' : 'firing',
          key: event.dedup_key,
          probe: event.payload?.component ?? null,
          since: event.payload?.custom_details.since ?? null,
        },
      ]
    }
    if (channel === 'hook') {
      const variant = url.host === 'hook-a.test' ? 'a' : url.host === 'hook-b.test' ? 'b' : '?'
      const payload = json as { event: string; incidentId: string; probe: string; since: string }
      if (payload.event === 'test') return []
      return [
        {
          service: `hook#${variant}`,
          event: payload.event as Delivery['event'],
          key: payload.incidentId,
          probe: payload.probe,
          since: payload.since,
        },
      ]
    }
    const alerts = json as { labels: Record<string, string>; startsAt: string; endsAt: string }[]
    return alerts.map((alert) => {
      const labels = JSON.stringify(Object.entries(alert.labels).sort(([a], [b]) => a.localeCompare(b)))
      const probe = alert.labels.probe ?? ''
      return {
        service: 'am',
        event: 'firing' as const,
        key: labels,
        probe,
        since: alert.startsAt,
        alert: { probe, labels, startsAt: alert.startsAt, endsAt: alert.endsAt },
      }
    })
  }
}
