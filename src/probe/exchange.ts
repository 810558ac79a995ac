import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import { request } from './undici.ts'
import { percentDecoded, type SecretMask } from '../config/secrets.ts'
import { type Fault, type Phase, bodyTooLarge, classifyError } from './classify.ts'
import type { Connection, ConnectionWatch } from './connections.ts'
import { contentLength, readBody, untilAborted } from './http.ts'
import type { RenderedRequest } from './request.ts'
import type { StepTimings } from './result.ts'

/** What one step's exchange may use: its dispatcher, its deadline, its limits. */
export interface ExchangeContext {
  readonly dispatcher: Dispatcher
  /** Absent with an injected dispatcher: then there are no connection phases to see. */
  readonly watch: ConnectionWatch | undefined
  /** Aborts at the step's deadline, or at shutdown. */
  readonly signal: AbortSignal
  readonly shutdown: AbortSignal | undefined
  /** performance.now() by which the step must be done. */
  readonly deadlineAt: number
  /** The time the step was given, for timeout messages. */
  readonly budgetMs: number
  readonly maxBodySize: number
  readonly keepBody: boolean
  readonly maxRedirects: number
  /** Quoted text is masked before it is shortened. */
  readonly secrets: SecretMask
}

export interface ExchangeResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly bytes: number
  readonly body: Buffer | null
  /** The start of the body (http.ts HEAD_BYTES), kept for a failure's excerpt. */
  readonly head: Buffer
}

/** What a step saw of a response: the evidence a failure carries. */
export interface SeenResponse {
  readonly status: number
  readonly bytes: number
  readonly headers: IncomingHttpHeaders
  readonly head: Buffer
}

/** Where followed redirects led, when they did. */
export interface Redirected {
  /** The URL of the last request sent (unmasked; the step masks it). */
  readonly url: string
  /** Headers left out after the step's origin was left, for the failure message. */
  readonly notSent: readonly string[]
}

export type ExchangeOutcome = (
  | { readonly kind: 'response'; readonly response: ExchangeResponse; readonly timings: StepTimings }
  | {
      readonly kind: 'fault'
      readonly fault: Fault
      readonly response?: SeenResponse
      readonly timings: StepTimings
    }
  | { readonly kind: 'aborted'; readonly timings: StepTimings }
) & { readonly redirected?: Redirected }

type Timings = { -readonly [K in keyof StepTimings]: StepTimings[K] }

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const BODY_HEADERS = ['content-type', 'content-length', 'transfer-encoding']

const MAX_QUOTED_CHARS = 200

/** One request of a step: the first, or one following a redirect. */
interface Hop {
  readonly url: URL
  readonly method: string
  readonly headers: Record<string, string>
  readonly body: string | undefined
  readonly secretHeaders: ReadonlySet<string>
  readonly secretBody: boolean
  /** The origin the step's own URL has: its secrets may go there, and nowhere else. */
  readonly origin: string
  readonly notSent: readonly string[]
}

/**
 * Sends a step's request and reads its response, following redirects only
 * when the step asks for them. Never throws: wire faults come back as values.
 */
export async function exchange(rendered: RenderedRequest, context: ExchangeContext): Promise<ExchangeOutcome> {
  const timings: Timings = {}
  const url = parseTarget(rendered.url, context.secrets)
  if (typeof url === 'string') return { kind: 'fault', fault: { kind: 'transport', reason: 'transport', detail: url }, timings }
  let hop: Hop = { ...rendered, url, origin: url.origin, notSent: [] }
  const seen = context.maxRedirects > 0 ? new Set([url.href]) : null
  // Once a redirect was followed, every outcome says where it ended.
  const done = (outcome: ExchangeOutcome, hops: number): ExchangeOutcome =>
    hops === 0 ? outcome : { ...outcome, redirected: { url: hop.url.href, notSent: hop.notSent } }
  for (let hops = 0; ; hops++) {
    const sent = await send(hop, context, timings)
    if ('kind' in sent) return done(sent, hops)
    const { response } = sent
    const location = seen && REDIRECT_STATUSES.has(response.statusCode) ? response.headers.location : undefined
    if (!seen || typeof location !== 'string') return done(await receive(sent, hop, context, timings), hops)
    await response.body.dump().catch(() => {})
    const next = nextHop(hop, response.statusCode, location, hops, context, seen)
    if (typeof next === 'string')
      return done({ kind: 'fault', fault: { kind: 'transport', reason: 'redirect', detail: next }, timings }, hops)
    hop = next
  }
}

/** Sends one request and waits for the response headers, noting the connection phases it went through. */
async function send(
  hop: Hop,
  context: ExchangeContext,
  timings: Timings,
): Promise<{ response: Dispatcher.ResponseData; headersAt: number } | ExchangeOutcome> {
  context.watch?.take()
  const sentAt = performance.now()
  let response: Dispatcher.ResponseData
  const { url, headers } = userInfoCredentials(hop.url, hop.headers)
  try {
    const sent = request(url, {
      dispatcher: context.dispatcher,
      method: hop.method as Dispatcher.HttpMethod,
      headers,
      body: hop.body,
      signal: context.signal,
      // The step's signal already aborts at its deadline, in every phase; undici's own
      // timers would only race it, at the cost of two timers per request.
      headersTimeout: 0,
      bodyTimeout: 0,
    })
    response = await untilAborted(sent, context.signal)
  } catch (error) {
    const opened = context.watch?.take() ?? []
    addConnectionPhases(timings, opened)
    const phase: Phase = opened.some((c) => c.readyAt === 0) ? 'connect' : 'headers'
    return failed(error, phase, hop.url, context, timings)
  }
  const headersAt = performance.now()
  const connection = addConnectionPhases(timings, context.watch?.take() ?? [])
  timings.firstByteMs = round(headersAt - Math.max(sentAt, connection?.readyAt ?? 0))
  return { response, headersAt }
}

