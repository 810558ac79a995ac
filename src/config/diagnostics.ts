import type * as z from 'zod'
import { describeSchema, joinAlternatives, kindDescription, objectKeys, schemaAt, unionOptions } from './schema-walk.ts'

/** One problem in one file: `probes/items.yaml: steps[1].expect.status: expected …, got "ok"`. */
export interface Diagnostic {
  readonly file: string
  /** The field, like `steps[1].expect.status`; '' for the file itself. */
  readonly path: string
  readonly message: string
}

export function formatDiagnostic(d: Diagnostic): string {
  return [d.file, d.path, d.message].filter((part) => part !== '').join(': ')
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/

/** `['steps', 1, 'expect', 'json', '$.id']` → `steps[1].expect.json["$.id"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (IDENTIFIER.test(String(segment))) out += out === '' ? String(segment) : `.${String(segment)}`
    else out += `[${JSON.stringify(String(segment))}]`
  }
  return out
}

const MAX_VALUE_LENGTH = 60

/** The offending value, short: `"ok"`, `42`, `an empty list`, `{"foo":1}`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'an empty value'
  if (Array.isArray(value) && value.length === 0) return 'an empty list'
  if (typeof value === 'object' && Object.keys(value).length === 0) return 'an empty mapping'
  const text = JSON.stringify(value) ?? String(value)
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text
}

/**
 * Messages zod would write itself are replaced by this marker (through the
 * per-parse error map, which zod consults only when the schema gave no
 * message of its own), so the rewriting below keeps every message a schema
 * author wrote and rewords only zod's generic ones.
 */
const GENERIC = '\u0000generic'

/** Options for `schema.safeParse(value, …)` whose issues `issueDiagnostics` understands. */
export const PARSE_OPTIONS = { reportInput: true, error: () => GENERIC } as const

type Issue = z.core.$ZodIssue
type Found = { readonly path: string; readonly message: string }

/** Every issue of a failed parse, in words, each at its field path. */
export function issueDiagnostics(file: string, issues: readonly Issue[], schema: z.ZodType): Diagnostic[] {
  const found: Found[] = []
  for (const issue of issues) convertIssue(issue, [], schema, found)
  return found.map(({ path, message }) => ({ file, path, message }))
}

function convertIssue(issue: Issue, prefix: readonly PropertyKey[], base: z.ZodType | undefined, out: Found[]): void {
  const path = [...prefix, ...issue.path]
  const at = (message: string, where: readonly PropertyKey[] = path) => out.push({ path: formatPath(where), message })
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = objectKeys(schemaAt(base, issue.path), issue.input)
      for (const key of issue.keys) at(unknownField(key, known), [...path, key])
      return
    }
    case 'invalid_key':
      // The record key is the field; its own issues say what is wrong with it.
      for (const inner of issue.issues) convertIssue(inner, path, undefined, out)
      return
    case 'invalid_union':
      convertUnion(issue, path, schemaAt(base, issue.path), out)
      return
    default:
      at(issue.message === GENERIC ? genericMessage(issue, schemaAt(base, issue.path)) : withValue(issue.message, issue))
  }
}

function convertUnion(
  issue: Extract<Issue, { code: 'invalid_union' }>,
  path: readonly PropertyKey[],
  union: z.ZodType | undefined,
  out: Found[],
): void {
  const where = formatPath(path)
  if (issue.discriminator !== undefined) {
    const value = (issue.input as Record<string, unknown> | undefined)?.[issue.discriminator]
    const noun = path[0] === 'channels' ? `channel ${issue.discriminator}` : issue.discriminator
    // Present on a discriminator issue; the type union does not narrow to that member.
    const expected = ((issue as { options?: unknown[] }).options ?? []).map(String).join(', ')
    const message =
      value === undefined ? `missing ${noun} (expected ${expected})` : `unknown ${noun} ${describeValue(value)} (expected ${expected})`
    out.push({ path: where, message })
    return
  }
  if (issue.message !== GENERIC) {
    out.push({ path: where, message: withValue(issue.message, issue) })
    return
  }
  // When the value has the shape of one alternative (an object with the
  // right keys, a string where a string fits), its problems are the ones to
  // report; the other alternatives' complaints would only confuse.
  const options = unionOptions(union)
  const fitting = issue.errors
    .map((branch, index) => ({ branch, schema: options[index] }))
    .filter(({ branch }) => branch.every(fitsShape))
    .sort((a, b) => a.branch.length - b.branch.length)[0]
  if (fitting) {
    for (const inner of fitting.branch) convertIssue(inner, path, fitting.schema, out)
    return
  }
  out.push({ path: where, message: `expected ${unionExpectation(options, issue.input)}, got ${describeValue(issue.input)}` })
}

