import { pino } from 'pino'
import type { Channel, SendResult } from '../../src/alerting/channel.ts'
import type { Notification, NotificationEvent } from '../../src/alerting/notification.ts'
import type { Logger } from '../../src/log.ts'

export type Responder = (notification: Notification, signal: AbortSignal) => SendResult | Promise<SendResult>

export interface FakeChannel extends Channel {
  /** Every attempt, in order. */
  readonly attempts: Notification[]
  /** Attempts that were answered ok. */
  readonly sent: Notification[]
  readonly resumed: (readonly Notification[])[]
  respond: Responder
}

export const OK: Responder = () => ({ ok: true })
export const DOWN: Responder = () => ({ ok: false, retryable: true, reason: 'connect ECONNREFUSED 127.0.0.1:9' })
/** Settles only when the wrapper aborts the attempt. */
export const HANG: Responder = (_n, signal) =>
  new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve({ ok: false, retryable: true, reason: 'aborted' }), { once: true }),
  )
/** Never settles at all, even when aborted: a channel with a bug. */
export const BLACK_HOLE: Responder = () => new Promise(() => undefined)

const ALL_EVENTS: NotificationEvent[] = ['firing', 'resolved', 'reminder', 'test']

export function fakeChannel(
  name: string,
  options: { respond?: Responder; events?: NotificationEvent[]; levelTriggered?: boolean; type?: string; timeoutMs?: number } = {},
): FakeChannel {
  const channel: FakeChannel = {
    name,
    type: options.type ?? 'webhook',
    timeoutMs: options.timeoutMs ?? 2_000,
    events: new Set(options.events ?? ALL_EVENTS),
    attempts: [],
    sent: [],
    resumed: [],
    respond: options.respond ?? OK,
    async send(notification, signal) {
      channel.attempts.push(notification)
      const result = await channel.respond(notification, signal)
      if (result.ok) channel.sent.push(notification)
      return result
    },
  }
  if (options.levelTriggered) {
    return Object.assign(channel, {
      levelTriggered: true,
      resume: (firing: readonly Notification[]) => void channel.resumed.push(firing),
    })
  }
  return channel
}

export interface LogLine {
  readonly level: number
  readonly msg: string
  readonly [field: string]: unknown
}

/** A debug-level logger whose lines land parsed in `lines`. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) })
  return { logger, lines }
}

export function notification(overrides: Partial<Notification> = {}): Notification {
  return {
    id: 'inc1-firing',
    event: 'firing',
    probe: 'items-crud',
    location: null,
    incidentId: 'inc1',
    since: '2026-03-01T10:00:00.000Z',
    at: '2026-03-01T10:04:00.000Z',
    consecutiveFailures: 5,
    summary: 'FIRING items-crud: read: expected status 200, got 500',
    error: { step: 'read', message: 'read: expected status 200, got 500' },
    labels: {},
    ...overrides,
  }
}

/** Polls a condition on real timers; bounded. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
