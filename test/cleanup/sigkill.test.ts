import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { JOURNAL_FILE } from '../../src/cleanup/journal.ts'
import { exitOf, spawnDaemon } from '../daemon/child.ts'
import { Cleanups, waitFor, writeConfig } from '../daemon/harness.ts'
import { crudProbe, pendingOnDisk, startItemsApi } from './items-api.ts'

const TOKEN = 'sigkill-test-token-8c1d'
const cleanups = new Cleanups()
afterEach(() => cleanups.run())

test('SIGKILL while the read step is held: after a restart the created record is deleted, and the journal is empty', async () => {
  const server = await startItemsApi({ token: TOKEN })
  cleanups.defer(() => server.close())
  server.holdReads = true
  // A long budget: the read is held for seconds, well inside it, when the process is killed.
  const probe = crudProbe('crud', server.url, { interval: '30s', timeout: '20s' })
  const config = await writeConfig(cleanups, { probes: [probe], alerting: { channels: {} } })
  const env = { API_TOKEN: TOKEN }

  const first = await spawnDaemon(cleanups, config, env)
  await server.held
  const created = server.created[0]!
  expect(await pendingOnDisk(config.stateDir)).toHaveLength(1)
  expect(await readFile(path.join(config.stateDir, JOURNAL_FILE), 'utf8')).not.toContain(TOKEN)
  first.process.kill('SIGKILL')
  expect((await exitOf(first)).signal).toBe('SIGKILL')
  expect(server.items.has(created)).toBe(true)
  expect(server.deletes.get(created)).toBeUndefined()

  server.release()
  const restarted = await spawnDaemon(cleanups, config, env)
  const t0 = Date.now()
  await waitFor('the record created before the kill to be deleted', () => !server.items.has(created), 60_000)
  const tookMs = Date.now() - t0
  expect(tookMs).toBeLessThan(60_000)
  expect(server.deletes.get(created)).toEqual([204])
  restarted.process.kill('SIGTERM')
  expect((await exitOf(restarted)).code).toBe(0)
  expect(await pendingOnDisk(config.stateDir)).toEqual([])
  expect(server.items.size).toBe(0)
}, 120_000)
