import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { stringify } from 'yaml'
import { loadConfig } from '../../src/loader/load.ts'
import type { CleanupHooks } from '../../src/probe/run.ts'
import { runProbe } from '../../src/probe/run.ts'
import { Cleanups } from '../daemon/harness.ts'
import { crudProbe, startItemsApi } from './items-api.ts'

const TOKEN = 'run-hooks-token-31337'
const cleanups = new Cleanups()
afterEach(() => cleanups.run())

async function setup() {
  const server = await startItemsApi({ token: TOKEN })
  cleanups.defer(() => server.close())
  const dir = await mkdtemp(path.join(tmpdir(), 'hooks-'))
  await writeFile(path.join(dir, 'p.yaml'), stringify(crudProbe('crud', server.url)))
  const loaded = await loadConfig({ probePaths: [path.join(dir, 'p.yaml')], alertingPath: null, env: { API_TOKEN: TOKEN } })
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics))
  return { server, probe: loaded.config.probes[0]!, secrets: loaded.config.secrets }
}

test('the next step waits until the cleanup is journaled; the run settles it with the cleanup’s status', async () => {
  const { server, probe, secrets } = await setup()
  const events: string[] = []
  const hooks: CleanupHooks = {
    async journal(_probe, step, values) {
      events.push(`journal ${step.name} id=${String(values.get('itemId'))} after ${server.requests.length} requests`)
      // A slow disk: the read must not be sent before this resolves.
      await new Promise((resolve) => setTimeout(resolve, 150))
      events.push(`durable, ${server.requests.length} requests so far`)
      return { id: 'ticket-1' }
    },
    async settle(ticket, status) {
      events.push(`settle ${ticket.id} ${status}`)
    },
  }
  const result = await runProbe(probe, { secrets, cleanups: hooks })
  expect(result.outcome).toBe('success')
  expect(events).toEqual([`journal delete id=${server.created[0]} after 1 requests`, 'durable, 1 requests so far', 'settle ticket-1 204'])
})

test('a cleanup that never ran (shutdown) is settled with no status, so it is retried', async () => {
  const { server, probe, secrets } = await setup()
  server.holdReads = true
  const shutdown = new AbortController()
  const settled: (number | null)[] = []
  const hooks: CleanupHooks = {
    journal: async () => ({ id: 't' }),
    settle: async (_ticket, status) => {
      settled.push(status)
    },
  }
  const running = runProbe(probe, { secrets, cleanups: hooks, signal: shutdown.signal })
  await server.held
  shutdown.abort()
  const result = await running
  expect(result.outcome).toBe('aborted')
  expect(settled).toEqual([null])
  expect(server.deletes.size).toBe(0)
})
