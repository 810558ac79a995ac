import type { SecretMask } from '../../config/secrets.ts'
import type { SendResult } from '../channel.ts'
import { attemptSignal } from './common.ts'

export const USER_AGENT = 'smokeprobe'

/** How much of an error response body a reason quotes. */
const SNIPPET_BYTES = 300

/**
 * The longest pause a `Retry-After` may ask for. The value comes from the
 * endpoint, so it is untrusted: one `Retry-After: 99999999` must not silence
 * a channel for years. A minute covers real rate limits (Slack, PagerDuty).
 */
export const MAX_RETRY_AFTER_MS = 60_000

export interface PostOptions {
  readonly fetch: typeof fetch
  readonly secrets: SecretMask
  readonly timeoutMs: number
  readonly signal: AbortSignal
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * One JSON POST, classified the way Alertmanager's retry stage does: 2xx ok;
 * 429, 408 and 5xx retryable; a network fault or timeout retryable; any
 * other answer (a redirect, 4xx) not, because sending it again gets the same.
 * The reason names no URL and passes the secret mask.
 */
export async function postJson(url: string, body: unknown, options: PostOptions): Promise<SendResult> {
  const mask = (reason: string) => options.secrets.mask(reason)
  let request: Request
  try {
    // Built first, so a header the user mistyped is told apart from a wire fault.
    const headers = new Headers({ 'content-type': 'application/json', 'user-agent': USER_AGENT })
    // `set` replaces case-insensitively: a configured header wins over a default, the last one over earlier ones.
    for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value)
    request = new Request(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      // A POST redirected by fetch turns into a GET; the user should configure the final URL instead.
      redirect: 'manual',
    })
  } catch (error) {
    return { ok: false, retryable: false, reason: mask(`invalid request: ${errorText(error)}`) }
  }
  const attempt = attemptSignal(options.signal, options.timeoutMs)
  try {
    const response = await options.fetch(request, { signal: attempt.signal })
    let snippet = ''
    if (response.ok) await response.body?.cancel()
    else snippet = await readSnippet(response)
    return classifyResponse(response.status, response.headers.get('retry-after'), snippet, mask)
  } catch (error) {
    if (attempt.signal.aborted) return { ok: false, retryable: true, reason: mask(attempt.describeAbort()) }
    return { ok: false, retryable: true, reason: mask(`request failed: ${networkErrorText(error)}`) }
  }
}

export function classifyResponse(status: number, retryAfter: string | null, snippet: string, mask: (text: string) => string): SendResult {
  if (status >= 200 && status < 300) return { ok: true }
  const reason = mask(snippet ? `HTTP ${status}: ${snippet}` : `HTTP ${status}`)
  if (status >= 300 && status < 400) {
    return { ok: false, retryable: false, reason: `${reason} (redirects are not followed: configure the final URL)` }
  }
  if (status === 429 || status === 408 || status >= 500) {
    const parsed = retryAfter === null ? undefined : parseRetryAfter(retryAfter, Date.now())
    const retryAfterMs = parsed === undefined ? undefined : Math.min(parsed, MAX_RETRY_AFTER_MS)
    return retryAfterMs === undefined ? { ok: false, retryable: true, reason } : { ok: false, retryable: true, reason, retryAfterMs }
  }
  return { ok: false, retryable: false, reason }
}

/** `Retry-After` as milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string, now: number): number | undefined {
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1_000
  // Every HTTP-date form starts with a day name; Date.parse alone would take "-5" or "1.5" for a date.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The start of an error body, on one line; the rest is discarded unread. */
async function readSnippet(response: Response): Promise<string> {
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    // Bounded: stops after SNIPPET_BYTES or at the end of the body.
    while (size < SNIPPET_BYTES) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } catch {
    // A body cut short still leaves what was read.
  } finally {
    void reader.cancel().catch(() => {})
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks).subarray(0, SNIPPET_BYTES))
  return text.replace(/\s+/g, ' ').trim()
}

/** `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9` from fetch's `TypeError('fetch failed')` and its cause. */
function networkErrorText(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    return typeof code === 'string' && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message
  }
  return errorText(error)
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
