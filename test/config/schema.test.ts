import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { generateFiles, OUTPUTS } from '../../scripts/gen-schema.ts'
import { type Docs, referenceRows } from '../../scripts/schema-reference.ts'

describe('generated JSON Schemas and reference', () => {
  const generated = generateFiles(readFileSync(OUTPUTS.readme, 'utf8'))

  test.each(Object.values(OUTPUTS))('%s is up to date (run `npm run gen-schema` after changing a schema)', (file) => {
    expect(readFileSync(file, 'utf8')).toBe(generated[file])
  })

  test('the probe schema is strict and describes every field, for editor hovers', () => {
    const schema = JSON.parse(generated[OUTPUTS.probe] ?? '{}')
    expect(schema.title).toBe('smokeprobe probe file')
    expect(schema.additionalProperties).toBe(false)
    expect(schema.required).toEqual(['name', 'steps'])
    expect(schema.properties.steps.items.properties.request.properties.method.description).toBe('The HTTP method.')
    expect(schema.properties.timeout.default).toBe('30s')
  })

  test('reminderInterval takes 0 unquoted and quoted, as README writes it; other durations take neither', () => {
    type Node = { type?: string; const?: unknown; pattern?: string; anyOf?: Node[] }
    // Enough of JSON Schema for these nodes: a const, a typed string with a pattern, or anyOf them.
    const accepts = (node: Node, value: unknown): boolean => {
      if (node.anyOf) return node.anyOf.some((option) => accepts(option, value))
      if (node.const !== undefined) return node.const === value
      if (node.type === 'string') return typeof value === 'string' && new RegExp(node.pattern ?? '').test(value)
      return node.type === 'number' && typeof value === 'number'
    }
    const alerting = JSON.parse(generated[OUTPUTS.alerting] ?? '{}')
    const probe = JSON.parse(generated[OUTPUTS.probe] ?? '{}')
    const reminders = [alerting.properties.defaults.properties.reminderInterval, probe.properties.alert.properties.reminderInterval]
    for (const node of reminders) {
      for (const value of [0, '0', '0s', '4h']) expect(accepts(node, value), JSON.stringify(value)).toBe(true)
      for (const value of [30, 'soon']) expect(accepts(node, value), JSON.stringify(value)).toBe(false)
    }
    for (const value of [0, '0']) expect(accepts(probe.properties.timeout, value), JSON.stringify(value)).toBe(false)
  })

  test('a field without a description fails generation', () => {
    const docs: Docs = { fields: { name: 'the name' }, keys: {}, types: {} }
    const node = { type: 'object', properties: { name: { type: 'string' }, extra: { type: 'string' } } }
    expect(() => referenceRows(node, docs)).toThrow('no description for extra')
  })
})
