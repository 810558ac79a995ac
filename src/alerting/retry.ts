/**
 * One delivery attempt and the retry arithmetic around it: the parts of the
 * delivery wrapper that know nothing about the outbox.
 */
import type { Channel, SendResult } from './channel.ts'
import type { Notification } from './notification.ts'

export interface RetryPolicy {
  /** First retry within [0, base); doubles per attempt. @defaultValue 1 s */
  readonly baseDelayMs: number
  /** @defaultValue 5 min */
  readonly maxDelayMs: number
  /** An entry not delivered this long after it was enqueued is given up and counted as failed. @defaultValue 24 h */
  readonly maxAgeMs: number
  /** Concurrent attempts per channel (one per incident at most). @defaultValue 8 */
  readonly maxInFlightPerChannel: number
  /**
   * The longest pause a channel's `Retry-After` may impose: the endpoint may
   * ask for a pause, not for silence. @defaultValue 60 s
   */
  readonly maxRetryAfterMs: number
}

export const DEFAULT_RETRY: RetryPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  maxAgeMs: 86_400_000,
  maxInFlightPerChannel: 8,
  maxRetryAfterMs: 60_000,
}

/** Full jitter (AWS "Exponential Backoff And Jitter"): uniform in [0, min(max, base·2^(n-1))). */
export function backoffDelay(attempts: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1))
  return Math.floor(random() * ceiling)
}

/**
 * One attempt under its own deadline. The race makes the deadline hold even
 * for a channel that ignores its signal; a throw is a channel bug, retried
 * like a network fault rather than losing the notification.
 */
export async function attemptOnce(
  channel: Channel,
  notification: Notification,
  controller: AbortController,
  timeoutMs: number,
): Promise<SendResult> {
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
  const aborted = new Promise<SendResult>((resolve) => {
    controller.signal.addEventListener('abort', () => resolve({ ok: false, retryable: true, reason: abortReason(controller.signal) }), {
      once: true,
    })
  })
  try {
    const sent = channel.send(notification, controller.signal).catch(
      (err: unknown): SendResult => ({
        ok: false,
        retryable: true,
        reason: `channel error: ${err instanceof Error ? err.message : String(err)}`,
      }),
    )
    return await Promise.race([sent, aborted])
  } finally {
    clearTimeout(timer)
  }
}

function abortReason(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : 'aborted'
}
