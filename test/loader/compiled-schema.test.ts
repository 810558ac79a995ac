/**
 * A load of many probe files parses them with the compiled probe schema
 * first (COMPILED_SCHEMA_FROM files or more); every file it rejects is
 * parsed again by the runtime schema. The diagnostics must be the golden
 * ones: every invalid probe fixture, in one folder filled up to the
 * threshold with valid probes, gets exactly its `.expected` lines.
 */
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import * as z from 'zod'
import { parseDocument } from 'yaml'
import { crudProbe, probeEnv } from '../../bench/probes.ts'
import { PARSE_OPTIONS } from '../../src/config/diagnostics.ts'
import { compiledProbeFileSchema, isJsonValue, probeFileSchema } from '../../src/config/probe-schema.ts'
import { SecretMask } from '../../src/config/secrets.ts'
import { COMPILED_SCHEMA_FROM, formatDiagnostic, loadConfig } from '../../src/loader/load.ts'
import { TEST_ENV } from '../config/env.ts'

const FIXTURES = 'test/fixtures/invalid'
const VALID_ALERTING = 'test/fixtures/alerting/basic.yaml'
const filler = (i: number) =>
  `name: filler-${i}\ninterval: 1m\nsteps:\n  - name: get\n    request: { url: "http://127.0.0.1:9/" }\n    expect: { status: 200, json: { $.id: { exists: true } } }\n`

let dir: string
let fixtures: string[]
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-compiled-'))
  fixtures = (await readdir(FIXTURES)).filter((name) => name.endsWith('.yaml') && !name.startsWith('alerting-'))
  for (const name of fixtures) await copyFile(path.join(FIXTURES, name), path.join(dir, name))
  for (let i = 0; i < COMPILED_SCHEMA_FROM; i++) await writeFile(path.join(dir, `filler-${i}.yaml`), filler(i))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

test('every invalid fixture among many files gets its golden diagnostics', async () => {
  const result = await loadConfig({ probePaths: [dir], alertingPath: VALID_ALERTING, env: TEST_ENV })
  expect(result.ok).toBe(false)
  const lines = result.ok ? [] : result.diagnostics.map(formatDiagnostic)
  expect(lines.filter((line) => line.includes('filler-'))).toEqual([])
  for (const name of fixtures) {
    const shown = path.join(dir, name)
    const actual = lines.filter((line) => line.startsWith(`${shown}:`) && !line.includes('duplicate probe name'))
    const expected = (await readFile(path.join(FIXTURES, name.replace(/\.yaml$/, '.expected')), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.replaceAll(path.join(FIXTURES, name), shown))
    expect(actual, name).toEqual(expected)
  }
})

test('isJsonValue accepts what z.json() accepts, and never more', () => {
  const values: unknown[] = ['', 'x', 0, -0, 1.5, Number.NaN, Infinity, -Infinity, true, false, null, undefined]
  values.push([], [1, 'a', null], [[Number.NaN]], {}, { a: 1, b: [{ c: 'd' }] }, { a: Infinity }, { a: undefined })
  values.push(Object.assign(Object.create(null), { a: 1 }), new Date(0), new Map(), () => 1, 10n, Symbol('s'))
  values.push(JSON.parse('{"__proto__": {"a": 1}}'), { [Symbol('k')]: 1 }, { constructor: 1 }, { constructor: { prototype: 1 } })
  for (const value of values) {
    if (isJsonValue(value)) expect(z.json().safeParse(value), typeof value).toMatchObject({ success: true, data: value })
  }
  expect(values.filter(isJsonValue).length).toBeGreaterThan(10)
})

/** Same values and keys; a function (a pattern's test, a JSONPath's select) by its source. */
function sameOutput(a: unknown, b: unknown): boolean {
  if (typeof a === 'function' || typeof b === 'function') return typeof a === typeof b && String(a) === String(b)
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b)
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keys = Object.keys(a)
  if (keys.join('\u0000') !== Object.keys(b).join('\u0000')) return false
  return keys.every((key) => sameOutput((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

test('the compiled schema builds what the runtime schema builds, for every shipped and fixture probe', async () => {
  const files = ['probes/demo-health.yaml', 'probes/items-list.yaml', 'probes/items-crud.yaml', 'demo/probes/demo-items-fast.yaml']
  files.push('test/fixtures/valid/items.yaml', 'test/fixtures/valid/health.yml')
  const texts = await Promise.all(files.map((file) => readFile(file, 'utf8')))
  texts.push(filler(1), crudProbe('crud-1', '5s'))
  const env = { ...TEST_ENV, ...probeEnv('http://127.0.0.1:9'), ITEMS_API_URL: 'http://127.0.0.1:9', ITEMS_API_TOKEN: 'items-api-token-1' }
  const context = () => ({ env, secrets: new SecretMask(), secretNames: new Map([['ITEMS_API_TOKEN', ['a test']]]) })
  const compiled = compiledProbeFileSchema(context())
  expect(compiled).not.toBeNull()
  for (const [index, text] of texts.entries()) {
    const raw = parseDocument(text).toJS()
    const runtime = probeFileSchema(context()).safeParse(raw, PARSE_OPTIONS)
    expect(runtime.success, files[index] ?? text).toBe(true)
    const fast = compiled?.safeParse(raw)
    expect(fast?.success, files[index] ?? text).toBe(true)
    expect(sameOutput(fast?.data, runtime.data), files[index] ?? text).toBe(true)
  }
})