/** Reads the final response's body within the cap. */
async function receive(
  sent: { response: Dispatcher.ResponseData; headersAt: number },
  hop: Hop,
  context: ExchangeContext,
  timings: Timings,
): Promise<ExchangeOutcome> {
  const { response } = sent
  // A HEAD, 204 or 304 response announces a length it does not send.
  const bodiless = hop.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304
  const announced = bodiless ? -1 : contentLength(response.headers)
  const read = await readBody(response.body, context.maxBodySize, context.keepBody, announced)
  timings.transferMs = round(performance.now() - sent.headersAt)
  const seen = { status: response.statusCode, bytes: read.bytes, headers: response.headers, head: read.head }
  if (read.tooLarge) return { kind: 'fault', fault: bodyTooLarge(context.maxBodySize), response: seen, timings }
  if (read.error !== undefined) {
    const outcome = failed(read.error, 'body', hop.url, context, timings)
    return outcome.kind === 'fault' ? { ...outcome, response: seen } : outcome
  }
  return { kind: 'response', response: { ...seen, body: read.data }, timings }
}

/**
 * A URL's user-info sent as `Basic` credentials, as curl and browsers send it
 * (undici would drop it without a word), so the step and its `reproduce:`
 * curl line send the same request. Percent-escapes are decoded as curl does;
 * an `authorization` header of the step's own wins. The URL sent holds no
 * user-info either way.
 */
export function userInfoCredentials(url: URL, headers: Readonly<Record<string, string>>): { url: URL; headers: Record<string, string> } {
  if (url.username === '' && url.password === '') return { url, headers: { ...headers } }
  const bare = new URL(url.href)
  bare.username = ''
  bare.password = ''
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) return { url: bare, headers: { ...headers } }
  const credentials = Buffer.from(`${percentDecoded(url.username)}:${percentDecoded(url.password)}`).toString('base64')
  return { url: bare, headers: { ...headers, authorization: `Basic ${credentials}` } }
}

function parseTarget(text: string, secrets: SecretMask): URL | string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return `invalid URL ${quote(text, secrets)}`
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : `unsupported URL scheme ${url.protocol}`
}

function failed(error: unknown, phase: Phase, url: URL, context: ExchangeContext, timings: StepTimings): ExchangeOutcome {
  if (context.shutdown?.aborted) return { kind: 'aborted', timings }
  const address = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`
  const fault = classifyError(error, { phase, host: url.hostname, address, budgetMs: context.budgetMs, maxBodySize: context.maxBodySize })
  return { kind: 'fault', fault, timings }
}

/** The request a redirect leads to, or why the chain ends here. */
function nextHop(hop: Hop, status: number, location: string, hops: number, context: ExchangeContext, seen: Set<string>): Hop | string {
  const { maxRedirects, secrets } = context
  if (hops >= maxRedirects) return `too many redirects (more than ${maxRedirects})`
  let url: URL
  try {
    url = new URL(location, hop.url)
  } catch {
    return `redirect to an invalid URL ${quote(location, secrets)}`
  }
  if (seen.has(url.href)) return `redirect loop (${secrets.excerpt(url.href, MAX_QUOTED_CHARS)} seen twice)`
  seen.add(url.href)
  let { method, headers, body } = hop
  // 303 always, and 301/302 after a POST, turn into a GET without a body (the fetch standard's rule).
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET'
    body = undefined
    headers = without(headers, BODY_HEADERS)
  }
  if (hop.url.protocol === 'https:' && url.protocol === 'http:') {
    return `redirect from https to http refused (${secrets.excerpt(url.href, MAX_QUOTED_CHARS)})`
  }
  let { notSent } = hop
  if (url.origin !== hop.origin) {
    // Leaving the step's origin: what holds a secret stays behind (README "Redirects"). A body
    // cannot be left out of a request that keeps its method and body, so that hop is refused.
    if (body !== undefined && (hop.secretBody || secrets.holds(body))) {
      return `redirect to another origin (${secrets.excerpt(url.origin, MAX_QUOTED_CHARS)}) refused: the request body holds a secret`
    }
    const dropped = Object.entries(headers)
      .filter(([name, value]) => hop.secretHeaders.has(name) || secrets.holds(value))
      .map(([name]) => name)
    headers = without(headers, dropped)
    notSent = [...new Set([...notSent, ...dropped])]
  }
  return { ...hop, url, method, headers, body, notSent }
}

/**
 * Adds the DNS, connect and TLS phases of the connections a request opened
 * (none when it reused a socket) and returns the one it used.
 */
function addConnectionPhases(timings: Timings, opened: readonly Connection[]): Connection | undefined {
  for (const c of opened) {
    if (c.lookupAt > 0) timings.dnsMs = round((timings.dnsMs ?? 0) + c.lookupAt - c.startedAt)
    if (c.connectedAt > 0) timings.connectMs = round((timings.connectMs ?? 0) + c.connectedAt - (c.lookupAt || c.startedAt))
    if (c.secureAt > 0) timings.tlsMs = round((timings.tlsMs ?? 0) + c.secureAt - c.connectedAt)
  }
  return opened.at(-1)
}

function without(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  const out = { ...headers }
  for (const name of names) delete out[name]
  return out
}

/** A URL for a message: masked, then shortened (the other order could show a secret's first characters). */
function quote(text: string, secrets: SecretMask): string {
  return secrets.excerpt(JSON.stringify(text), MAX_QUOTED_CHARS)
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