/** Whether an issue says "wrong content" rather than "this is not the kind of value this alternative takes". */
function fitsShape(issue: Issue): boolean {
  switch (issue.code) {
    case 'unrecognized_keys':
      return false
    case 'invalid_type':
    case 'invalid_value':
      return issue.path.length > 0 && issue.input !== undefined
    case 'invalid_union':
      if (issue.path.length > 0) return issue.input !== undefined
      return issue.discriminator !== undefined || issue.errors.some((branch) => branch.every(fitsShape))
    default:
      return true
  }
}

/** For a mapping, the fields that would select an alternative; otherwise every alternative in words. */
function unionExpectation(options: readonly z.ZodType[], input: unknown): string {
  if (options.length === 0) return 'a different value'
  const fields = options.flatMap((option) => objectKeys(option))
  if (input !== null && typeof input === 'object' && !Array.isArray(input) && fields.length > 0) {
    return `a mapping with one of the fields ${joinAlternatives(fields)}`
  }
  return joinAlternatives(options.flatMap(describeSchema))
}

function unknownField(key: string, known: readonly string[]): string {
  const guess = suggest(key, known)
  if (guess) return `unknown field "${key}" (did you mean "${guess}"?)`
  return known.length > 0 ? `unknown field "${key}" (allowed: ${known.join(', ')})` : `unknown field "${key}"`
}

/** The closest candidate within a couple of typos, if any. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(1, Math.min(2, Math.floor(word.length / 3)))
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, candidate)
    if (distance <= bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** Edits (insert, delete, replace, swap two neighbours) between two words: `prot` is one from `port`. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)]
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const above = rows[i - 1] ?? []
      row[j] = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] ?? 0, (rows[i - 2]?.[j - 2] ?? 0) + 1)
    }
    rows.push(row)
  }
  return rows[a.length]?.[b.length] ?? 0
}

function withValue(message: string, issue: Issue): string {
  if (issue.code === 'custom' || issue.input === undefined || /\bgot\b/.test(message)) return message
  return `${message} (got ${describeValue(issue.input)})`
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of fields',
  record: 'a mapping',
  null: 'null',
}

/** zod's generic messages, rewritten as `what was expected, got what`. */
function genericMessage(issue: Issue, schema: z.ZodType | undefined): string {
  const got = `, got ${describeValue(issue.input)}`
  switch (issue.code) {
    case 'invalid_type': {
      const expected = kindDescription(schema) ?? TYPE_WORDS[issue.expected] ?? issue.expected
      if (issue.input === undefined) return `required field is missing (expected ${expected})`
      return `expected ${expected}${got}`
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
      const expected = values.length === 1 ? `expected ${values[0]}` : `expected one of ${values.join(', ')}`
      if (issue.input === undefined) return `required field is missing (${expected})`
      const guess = typeof issue.input === 'string' ? suggest(issue.input, values) : undefined
      return `${expected}${got}${guess ? ` (did you mean ${guess}?)` : ''}`
    }
    case 'too_small':
      return boundMessage('at least', 'more than', issue.origin, issue.minimum, issue.inclusive, issue.input)
    case 'too_big':
      return boundMessage('at most', 'less than', issue.origin, issue.maximum, issue.inclusive, issue.input)
    case 'invalid_format':
      if (issue.format === 'regex') return `expected text matching ${issue.pattern}${got}`
      if (issue.format === 'url') return `expected a URL${got}`
      if (issue.format === 'email') return `expected an email address${got}`
      return `expected a valid ${issue.format}${got}`
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}${got}`
    default:
      return `invalid value${got}`
  }
}

function boundMessage(
  inclusiveWord: string,
  exclusiveWord: string,
  origin: string,
  bound: number | bigint,
  inclusive: boolean | undefined,
  input: unknown,
): string {
  const word = inclusive === false ? exclusiveWord : inclusiveWord
  if (origin === 'array') {
    const count = Array.isArray(input) ? input.length : 0
    return `expected ${word} ${bound} item${bound === 1 ? '' : 's'}, got ${count}`
  }
  if (origin === 'string') {
    if (bound === 1 && word === 'at least') return 'must not be empty'
    // The length is what is wrong; a 30 MB value, quoted, says less than its size.
    const length = typeof input === 'string' ? ` (${input.length} characters)` : ''
    return `expected ${word} ${bound} characters, got ${describeValue(input)}${length}`
  }
  return `expected ${word} ${bound}, got ${describeValue(input)}`
}
