import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { alertingFileSchema } from '../../src/loader/alerting-schema.ts'
import { probeFileSchema } from '../../src/config/probe-schema.ts'
import { SecretMask } from '../../src/config/secrets.ts'

/** What the demo sets; the examples must need nothing more. */
const DEMO_ENV = { ITEMS_API_URL: 'http://127.0.0.1:8080', ITEMS_API_TOKEN: 'demo-token' }
const SCHEMA_LINE = '# yaml-language-server: $schema=../schema/probe.schema.json'
const probeFiles = readdirSync('probes')
  .filter((file) => /\.ya?ml$/.test(file))
  .map((file) => join('probes', file))

function parseProbe(file: string) {
  return probeFileSchema({ env: DEMO_ENV, secrets: new SecretMask() }).safeParse(parse(readFileSync(file, 'utf8')))
}

describe('example probes', () => {
  it('exist: items-crud and at least one more', () => {
    expect(probeFiles).toContain(join('probes', 'items-crud.yaml'))
    expect(probeFiles.length).toBeGreaterThanOrEqual(2)
  })

  it.each(probeFiles)('%s validates with only the demo environment', (file) => {
    const result = parseProbe(file)
    expect(result.error?.issues ?? []).toEqual([])
  })

  it.each(probeFiles)('%s names its JSON Schema on the first line', (file) => {
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(SCHEMA_LINE)
  })

  it.each(probeFiles)('%s runs at least once in 30s, so the demo shows every probe within a minute', (file) => {
    const probe = parseProbe(file).data!
    expect(probe.intervalMs).not.toBeNull()
    expect(probe.intervalMs!).toBeLessThanOrEqual(30_000)
  })

  it('are refused when the demo environment is missing', () => {
    const result = probeFileSchema({ env: {}, secrets: new SecretMask() }).safeParse(parse(readFileSync('probes/items-crud.yaml', 'utf8')))
    expect(result.error?.issues.map((issue) => issue.message)).toContain('environment variable ITEMS_API_URL is not set')
  })

  it('items-crud creates, reads and deletes with a cleanup step', () => {
    const probe = parseProbe('probes/items-crud.yaml').data!
    const steps = probe.steps.map((step) => [step.name, step.request.method, step.cleanup])
    expect(steps.slice(0, 3)).toEqual([
      ['create', 'POST', false],
      ['read', 'GET', false],
      ['delete', 'DELETE', true],
    ])
    expect(probe.steps[0]!.capture.map((c) => c.name)).toEqual(['itemId'])
  })
})

describe('example alerting file', () => {
  it('validates with no environment at all', () => {
    const result = alertingFileSchema({ env: {}, secrets: new SecretMask() }).safeParse(
      parse(readFileSync('alerting/alerting.yaml', 'utf8')),
    )
    expect(result.error?.issues ?? []).toEqual([])
    expect(result.data?.defaults).toMatchObject({ failureThreshold: 5, successThreshold: 1, sendResolved: true })
  })

  it('shows a commented example of every channel type', () => {
    const text = readFileSync('alerting/alerting.yaml', 'utf8')
    for (const type of ['email', 'pagerduty', 'webhook', 'alertmanager']) expect(text).toContain(`#     type: ${type}`)
  })
})
