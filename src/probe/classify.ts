import { formatDuration } from '../config/duration.ts'
import type { FailureKind, FailureReason } from './result.ts'

/** A step's failure before it is named: what went wrong, in plain words, without the step prefix. */
export interface Fault {
  readonly kind: FailureKind
  readonly reason: FailureReason
  readonly detail: string
}

/** Where in the exchange an error struck: it decides what a timeout message says the step was waiting for. */
export type Phase = 'connect' | 'headers' | 'body'

export interface FaultContext {
  readonly phase: Phase
  /** The host name, for DNS messages. */
  readonly host: string
  /** `host:port`, for connection messages. */
  readonly address: string
  /** The time the step was allowed, for timeout messages. */
  readonly budgetMs: number
  readonly maxBodySize: number
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA'])

/** OpenSSL's verification codes, as a person would say them. */
const TLS_PROBLEMS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain ends in an untrusted self-signed root',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  CERT_NOT_YET_VALID: 'TLS certificate is not valid yet',
  CERT_REVOKED: 'TLS certificate has been revoked',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate is signed by an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'TLS certificate is signed by an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS certificate is signed by an unknown authority',
  CERT_SIGNATURE_FAILURE: 'TLS certificate signature is invalid',
}

/** Turns whatever undici or Node threw for a request into a Fault; never throws. */
export function classifyError(error: unknown, context: FaultContext): Fault {
  const code = errorCode(error)
  if (errorName(error) === 'TimeoutError' || TIMEOUT_CODES.has(code)) return timedOut(context)
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return bodyTooLarge(context.maxBodySize)
  if (DNS_CODES.has(code)) return transport('dns', `DNS lookup failed for ${context.host}`)
  switch (code) {
    case 'EAI_AGAIN':
      return transport('dns', `DNS lookup failed for ${context.host} (temporary failure, EAI_AGAIN)`)
    case 'ECONNREFUSED':
      return transport('connect', `connection refused (${context.address})`)
    case 'EHOSTUNREACH':
      return transport('connect', `host unreachable (${context.address})`)
    case 'ENETUNREACH':
      return transport('connect', `network unreachable (${context.address})`)
    case 'ECONNRESET':
      return transport('reset', 'connection reset by the server')
    case 'EPIPE':
      return transport('reset', 'connection closed by the server while the request was being sent')
    case 'UND_ERR_SOCKET':
      return transport('reset', 'connection closed by the server before the response was complete')
  }
  const tlsProblem = TLS_PROBLEMS[code]
  if (tlsProblem) return transport('tls', `${tlsProblem} (${code})`)
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') {
    return transport('tls', `TLS handshake failed (${code})`)
  }
  if (code.startsWith('HPE_')) return transport('transport', `the server sent an invalid HTTP response (${code})`)
  const message = errorMessage(error)
  return transport('transport', code && !message.includes(code) ? `${message} (${code})` : message)
}

export function timedOut(context: Pick<FaultContext, 'phase' | 'address' | 'budgetMs'>): Fault {
  const waiting =
    context.phase === 'connect'
      ? `connecting to ${context.address}`
      : context.phase === 'headers'
        ? 'waiting for response headers'
        : 'reading the response body'
  return { kind: 'timeout', reason: 'timeout', detail: `timed out after ${formatBudget(context.budgetMs)} ${waiting}` }
}

export function bodyTooLarge(maxBodySize: number): Fault {
  return { kind: 'body_too_large', reason: 'body_too_large', detail: `body too large (more than ${maxBodySize} bytes)` }
}

function transport(reason: FailureReason, detail: string): Fault {
  return { kind: 'transport', reason, detail }
}

/** A budget as a person reads it: `2s`, `7.5s`, `250ms` (timers are not more precise than that anyway). */
function formatBudget(ms: number): string {
  return ms >= 1_000 ? formatDuration(Math.round(ms / 100) * 100) : `${Math.max(0, Math.round(ms))}ms`
}

function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return ''
  const { code, errors } = error as { code?: unknown; errors?: unknown }
  if (typeof code === 'string') return code
  // Happy-eyeballs connects fail with an AggregateError of one error per address.
  if (Array.isArray(errors) && errors.length > 0) return errorCode(errors[0])
  return ''
}

function errorName(error: unknown): string {
  return typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string'
    ? (error as { name: string }).name
    : ''
}

function errorMessage(error: unknown): string {
  if (error instanceof Error && error.message) return error.message
  return String(error)
}
