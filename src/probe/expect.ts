import { isDeepStrictEqual } from 'node:util'
import { formatDuration } from '../config/duration.ts'
import { MAX_MATCHED_CHARS, type Step } from '../config/probe-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import { type Scope, renderJsonTemplate, renderTemplate } from '../config/template.ts'
import type { Fault } from './classify.ts'
import type { ExchangeResponse } from './exchange.ts'

type Expect = Step['expect']
/** The parsed JSON body; why it could not be parsed; or null when no expectation or capture reads it. */
export type JsonBody = { readonly value: unknown } | Fault | null

/** V8's JSON.parse messages end with a quote of the body: the report needs only the reason. */
const QUOTED_BODY = /, ".*$/s

/**
 * Checks a response against a step's expectations in a fixed order (status,
 * duration, headers, body, JSON) and returns the first that does not hold.
 */
export function checkExpectations(
  expect: Expect,
  response: ExchangeResponse,
  json: JsonBody,
  durationMs: number,
  scope: Scope,
  secrets: SecretMask,
): Fault | null {
  const show = shower(secrets)
  return (
    checkStatus(expect.status, response, show) ??
    checkDuration(expect.maxDuration, durationMs) ??
    checkHeaders(expect.headers, response, scope, show) ??
    checkBody(expect.body, response, scope, show) ??
    checkJson(expect.json, json, scope, show)
  )
}

/** Parses a body that an expectation or capture reads as JSON. */
export function parseJsonBody(response: ExchangeResponse): { readonly value: unknown } | Fault {
  const type = headerValue(response.headers['content-type'])
  const what = `response is not JSON (${type ? `content-type ${type.split(';', 1)[0]}` : 'no content-type'})`
  if (!response.body || response.body.length === 0) return invalidBody(`${what}: the body is empty`)
  try {
    return { value: JSON.parse(response.body.toString('utf8')) }
  } catch (error) {
    return invalidBody(`${what}: ${(error as Error).message.replace(QUOTED_BODY, '')}`)
  }
}

function checkStatus(accepted: readonly number[] | undefined, response: ExchangeResponse, show: Show): Fault | null {
  const status = response.status
  if (accepted ? accepted.includes(status) : status >= 200 && status < 300) return null
  const wanted = accepted ? `status ${oneOf(accepted)}` : 'a 2xx status'
  const location = status >= 300 && status < 400 ? headerValue(response.headers.location) : undefined
  // The target chose the location: it is shown masked and cut like any other value it sent.
  const hint = location ? ` (a redirect to ${show.text(location)}, not followed)` : ''
  return { kind: 'status', reason: 'status', detail: `expected ${wanted}, got ${status}${hint}` }
}

function checkDuration(maxDuration: number | undefined, durationMs: number): Fault | null {
  if (maxDuration === undefined || durationMs <= maxDuration) return null
  const took = durationMs >= 1_000 ? `${(durationMs / 1_000).toFixed(2)}s` : `${Math.round(durationMs)}ms`
  return mismatch(`took ${took}, longer than maxDuration ${formatDuration(maxDuration)}`)
}

function checkHeaders(expected: Expect['headers'], response: ExchangeResponse, scope: Scope, show: Show): Fault | null {
  for (const { name, matcher } of expected) {
    const actual = headerValue(response.headers[name])
    const subject = `header ${name}`
    if (matcher.kind === 'exists') {
      if (matcher.exists && actual === undefined) return mismatch(`${subject} expected to exist, found nothing`)
      if (!matcher.exists && actual !== undefined) return mismatch(`${subject} expected to be absent, got ${show(actual)}`)
    } else if (matcher.kind === 'matches') {
      if (actual === undefined) return mismatch(`${subject} expected to match ${matcher.regex}, found nothing`)
      const tooLong = overMatchCap(subject, actual)
      if (tooLong) return tooLong
      if (!matcher.regex.test(actual)) return mismatch(`${subject} expected to match ${matcher.regex}, got ${show(actual)}`)
    } else {
      const wanted = renderTemplate(matcher.template, scope)
      if (!wanted.ok) return unresolved(wanted.missing)
      if (actual !== wanted.value) return mismatch(`${subject} expected ${show(wanted.value)}, got ${show(actual)}`)
    }
  }
  return null
}

