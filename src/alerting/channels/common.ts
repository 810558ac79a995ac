import * as z from 'zod'
import { duration, formatDuration } from '../../config/duration.ts'
import type { SecretMask } from '../../config/secrets.ts'
import type { Notification, NotificationError, NotificationEvent } from '../notification.ts'

/** Fields every channel accepts. */
export const channelCommonFields = {
  /**
   * Time allowed for one delivery attempt: at least 100ms (`0s` would fail every attempt at once),
   * at most 5m (a longer attempt holds a notification that retries would deliver sooner). @defaultValue 10s
   */
  timeout: duration({ min: 100, max: 5 * 60_000 })
    .prefault('10s')
    .meta({
      description:
        'Time allowed for one delivery attempt: at least 100ms, at most 5m. Failed deliveries are retried with backoff (5xx, 429 and network faults; other 4xx are not).',
    }),
}

/** An http(s) URL, the rule of every HTTP channel's `url` (after its `{{ env.NAME }}` templates). */
export const httpUrl = () => z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })

/** The word every channel puts in front of a title: `FIRING`, `RESOLVED`, `REMINDER`, `TEST`. */
export const EVENT_LABEL: Readonly<Record<NotificationEvent, string>> = {
  firing: 'FIRING',
  resolved: 'RESOLVED',
  reminder: 'REMINDER',
  test: 'TEST',
}

/**
 * The notification with every free-text field masked. A failure reason can
 * quote a URL or a header that came from the environment; ids and times are
 * left alone because masking a short secret inside them would corrupt them.
 */
export function maskNotification(notification: Notification, secrets: SecretMask): Notification {
  const labels: Record<string, string> = {}
  for (const [name, value] of Object.entries(notification.labels)) labels[name] = secrets.mask(value)
  return {
    ...notification,
    summary: secrets.mask(notification.summary),
    error: notification.error && maskError(notification.error, secrets),
    labels,
    ...(notification.description === undefined ? {} : { description: secrets.mask(notification.description) }),
    ...(notification.runbook === undefined ? {} : { runbook: secrets.mask(notification.runbook) }),
  }
}

function maskError(error: NotificationError, secrets: SecretMask): NotificationError {
  const { step, message, contentType, excerpt } = error
  return {
    ...error,
    step: secrets.mask(step),
    message: secrets.mask(message),
    ...(contentType === undefined ? {} : { contentType: secrets.mask(contentType) }),
    // Already masked when the probe ran, and masked again here: the one place every channel's text passes.
    ...(excerpt === undefined ? {} : { excerpt: secrets.mask(excerpt) }),
  }
}

/**
 * The caller's signal bounded by the channel's own `timeout`, so one attempt
 * ends in time even when the caller passed a signal without a deadline.
 * `describeAbort()` tells the channel's deadline apart from the caller's abort.
 */
export function attemptSignal(signal: AbortSignal, timeoutMs: number): { signal: AbortSignal; describeAbort: () => string } {
  const deadline = AbortSignal.timeout(timeoutMs)
  return {
    signal: AbortSignal.any([signal, deadline]),
    describeAbort: () => {
      if (deadline.aborted) return `timed out after ${formatDuration(timeoutMs)}`
      // AbortSignal.timeout() aborts with a TimeoutError, abort() with an AbortError; a caller
      // may pass its own Error (the delivery wrapper's says which timeout ran out).
      const reason: unknown = signal.reason
      if (!(reason instanceof Error) || reason.name === 'AbortError') return 'aborted'
      return reason.name === 'TimeoutError' ? 'timed out' : reason.message || 'aborted'
    },
  }
}

/** One line of at most `max` characters, cut with an ellipsis like Alertmanager's TruncateInRunes. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text)
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`
}

/** One home for a run failure's one-line text, shared with the status page. */
export { failureText } from '../../probe/failure-text.ts'

/** `team=storefront, tier=1`, or `none`. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}=${value}`)
  return pairs.length > 0 ? pairs.join(', ') : 'none'
}

/** `[name, value]` sorted by name: a destination that does not depend on the order keys were written in. */
export function sortedEntries(record: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}
