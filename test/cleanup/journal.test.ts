import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { createJournal, JOURNAL_FILE } from '../../src/cleanup/journal.ts'
import { Cleanups, metric, startRuntime, waitFor, writeConfig } from '../daemon/harness.ts'
import { crudProbe, type ItemsApi, pendingOnDisk, startItemsApi } from './items-api.ts'

const TOKEN = 'journal-test-token-4f9e2a'
const cleanups = new Cleanups()
afterEach(() => cleanups.run())

async function api(): Promise<ItemsApi> {
  const started = await startItemsApi({ token: TOKEN })
  cleanups.defer(() => started.close())
  return started
}

/** Each id: DELETEd successfully exactly once, and never again after that. */
function deletedOnceEach(server: ItemsApi): void {
  for (const id of server.created) {
    const statuses = server.deletes.get(id) ?? []
    expect(
      statuses.filter((s) => s === 204),
      `DELETEs of ${id}: ${statuses.join(', ')}`,
    ).toHaveLength(1)
    expect(statuses.at(-1), `DELETEs of ${id}: ${statuses.join(', ')}`).toBe(204)
  }
}

test('records created while the DELETE fails are all deleted once it heals, none twice, and no secret is journaled', async () => {
  const server = await api()
  server.deleteBroken = true
  const config = await writeConfig(cleanups, { probes: [crudProbe('crud', server.url)], alerting: { channels: {} } })
  const daemon = await startRuntime(cleanups, config, { env: { API_TOKEN: TOKEN } })
  const journalFile = path.join(config.stateDir, JOURNAL_FILE)

  // The delete is broken for a while ("minutes", scaled down): records pile up in the journal.
  await waitFor('three records created while the delete fails', () => server.created.length >= 3, 20_000)
  await waitFor(
    'probe_cleanup_pending to count them',
    async () => ((await metric(daemon.url, 'probe_cleanup_pending', { probe: 'crud' })) ?? 0) >= 2,
  )
  const journal = await readFile(journalFile, 'utf8')
  expect(journal).toContain(server.created[0])
  expect(journal).toContain('Bearer {{ env.API_TOKEN }}')
  expect(journal).not.toContain(TOKEN)

  server.deleteBroken = false
  await waitFor('every record deleted', () => server.created.length >= 3 && server.items.size === 0, 20_000)
  await daemon.stop()
  expect(server.items.size).toBe(0)
  deletedOnceEach(server)
  expect(await pendingOnDisk(config.stateDir)).toEqual([])
  expect(await readFile(journalFile, 'utf8')).not.toContain(TOKEN)
})

test('a probe removed from the configuration keeps its pending cleanups', async () => {
  const server = await api()
  server.deleteBroken = true
  const config = await writeConfig(cleanups, { probes: [crudProbe('gone-soon', server.url)], alerting: { channels: {} } })
  const daemon = await startRuntime(cleanups, config, { env: { API_TOKEN: TOKEN } })
  await waitFor('a record left behind', () => server.created.length >= 1 && (server.deletes.get(server.created[0]!)?.length ?? 0) >= 1)
  await config.writeProbe('gone-soon', null)
  await config.writeProbe('other', {
    name: 'other',
    interval: '1s',
    timeout: '500ms',
    steps: [{ name: 'x', request: { url: `${server.url}/healthz` }, expect: { status: 401 } }],
  })
  expect(await daemon.runtime.reload()).toBe(true)
  const left = server.created.length
  server.deleteBroken = false
  await waitFor('the removed probe’s records deleted', () => server.items.size === 0)
  expect(server.created.length).toBe(left)
  deletedOnceEach(server)
  await waitFor(
    'its pending series gone',
    async () => (await metric(daemon.url, 'probe_cleanup_pending', { probe: 'gone-soon' })) === undefined,
  )
})

test('a cleanup that keeps failing is abandoned after its expiry, loudly', async () => {
  const server = await api()
  server.deleteBroken = true
  const config = await writeConfig(cleanups, {
    probes: [crudProbe('stuck', server.url)],
    alerting: { channels: {} },
  })
  const daemon = await startRuntime(cleanups, config, {
    env: { API_TOKEN: TOKEN },
    cleanupRetry: { baseDelayMs: 50, maxDelayMs: 100, expireMs: 1_000 },
  })
  await waitFor(
    'a cleanup abandoned',
    async () => ((await metric(daemon.url, 'probe_cleanup_abandoned_total', { probe: 'stuck' })) ?? 0) >= 1,
  )
  expect(daemon.logs.some((line) => line.includes('cleanup abandoned after 24 h of retries'))).toBe(true)
  await daemon.stop()
  const first = server.created[0]!
  // Tried with backoff until it expired (1 s here), then dropped from the journal.
  expect(server.deletes.get(first)?.length ?? 0).toBeGreaterThan(2)
  const entries = (await createJournal({ stateDir: config.stateDir }).load()).entries
  expect(entries.map((e) => e.values.itemId)).not.toContain(first)
})
