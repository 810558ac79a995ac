/**
 * The fast YAML reading either declines a text or reads it to exactly what
 * `yaml` reads (same values, same key order, no problem `yaml` would
 * report), so every diagnostic still comes from `yaml`. The cases are the
 * ones where the two parsers were seen to differ, and the shapes probe
 * files use.
 */
import { readFileSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, test } from 'vitest'
import { parseDocument } from 'yaml'
import { crudProbe } from '../../bench/probes.ts'
import { readPlainYaml } from '../../src/loader/plain-yaml.ts'

/** What the loader read before the fast path: the value, or null when yaml reports a problem. */
function yamlReading(text: string): unknown {
  const document = parseDocument(text, { prettyErrors: false })
  if (document.errors.length + document.warnings.length > 0) return null
  try {
    return document.toJS({ maxAliasCount: 100 }) ?? null
  } catch {
    return null
  }
}

/** Same values, same own keys in the same order (zod outputs follow key order). */
function sameReading(a: unknown, b: unknown): boolean {
  if (!isDeepStrictEqual(a, b)) return false
  if (a === null || typeof a !== 'object') return true
  const keys = Object.keys(a)
  if (keys.join('\u0000') !== Object.keys(b as object).join('\u0000')) return false
  return keys.every((key) => sameReading((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

function expectAgreement(text: string): void {
  const fast = readPlainYaml(text)
  if (fast === undefined) return
  const slow = yamlReading(text)
  expect(slow, `yaml reports a problem the fast path missed in ${JSON.stringify(text)}`).not.toBeNull()
  expect(sameReading(fast, slow), `different readings of ${JSON.stringify(text)}`).toBe(true)
}

const DECLINED: Record<string, string> = {
  'a tab as indentation': '\tname: x\n',
  'a lone carriage return': 'name: x\rsteps: []\n',
  'a byte-order mark before a list': '\uFEFF- name: a-list\n',
  'explicit indentation of a block scalar': 'a: |2\n   x\n',
  'an unknown directive': '%FOO\n---\na: 1\n',
  'a YAML 1.1 directive': '%YAML 1.1\n---\na: yes\n',
  'a tag': 'a: !!str 1\n',
  'a custom tag': 'a: !env X\n',
  'an alias': 'a: &x 1\nb: *x\n',
  'an anchor': 'a: &x 1\n',
  'two documents': 'a: 1\n---\nb: 2\n',
  'a duplicate key': 'a: 1\n"a": 2\n',
  'a number key': '1: a\n',
  'a null key': '~: a\n',
  'a list as key': '? [x]\n: 1\n',
  'a __proto__ key': '__proto__: { a: 1 }\n',
  'a key of over 1,024 characters': `${'k'.repeat(1030)}: 1\n`,
  'an empty file': '',
  'only a comment': '# nothing\n',
  'a syntax error': 'a: [1, 2\n',
  'a bad escape': 'a: "\\q"\n',
}

describe('declines what yaml must decide', () => {
  for (const [what, text] of Object.entries(DECLINED)) {
    test(what, () => expect(readPlainYaml(text)).toBeUndefined())
  }
})

const AGREED: Record<string, string> = {
  'core schema scalars': [
    'a: 0o17',
    'b: 017',
    'c: 0x1F',
    'd: -0x1F',
    'e: +12',
    'f: -0',
    'g: 1_000',
    'h: 1.5e3',
    'i: .5',
    'j: 5.',
    'k: -.inf',
    'l: .NaN',
    'm: NULL',
    'n: ~',
    'o:',
    'p: TRUE',
    'q: yes',
    'r: on',
    's: 2024-01-01',
    't: 12:30',
    'u: 0b101',
    'v: 99999999999999999999',
    'w: 1e400',
    'x: 007',
    'y: 0X1f',
    'z: +0x1',
    'aa: NaN',
    'ab: 1e',
    'ac: 00.5',
    'ad: 1.0',
    '',
  ].join('\n'),
  strings: [
    'a: "esc \\t \\n \\\\ \\" \\/ \\x41 \\u00e9 \\U0001F600 \\0 \\a \\e \\N \\_ \\L \\P"',
    "b: 'it''s'",
    'c: "multi',
    '  line',
    '',
    '  folded"',
    'd: plain',
    '  multi line',
    'e: |',
    '  literal',
    '   kept',
    '',
    'f: >-',
    '  folded',
    '    indented',
    '  text',
    'g: |+',
    '  keep',
    '',
    'h: a#b',
    'i: a #b',
    'j: "{{ env.X }}"',
    'k: x\u00a0',
    '',
  ].join('\n'),
  'flow collections and comments': '# top\na: [1,\n  2, {b: c}]\nb: {x: 1, "y z": [ ]} # c\nc: [a: 1, b]\n',
  'nested lists': '- - a\n  - b\n- c: d\n  e: f\n-\n  g\n',
  'keys that are Object.prototype names': 'constructor: 1\ntoString: 2\nhasOwnProperty: 3\n',
  'a plain <<': '<<: 1\na: 2\n',
  'CRLF line ends': 'a: 1\r\nb: |\r\n  x\r\n  y\r\nc: "p\r\n  q"\r\n',
  'a document marker': '---\na: 1\n...\n',
  'a scalar document': 'just text\n',
}

describe('reads the rest as yaml does', () => {
  for (const [what, text] of Object.entries(AGREED)) {
    test(what, () => {
      expect(readPlainYaml(text)).not.toBeUndefined()
      expectAgreement(text)
    })
  }

  test('every fixture, and each with a character removed or added', () => {
    const fixtures = ['test/fixtures/valid/items.yaml', 'test/fixtures/valid/health.yml', 'test/fixtures/invalid/duplicate-key.yaml']
    for (const file of fixtures) {
      const text = readFileSync(file, 'utf8')
      expectAgreement(text)
      for (let at = 0; at < text.length; at++) {
        expectAgreement(text.slice(0, at) + text.slice(at + 1))
        for (const inserted of [' ', '\n', ':', '"']) expectAgreement(text.slice(0, at) + inserted + text.slice(at))
      }
    }
  })

  test('the probe a benchmark repeats 1,000 times takes the fast path', () => {
    expect(readPlainYaml(crudProbe('crud-1', '5s'))).toMatchObject({ name: 'crud-1', steps: [{ name: 'create' }, {}, {}] })
  })
})
