import { afterEach, expect, test } from 'vitest'
import { Cleanups, metric, startRuntime, waitFor, writeConfig } from '../daemon/harness.ts'
import { crudProbe, startItemsApi } from './items-api.ts'

const TOKEN = 'sweeper-test-token-0d9c'
const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const sweep = (extra: Record<string, unknown> = {}) => ({
  interval: '1s',
  list: { url: '{{ base }}/items?size=10' },
  next: '$.next',
  items: '$.data',
  name: '$.name',
  match: '^leftover-',
  createdAt: '$.createdAt',
  minAge: '1h',
  delete: { url: '{{ base }}/items/{{ item.id }}' },
  ...extra,
})

test('the daemon sweeps on its own schedule: leftovers are deleted and counted; a failing sweep is counted and pages nobody', async () => {
  const server = await startItemsApi({ token: TOKEN })
  cleanups.defer(() => server.close())
  const old = new Date(Date.now() - 2 * 3_600_000).toISOString()
  for (let i = 0; i < 25; i++) server.items.set(`left-${i}`, { id: `left-${i}`, name: `leftover-${i}`, createdAt: old })
  for (let i = 0; i < 5; i++) server.items.set(`other-${i}`, { id: `other-${i}`, name: `other-${i}`, createdAt: old })
  const probe = crudProbe('crud', server.url, { interval: '1s', sweep: sweep() })
  const config = await writeConfig(cleanups, { probes: [probe], alerting: { channels: {} } })
  const daemon = await startRuntime(cleanups, config, { env: { API_TOKEN: TOKEN } })

  await waitFor(
    'the first sweep to delete the 25 leftovers',
    async () => (await metric(daemon.url, 'probe_sweep_deleted_total', { probe: 'crud' })) === 25,
  )
  expect(await metric(daemon.url, 'probe_orphans_found', { probe: 'crud' })).toBe(25)
  await waitFor('a later sweep to find none', async () => (await metric(daemon.url, 'probe_orphans_found', { probe: 'crud' })) === 0)
  expect([...server.items.keys()].filter((id) => id.startsWith('other-'))).toHaveLength(5)
  expect([...server.deletes.keys()].filter((id) => id.startsWith('other-'))).toEqual([])

  // The list now points to another origin: every sweep fails, is counted, and the probe's alert state is untouched.
  server.nextOverride = () => 'http://localhost:9/items'
  await waitFor(
    'failed sweeps counted',
    async () => ((await metric(daemon.url, 'probe_sweep_failures_total', { probe: 'crud' })) ?? 0) >= 2,
  )
  expect(await metric(daemon.url, 'probe_consecutive_failures', { probe: 'crud' })).toBe(0)
  expect(await metric(daemon.url, 'probe_alert_firing', { probe: 'crud' })).toBe(0)
  expect(daemon.logs.some((line) => line.includes('"msg":"sweep failed"') && line.includes('another origin'))).toBe(true)
})

test('sweeps run one at a time and outside the runs: a list slower than the run budget fails no run', async () => {
  const server = await startItemsApi({ token: TOKEN })
  cleanups.defer(() => server.close())
  // Longer than the probes' 800 ms budget: a sweep inside a run's budget would fail that run.
  server.listDelayMs = 1_200
  // The list's own timeout is longer than the probe's: a sweep has no run budget.
  const list = { url: '{{ base }}/items?size=10', timeout: '5s' }
  const probes = ['one', 'two'].map((name) => crudProbe(name, server.url, { interval: '1s', sweep: sweep({ list }) }))
  const config = await writeConfig(cleanups, { probes, alerting: { channels: {} } })
  const daemon = await startRuntime(cleanups, config, { env: { API_TOKEN: TOKEN } })
  await waitFor('both probes swept twice', () => server.requests.filter((r) => r.startsWith('GET /items?')).length >= 4, 20_000)
  expect(server.maxListsInFlight).toBe(1)
  expect(await metric(daemon.url, 'probe_sweep_failures_total', { probe: 'one' })).toBe(0)
  for (const name of ['one', 'two']) {
    expect(await metric(daemon.url, 'probe_runs_total', { probe: name, result: 'failure' })).toBe(0)
    expect(await metric(daemon.url, 'probe_runs_total', { probe: name, result: 'success' })).toBeGreaterThan(0)
  }
})
