import { EVENT_ID, getScalarValue, parseEvents, SCALAR_STYLE } from 'js-yaml'

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
 * a starting daemon reads are most of its start-up. The values are built
 * here from the events: plain objects and lists, as `yaml`'s toJS builds
 * them.
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
  let root: unknown
  // The open collections, innermost last, and for each mapping the key waiting for its value.
  const open: (unknown[] | Record<string, unknown>)[] = []
  const keys: (string | null)[] = []
  for (const event of events) {
    let value: unknown
    let longKey = false
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        if (++documents > 1 || event.directives.length > 0) return undefined
        continue
      case EVENT_ID.POP:
        // A key left without its value is yaml's to judge. (The last pop closes the document.)
        if (typeof keys.pop() === 'string') return undefined
        open.pop()
        continue
      case EVENT_ID.SCALAR: {
        if (event.tagStart !== -1 || event.anchorStart !== -1) return undefined
        const source = getScalarValue(text, event)
        value = event.style === SCALAR_STYLE.PLAIN ? coreScalar(source) : source
        // yaml refuses an implicit key of over 1,024 characters: a long key is left to it.
        longKey = event.valueEnd - event.valueStart > MAX_KEY_CHARS
        break
      }
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE:
        if (event.tagStart !== -1 || event.anchorStart !== -1) return undefined
        value = event.type === EVENT_ID.MAPPING ? {} : []
        break
      default:
        return undefined
    }
    const parent = open.at(-1)
    if (parent === undefined) root = value
    else if (Array.isArray(parent)) parent.push(value)
    else {
      const key = keys[keys.length - 1] ?? null
      if (key !== null) {
        parent[key] = value
        keys[keys.length - 1] = null
      } else if (typeof value !== 'string' || value === '__proto__' || longKey || Object.hasOwn(parent, value)) {
        // A number, null or collection as key, a duplicate: yaml decides (or says what is wrong).
        return undefined
      } else keys[keys.length - 1] = value
    }
    if (typeof value === 'object' && value !== null) {
      open.push(value as unknown[] | Record<string, unknown>)
      keys.push(null)
    }
  }
  // An empty file is the caller's message to give.
  return documents === 1 && root !== null ? root : undefined
}

/**
 * A plain scalar as `yaml`'s core schema resolves it (yaml/dist/schema/core):
 * same tests, same order, same conversions; anything else is a string.
 */
function coreScalar(text: string): unknown {
  // What the tests can start with: any other plain scalar is a string without running them.
  if (text !== '' && !CORE_FIRST.has(text.charCodeAt(0))) return text
  for (const [test, convert] of CORE_SCALARS) if (test.test(text)) return convert(text)
  return text
}

const CORE_FIRST = new Set([...'~nNtTfF0123456789+-.'].map((c) => c.charCodeAt(0)))

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
