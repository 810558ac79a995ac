import * as z from 'zod'

/**
 * Just enough of zod's schema definitions to find "the object at this path"
 * and to say in words what a union accepts. zod documents `_zod.def` for
 * library authors; only the fields read here are declared.
 */
interface Def {
  readonly type: string
  readonly shape?: Record<string, z.ZodType>
  readonly element?: z.ZodType
  readonly valueType?: z.ZodType
  readonly innerType?: z.ZodType
  readonly in?: z.ZodType
  readonly options?: readonly z.ZodType[]
  readonly getter?: () => z.ZodType
  readonly values?: readonly unknown[]
  readonly entries?: Record<string, unknown>
  readonly discriminator?: string
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'nonoptional', 'readonly', 'catch'])
/** Bound on wrapper unwrapping: a lazy schema could refer to itself. */
const MAX_UNWRAP = 20

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def
}

/** The schema with optional/default/pipe/lazy wrappers removed: what the user's value is checked against first. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema
  for (let i = 0; i < MAX_UNWRAP; i++) {
    const def = defOf(current)
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType
    else if (def.type === 'pipe' && def.in) current = def.in
    else if (def.type === 'lazy' && def.getter) current = def.getter()
    else return current
  }
  return current
}

/** The schema that checks the value at `path` below `schema`, or undefined when a union makes it ambiguous. */
export function schemaAt(schema: z.ZodType | undefined, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current = schema
  for (const segment of path) {
    if (!current) return undefined
    let def = defOf(unwrap(current))
    if (def.type === 'union') {
      // Only an object option can have a field below it: take the first that has this one.
      const option = (def.options ?? []).find((o) => objectKeys(o).includes(String(segment)))
      if (!option) return undefined
      def = defOf(unwrap(option))
    }
    if (def.type === 'object') current = def.shape?.[String(segment)]
    else if (def.type === 'array') current = def.element
    else if (def.type === 'record') current = def.valueType
    else return undefined
  }
  return current
}

/**
 * The field names an object schema accepts, or [] when `schema` is not an
 * object. For a union of objects, those of the option `value` best fits
 * (the one its `type:` names, else the one sharing most of its keys).
 */
export function objectKeys(schema: z.ZodType | undefined, value?: unknown): string[] {
  if (!schema) return []
  const def = defOf(unwrap(schema))
  if (def.type === 'union') return objectKeys(bestOption(def, value))
  return def.type === 'object' ? Object.keys(def.shape ?? {}).filter((key) => key !== '$schema') : []
}

function bestOption(union: Def, value: unknown): z.ZodType | undefined {
  const given = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {}
  const discriminated = union.discriminator
  let best: z.ZodType | undefined
  let bestScore = 0
  for (const option of union.options ?? []) {
    const shape = defOf(unwrap(option)).shape
    if (!shape) continue
    const literal = discriminated ? defOf(unwrap(shape[discriminated] ?? z.never())).values : undefined
    if (literal?.includes(given[discriminated ?? ''])) return option
    const score = Object.keys(given).filter((key) => Object.hasOwn(shape, key)).length
    if (score > bestScore) {
      best = option
      bestScore = score
    }
  }
  return best
}

/** The schema's own description when it names a kind of value (`A duration: …`), for "expected …" messages. */
export function kindDescription(schema: z.ZodType | undefined): string | undefined {
  let current = schema
  for (let i = 0; current && i < MAX_UNWRAP; i++) {
    const description = z.globalRegistry.get(current)?.description
    if (description && /^an? /i.test(description)) return description[0]?.toLowerCase() + description.slice(1)
    const def = defOf(current)
    current = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined
  }
  return undefined
}

/** The options of a union schema ([] when it is not one). */
export function unionOptions(schema: z.ZodType | undefined): readonly z.ZodType[] {
  if (!schema) return []
  const def = defOf(unwrap(schema))
  return def.type === 'union' ? (def.options ?? []) : []
}

/** A few words for each thing a schema accepts: `a number`, `a list`, `{ exists }`; a union gives one per option. */
export function describeSchema(schema: z.ZodType): string[] {
  const def = defOf(unwrap(schema))
  if (def.type === 'union') return (def.options ?? []).flatMap(describeSchema)
  return [describeOne(def, schema)]
}

function describeOne(def: Def, schema: z.ZodType): string {
  switch (def.type) {
    case 'string':
      return 'a string'
    case 'number':
    case 'int':
      return 'a number'
    case 'boolean':
      return 'true/false'
    case 'null':
      return 'null'
    case 'array':
      return 'a list'
    case 'record':
      return 'a mapping'
    case 'object':
      return `{ ${objectKeys(schema).join(', ')} }`
    case 'literal':
      return (def.values ?? []).map((v) => JSON.stringify(v)).join(' or ')
    case 'enum':
      return `one of ${Object.values(def.entries ?? {}).join(', ')}`
    default:
      return 'a value'
  }
}

/** `a, b or c`, without repeats. */
export function joinAlternatives(items: readonly string[]): string {
  const unique = [...new Set(items)]
  if (unique.length <= 1) return unique[0] ?? ''
  return `${unique.slice(0, -1).join(', ')} or ${unique.at(-1)}`
}
