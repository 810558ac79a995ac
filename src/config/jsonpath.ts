import { JSONPath } from 'jsonpath-plus'
import * as z from 'zod'

/** A JSONPath compiled at load: `select` returns every match (empty when none). */
export interface CompiledJsonPath {
  readonly source: string
  select(document: unknown): unknown[]
}

const SIMPLE_SEGMENT = /^[^.*?()@:,[\]]+$/

/** Compiles `$.data.items[0].id`-style paths to direct lookups; anything richer goes through jsonpath-plus. */
export function compileJsonPath(source: string): CompiledJsonPath | string {
  if (!source.startsWith('$')) return 'a JSONPath starts with "$", as in $.data.id'
  if (!bracketsBalanced(source)) return 'unbalanced brackets'
  const segments = JSONPath.toPathArray(source).slice(1)
  if (segments.every((s) => SIMPLE_SEGMENT.test(s))) {
    return { source, select: (document) => lookup(document, segments) }
  }
  return {
    source,
    select: (document) => {
      if (document === null || typeof document !== 'object') return []
      return JSONPath({ path: source, json: document, wrap: true, eval: 'safe' }) as unknown[]
    },
  }
}

function lookup(document: unknown, segments: readonly string[]): unknown[] {
  let node = document
  for (const segment of segments) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return []
    node = (node as Record<string, unknown>)[segment]
  }
  return [node]
}

function bracketsBalanced(source: string): boolean {
  let depth = 0
  let quote: string | null = null
  for (const ch of source) {
    if (quote) {
      if (ch === quote) quote = null
    } else if (ch === '"' || ch === "'") quote = ch
    else if (ch === '[') depth++
    else if (ch === ']' && --depth < 0) return false
  }
  return depth === 0 && quote === null
}

export const JsonPathText = z
  .string()
  .meta({ description: 'A JSONPath into the response body, e.g. $.data.id' })
  .transform((text, ctx) => {
    const compiled = compileJsonPath(text)
    if (typeof compiled === 'string') {
      ctx.addIssue({ code: 'custom', message: `invalid JSONPath ${JSON.stringify(text)}: ${compiled}` })
      return z.NEVER
    }
    return compiled
  })
