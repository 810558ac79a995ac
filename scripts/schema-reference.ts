/**
 * Turns a JSON Schema of a config file into reference rows (field path,
 * type, default, description) and Markdown tables. The words come from a
 * table of field descriptions; a field without one is an error, so a new
 * field cannot ship undocumented.
 */

import { DURATION_PATTERNS } from '../src/config/duration.ts'

export interface JsonSchema {
  readonly type?: string | readonly string[]
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: readonly string[]
  readonly additionalProperties?: JsonSchema | boolean
  readonly items?: JsonSchema
  readonly anyOf?: readonly JsonSchema[]
  readonly oneOf?: readonly JsonSchema[]
  readonly allOf?: readonly JsonSchema[]
  readonly enum?: readonly unknown[]
  readonly const?: unknown
  readonly default?: unknown
  readonly pattern?: string
  readonly minimum?: number
  readonly maximum?: number
  readonly minItems?: number
  readonly $ref?: string
  description?: string
}

export interface Row {
  readonly path: string
  readonly type: string
  readonly required: boolean
  readonly default: string
  readonly description: string
}

export interface Docs {
  /** Field path (`steps[].request.method`) → what it means. */
  readonly fields: Readonly<Record<string, string>>
  /** Map-valued field path → the name shown for its keys (`labels` → `<label>`). */
  readonly keys: Readonly<Record<string, string>>
  /** Field path → a type in words where the schema's own would be a wall of text. */
  readonly types: Readonly<Record<string, string>>
}

/** zod writes the safe-integer range on plain `z.int()`; it says nothing to a reader. */
const SAFE_INT = 9007199254740991

/** Every documented field below `node`, depth first, in declaration order. */
export function referenceRows(node: JsonSchema, docs: Docs, path = ''): Row[] {
  const rows: Row[] = []
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (key === '$schema') continue
    const childPath = join(path, key)
    rows.push(row(child, docs, childPath, node.required?.includes(key) ?? false), ...referenceRows(child, docs, childPath))
  }
  const values = node.additionalProperties
  if (typeof values === 'object' && hasFields(values)) {
    const entryPath = join(path, docs.keys[path] ?? '<name>')
    rows.push(row(values, docs, entryPath, false), ...referenceRows(values, docs, entryPath))
  }
  if (node.items && hasFields(node.items)) rows.push(...referenceRows(node.items, docs, `${path}[]`))
  // The fields of one alternative are required only once that alternative is chosen: not marked.
  for (const option of node.anyOf ?? []) {
    if (option.properties) rows.push(...referenceRows(option, docs, path).map((r) => ({ ...r, required: false })))
  }
  return rows
}

function hasFields(node: JsonSchema): boolean {
  return node.properties !== undefined || (node.anyOf ?? node.oneOf ?? []).some((option) => option.properties !== undefined)
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

function row(node: JsonSchema, docs: Docs, path: string, required: boolean): Row {
  const description = docs.fields[path]
  if (description === undefined) throw new Error(`no description for ${path}: add one to scripts/schema-docs.ts`)
  node.description = description
  const type = docs.types[path] ?? typeText(node)
  return { path, type, required, default: node.default === undefined ? '' : formatDefault(node.default), description }
}

export function typeText(node: JsonSchema): string {
  if (node.$ref || node.allOf) return 'any JSON value'
  if (node.const !== undefined) return JSON.stringify(node.const)
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' | ')
  const options = node.anyOf ?? node.oneOf
  if (options) return options.map(typeText).join(' or ')
  if (typeof node.type !== 'string') return node.type ? node.type.join(' or ') : 'any'
  switch (node.type) {
    case 'string':
      return node.pattern !== undefined && DURATION_PATTERNS.includes(node.pattern) ? 'duration' : 'string'
    case 'integer':
      return `integer${range(node)}`
    case 'array':
      return `list of ${node.items ? typeText(node.items) : 'values'}${node.minItems ? ` (at least ${node.minItems})` : ''}`
    case 'object':
      if (node.properties) return `{ ${Object.keys(node.properties).join(', ')} }`
      return typeof node.additionalProperties === 'object' ? `map of ${typeText(node.additionalProperties)}` : 'map'
    default:
      return node.type
  }
}

function range(node: JsonSchema): string {
  const min = node.minimum !== undefined && Math.abs(node.minimum) !== SAFE_INT ? node.minimum : undefined
  const max = node.maximum !== undefined && Math.abs(node.maximum) !== SAFE_INT ? node.maximum : undefined
  if (min !== undefined && max !== undefined) return ` ${min}–${max}`
  if (min !== undefined) return ` ≥ ${min}`
  return max !== undefined ? ` ≤ ${max}` : ''
}

function formatDefault(value: unknown): string {
  if (typeof value === 'string') return value
  if (value !== null && typeof value === 'object' && Object.keys(value).length === 0) return Array.isArray(value) ? '[]' : '{}'
  return JSON.stringify(value)
}

/** A Markdown table of rows. */
export function markdownTable(rows: readonly Row[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')
  const lines = ['| Field | Type | Default | Description |', '|---|---|---|---|']
  for (const r of rows) {
    const field = `\`${r.path}\`${r.required ? ' (required)' : ''}`
    lines.push(`| ${field} | ${cell(r.type)} | ${r.default === '' ? '' : `\`${r.default}\``} | ${cell(r.description)} |`)
  }
  return lines.join('\n')
}
