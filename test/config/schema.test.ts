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

  test('a field without a description fails generation', () => {
    const docs: Docs = { fields: { name: 'the name' }, keys: {}, types: {} }
    const node = { type: 'object', properties: { name: { type: 'string' }, extra: { type: 'string' } } }
    expect(() => referenceRows(node, docs)).toThrow('no description for extra')
  })
})
