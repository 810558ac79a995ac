/**
 * Sends one request outside any probe run (a journaled cleanup, a sweep's
 * list and deletes): its own agent, its own timeout, the same exchange and
 * limits a step has (redirects, body cap, secrets kept to their origin).
 */
import { Agent } from '../probe/undici.ts'
import type { SecretMask } from '../config/secrets.ts'
import { type ExchangeOutcome, exchange } from '../probe/exchange.ts'
import type { RenderedRequest } from '../probe/request.ts'

export interface SendOptions {
  readonly timeoutMs: number
  readonly maxBodySize: number
  readonly maxRedirects: number
  readonly insecure: boolean
  /** Keep (and return) the body: a list page is read, a delete's answer is not. */
  readonly keepBody: boolean
  readonly secrets: SecretMask
  readonly shutdown?: AbortSignal
}

export async function sendRequest(request: RenderedRequest, options: SendOptions): Promise<ExchangeOutcome> {
  const agent = new Agent({
    allowH2: false,
    connections: 1,
    maxResponseSize: options.maxBodySize,
    connect: { timeout: options.timeoutMs, rejectUnauthorized: !options.insecure },
  })
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.shutdown ? AbortSignal.any([timeout, options.shutdown]) : timeout
  try {
    return await exchange(request, {
      dispatcher: agent,
      watch: undefined,
      signal,
      shutdown: options.shutdown,
      deadlineAt: performance.now() + options.timeoutMs,
      budgetMs: options.timeoutMs,
      maxBodySize: options.maxBodySize,
      keepBody: options.keepBody,
      maxRedirects: options.maxRedirects,
      secrets: options.secrets,
    })
  } finally {
    await agent.destroy().catch(() => {})
  }
}

/** One line for a log or a report: the status, or the fault's words. */
export function outcomeText(outcome: ExchangeOutcome): string {
  if (outcome.kind === 'response') return `HTTP ${outcome.response.status}`
  if (outcome.kind === 'aborted') return 'aborted: shutting down'
  return outcome.response ? `HTTP ${outcome.response.status}: ${outcome.fault.detail}` : outcome.fault.detail
}
