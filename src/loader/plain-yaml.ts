import {
  constructFromEvents,
  defineMappingTag,
  defineScalarTag,
  EVENT_ID,
  NOT_RESOLVED,
  parseEvents,
  Schema,
  seqTag,
  strTag,
} from 'js-yaml'

const NOT_MAPPING = 0
const KEY = 1
const VALUE = 2
/**
 * Where the two parsers were found to disagree (a tab as indentation, a
 * lone carriage return as a line break, a byte-order mark before a list,
 * a block scalar's explicit indentation `|2`, a directive js-yaml does not
 * know): such files are left to yaml whole. The test is coarse (a tab
 * inside a string counts too); a file it sends to yaml only reads slower.
 */
const AMBIGUOUS = /[\t\uFEFF]|\r(?!\n)|[|>][-+]?[1-9]|(?:^|\n)%/
/** Below yaml's 1,024 (counted on the source, quotes and escapes included). */
const MAX_KEY_CHARS = 1000

/**
 * A fast reading of the YAML most configuration files are: one document,
 * no tags, anchors, aliases or directives, string keys. js-yaml's event
 * parser reads such a file about five times faster than `yaml`'s
 * Document (which keeps every node and its position), and 1,000 probe files
 * a starting daemon reads are most of its start-up.
 *
 * `undefined` means "not decided here": the caller reads the file with
 * `yaml` as it always did, so every syntax error, warning and position a
 * user sees still comes from there. A value is returned only when `yaml`
 * would read the same text without a problem to the same value; the
 * scalars below are `yaml`'s YAML 1.2 core schema (its tests, its
 * conversions), not js-yaml's, and anything whose meaning could differ
 * between the two (a tag, an alias, a non-string key, a directive) is
 * left to `yaml`.
 */
export function readPlainYaml(text: string): unknown {
  if (AMBIGUOUS.test(text)) return undefined
  let events: ReturnType<typeof parseEvents>
  try {
    events = parseEvents(text, {})
  } catch {
    return undefined
  }
  let documents = 0
  // Per open node: NOT_MAPPING, or a mapping whose next node is its KEY or its VALUE.
  const open: number[] = []
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        if (++documents > 1 || event.directives.length > 0) return undefined
        open.push(NOT_MAPPING)
        break
      case EVENT_ID.ALIAS:
        return undefined
      case EVENT_ID.POP:
        open.pop()
        break
      default: {
        if (event.tagStart !== -1 || event.anchorStart !== -1) return undefined
        const parent = open.length - 1
        const isKey = open[parent] === KEY
        if (open[parent] !== NOT_MAPPING) open[parent] = isKey ? VALUE : KEY
        // yaml refuses an implicit key of over 1,024 characters: a long key is left to it.
        if (isKey && event.type === EVENT_ID.SCALAR && event.valueEnd - event.valueStart > MAX_KEY_CHARS) return undefined
        if (event.type === EVENT_ID.MAPPING) open.push(KEY)
        else if (event.type === EVENT_ID.SEQUENCE) open.push(NOT_MAPPING)
      }
    }
  }
  if (documents !== 1) return undefined
  try {
    const [value] = constructFromEvents(events, { source: text, schema: CORE })
    // An empty file is the caller's message to give.
    return value === null ? undefined : value
  } catch {
    return undefined
  }
}

/** Scalars as `yaml`'s core schema resolves them (yaml/dist/schema/core): same tests, same order, same conversions. */
const CORE_SCALARS: readonly [RegExp, (text: string) => unknown][] = [
  [/^(?:~|[Nn]ull|NULL)?$/, () => null],
  [/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (text) => text[0] === 't' || text[0] === 'T'],
  [/^0o[0-7]+$/, (text) => Number.parseInt(text.substring(2), 8)],
  [/^[-+]?[0-9]+$/, (text) => Number.parseInt(text, 10)],
  [/^0x[0-9a-fA-F]+$/, (text) => Number.parseInt(text.substring(2), 16)],
  [
    /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
    (text) => (text.slice(-3).toLowerCase() === 'nan' ? Number.NaN : text[0] === '-' ? -Infinity : Infinity),
  ],
  [/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, (text) => Number.parseFloat(text)],
  [/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, (text) => Number.parseFloat(text)],
]

/** Named apart from `tag:yaml.org,2002:…`: an explicit tag is never resolved here (the events check refuses them anyway). */
const coreScalar = defineScalarTag('tag:smokeprobe:core-scalar', {
  implicit: true,
  // What the tests above can start with: any other plain scalar is a string without running them.
  implicitFirstChars: ['', '~', 'n', 'N', 't', 'T', 'f', 'F', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '-', '.'],
  resolve: (text) => {
    for (const [test, convert] of CORE_SCALARS) if (test.test(text)) return convert(text)
    return NOT_RESOLVED
  },
  identify: () => false,
})

/**
 * Plain objects with string keys, as `yaml`'s toJS builds them; any other
 * key (a number, null, a list) and `__proto__` are refused, so `yaml`
 * decides how it becomes a property.
 */
const stringKeyMap = defineMappingTag('tag:yaml.org,2002:map', {
  create: (): Record<string, unknown> => ({}),
  addPair: (map, key, value) => {
    if (typeof key !== 'string' || key === '__proto__') return 'not a plain string key'
    map[key] = value
    return ''
  },
  has: (map, key) => typeof key === 'string' && Object.hasOwn(map, key),
  keys: (map) => Object.keys(map),
  get: (map, key) => (typeof key === 'string' ? map[key] : undefined),
  identify: () => false,
})

const CORE = new Schema([strTag, seqTag, stringKeyMap, coreScalar])
