/**
 * When a step is sent again (a step's `retry:`). A retry is for what a
 * second try can fix — the request never got an answer, or the answer was a
 * 5xx — never for a wrong answer: a 404 or a failed expectation is the
 * target's verdict, and retrying it would hide a real fault behind luck.
 */
import type { FailureReason, StepResult } from './result.ts'

/** The target was never heard from (or its connection broke): a second try may get through. */
const TRANSIENT_REASONS: ReadonlySet<FailureReason> = new Set(['timeout', 'dns', 'connect', 'reset', 'tls', 'transport'])

/** Least time a retry must have before the deadline, on top of its delay: less would only time out. */
export const MIN_RETRY_BUDGET_MS = 10

/** Whether a failed attempt is worth another: a transport fault, a timeout or a 5xx. */
export function isRetryable(step: StepResult): boolean {
  if (step.status !== 'failed' || !step.failure) return false
  if (TRANSIENT_REASONS.has(step.failure.reason)) return true
  return (step.response?.status ?? 0) >= 500
}

/**
 * Whether a retry after `delayMs` still fits before `deadlineAt` (performance.now()).
 * The deadline is the one the step lives under: for a step other than a cleanup
 * it already ends before the cleanup reserve, so a retry never eats into it.
 */
export function retryFits(delayMs: number, deadlineAt: number, now: number): boolean {
  return now + delayMs + MIN_RETRY_BUDGET_MS < deadlineAt
}

/** Waits `ms`; false when `signal` aborted first (the deadline or shutdown). */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
