/**
 * The shipped example probes, loaded as the CLI loads them and run by the
 * real engine against the real demo API: they pass when it is healthy, each
 * fault fails the step it should, and nothing created is left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Probe } from '../../src/config/probe-schema.ts'
import { loadConfig } from '../../src/loader/load.ts'
import type { SecretMask } from '../../src/config/secrets.ts'
import type { RunResult } from '../../src/probe/result.ts'
import { runProbe } from '../../src/probe/run.ts'
import { type DemoApi, type FaultMode, startDemoApi } from '../../demo/server.ts'

const TOKEN = 'examples-run-token'
let api: DemoApi
let probes: readonly Probe[]
let secrets: SecretMask

beforeAll(async () => {
  api = await startDemoApi({ token: TOKEN })
  const loaded = await loadConfig({
    probePaths: ['probes'],
    alertingPath: 'alerting/alerting.yaml',
    env: { ITEMS_API_URL: api.url, ITEMS_API_TOKEN: TOKEN },
  })
  if (!loaded.ok) throw new Error(`examples do not load: ${JSON.stringify(loaded.diagnostics)}`)
  probes = loaded.config.probes
  secrets = loaded.config.secrets
})

afterAll(() => api.close())

function probe(name: string): Probe {
  const found = probes.find((p) => p.name === name)
  if (!found) throw new Error(`no example probe ${name}`)
  return found
}

async function runWith(mode: FaultMode, name: string, delayMs?: number): Promise<RunResult> {
  api.setFault(mode, delayMs)
  try {
    return await runProbe(probe(name), { secrets })
  } finally {
    api.setFault('ok')
  }
}

describe('example probes against the demo API', () => {
  it('all pass when the API is healthy, and leave no item behind', async () => {
    expect(probes.map((p) => p.name).sort()).toEqual(['demo-health', 'items-crud', 'items-list'])
    for (const p of probes) {
      const result = await runProbe(p, { secrets })
      expect(result.failure, p.name).toBeNull()
      expect(result.outcome, p.name).toBe('success')
    }
    expect(api.items.size).toBe(0)
  })

  it('items-crud: a read that errors fails "read" with the status, and the cleanup still deletes', async () => {
    const result = await runWith('error', 'items-crud')
    expect(result.outcome).toBe('failure')
    expect(result.failure).toMatchObject({ step: 'read', kind: 'status' })
    expect(result.failure?.message).toContain('500')
    expect(result.steps.find((s) => s.name === 'delete')?.status).toBe('passed')
    expect(api.items.size).toBe(0)
  })

  it('items-crud: a read with the wrong name fails as an expectation on $.name', async () => {
    const result = await runWith('wrong-name', 'items-crud')
    expect(result.failure).toMatchObject({ step: 'read', kind: 'expectation' })
    expect(result.failure?.message).toContain('$.name')
    expect(api.items.size).toBe(0)
  })

  it('items-crud: a delete that fails fails the cleanup step and the run', async () => {
    const result = await runWith('no-delete', 'items-crud')
    expect(result.failure).toMatchObject({ step: 'delete', kind: 'status' })
    expect(api.items.size).toBe(1)
    for (const id of api.items.keys())
      await fetch(`${api.url}/items/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(api.items.size).toBe(0)
  })

  it('items-list: a slow API fails on maxDuration', async () => {
    const result = await runWith('slow', 'items-list', 1_200)
    expect(result.failure).toMatchObject({ step: 'list', kind: 'expectation' })
  })

  it('never puts the token in a result', async () => {
    const result = await runWith('error', 'items-crud')
    expect(JSON.stringify(result)).not.toContain(TOKEN)
  })
})
