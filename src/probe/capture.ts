import type { Step } from '../config/probe-schema.ts'
import type { Fault } from './classify.ts'
import type { ExchangeResponse } from './exchange.ts'
import { type JsonBody, headerValue } from './expect.ts'

/**
 * Reads a step's captures from its response into `into` (the run's scope).
 * Each found value is kept even when another capture, or an expectation,
 * fails: the cleanup step may still need the id of what was created.
 */
export function takeCaptures(
  captures: Step['capture'],
  response: ExchangeResponse,
  json: JsonBody,
  into: Map<string, unknown>,
): Fault | null {
  let fault: Fault | null = null
  for (const { name, source } of captures) {
    let value: unknown
    let where: string
    if (source.from === 'json') {
      if (json && !('value' in json)) {
        fault ??= json
        continue
      }
      value = json ? source.path.select(json.value)[0] : undefined
      where = source.path.source
    } else if (source.from === 'header') {
      value = headerValue(response.headers[source.header])
      where = `header ${source.header}`
    } else {
      value = response.status
      where = 'status'
    }
    const nothing = nothingIn(value)
    if (nothing !== null) fault ??= { kind: 'capture', reason: 'capture', detail: `capture ${name}: ${where} found nothing${nothing}` }
    else into.set(name, value)
  }
  return fault
}

/**
 * Why a found value counts as nothing (README "Captures"), or null for a
 * usable one. An empty string or a null would make the cleanup's
 * `DELETE /items/{{ id }}` a `DELETE /items/` (the collection); an object or
 * a list is not one value a later URL or header can hold.
 */
function nothingIn(value: unknown): string | null {
  if (value === undefined) return ''
  if (value === '') return ' (an empty string)'
  if (value === null) return ' (null)'
  if (typeof value === 'object') return Array.isArray(value) ? ' (a list, not a single value)' : ' (an object, not a single value)'
  return null
}