function checkBody(expected: Expect['body'], response: ExchangeResponse, scope: Scope, show: Show): Fault | null {
  if (!expected) return null
  const text = response.body?.toString('utf8') ?? ''
  if (expected.contains) {
    const needle = renderTemplate(expected.contains, scope)
    if (!needle.ok) return unresolved(needle.missing)
    if (!text.includes(needle.value)) return mismatch(`body expected to contain ${show(needle.value)}`)
  }
  if (expected.matches) {
    const tooLong = overMatchCap('body', text)
    if (tooLong) return tooLong
    if (!expected.matches.test(text)) return mismatch(`body expected to match ${expected.matches}`)
  }
  return null
}

function checkJson(expected: Expect['json'], json: JsonBody, scope: Scope, show: Show): Fault | null {
  if (expected.length === 0 || !json) return null
  if (!('value' in json)) return json
  for (const { path, matcher } of expected) {
    const found = path.select(json.value)
    const actual = found[0]
    const subject = path.source
    if (matcher.kind === 'exists') {
      if (matcher.exists && found.length === 0) return mismatch(`${subject} expected to exist, found nothing`)
      if (!matcher.exists && found.length > 0) return mismatch(`${subject} expected to be absent, got ${show(actual)}`)
    } else if (matcher.kind === 'matches') {
      if (found.length === 0) return mismatch(`${subject} expected to match ${matcher.regex}, found nothing`)
      const text = typeof actual === 'string' ? actual : JSON.stringify(actual)
      const tooLong = overMatchCap(subject, text)
      if (tooLong) return tooLong
      if (!matcher.regex.test(text)) return mismatch(`${subject} expected to match ${matcher.regex}, got ${show(actual)}`)
    } else {
      const wanted = renderJsonTemplate(matcher.value, scope)
      if (!wanted.ok) return unresolved(wanted.missing)
      if (found.length === 0) return mismatch(`${subject} expected ${show(wanted.value)}, found nothing`)
      if (!jsonEquals(wanted.value, actual)) return mismatch(`${subject} expected ${show(wanted.value)}, got ${show(actual)}`)
    }
  }
  return null
}

/**
 * RE2 is linear in the text, but a pure-JS match still costs up to 80 ms
 * per MiB on the event loop (`node bench/regex.ts`), time every other probe's
 * timings would absorb: a text over the cap fails its expectation rather than
 * being matched in part (a partial match could pass wrongly).
 */
function overMatchCap(subject: string, text: string): Fault | null {
  if (text.length <= MAX_MATCHED_CHARS) return null
  return mismatch(
    `${subject} is ${text.length} characters long, more than the ${MAX_MATCHED_CHARS} a regular expression is matched against`,
  )
}

/** Equality after templating; a templated string also matches a number or boolean that prints the same (`"{{ id }}"` vs 42). */
function jsonEquals(expected: unknown, actual: unknown): boolean {
  if (typeof expected === 'string' && (typeof actual === 'number' || typeof actual === 'boolean')) return expected === String(actual)
  return isDeepStrictEqual(expected, actual)
}

/** Longest value quoted in a failure message, so one line stays one line. */
export const MAX_SHOWN_CHARS = 100

/** Quotes a value (as JSON) or a text (as is) for a message: masked first, then shortened. */
interface Show {
  (value: unknown): string
  text(text: string): string
}

/**
 * Values go into a message masked and then cut, never cut and then masked:
 * a cut secret (the first 99 characters of a JWT) would no longer match the
 * mask that runs over the whole message later (README "Secrets").
 */
function shower(secrets: SecretMask): Show {
  const show = (value: unknown) => secrets.excerpt(JSON.stringify(value) ?? String(value), MAX_SHOWN_CHARS)
  return Object.assign(show, { text: (text: string) => secrets.excerpt(text, MAX_SHOWN_CHARS) })
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

/** A template whose value the run does not have: a capture of a step that never ran. */
export function unresolved(name: string): Fault {
  return { kind: 'capture', reason: 'template', detail: `{{ ${name} }} was never captured` }
}

function oneOf(values: readonly number[]): string {
  return values.length === 1 ? String(values[0]) : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`
}

function mismatch(detail: string): Fault {
  return { kind: 'expectation', reason: 'expectation', detail }
}

function invalidBody(detail: string): Fault {
  return { kind: 'expectation', reason: 'invalid_body', detail }
}
