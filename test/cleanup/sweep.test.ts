import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { stringify } from 'yaml'
import { MAX_SWEEP_PAGES } from '../../src/config/sweep-schema.ts'
import { cli, tempFiles } from '../cli/helpers.ts'
import { Cleanups } from '../daemon/harness.ts'
import { crudProbe, type ItemsApi, startItemsApi } from './items-api.ts'

const TOKEN = 'sweep-test-token-19bf3c'
const HOUR = 3_600_000
const cleanups = new Cleanups()
afterEach(() => cleanups.run())

/** The SPEC's sweep, against the test API. */
function sweepProbe(base: string, sweep: Record<string, unknown> = {}) {
  return crudProbe('crud', base, {
    sweep: {
      list: { url: '{{ base }}/items?size=100' },
      next: '$.next',
      items: '$.data',
      name: '$.name',
      match: '^smoke-',
      createdAt: '$.createdAt',
      minAge: '1h',
      delete: { method: 'DELETE', url: '{{ base }}/items/{{ item.id }}' },
      ...sweep,
    },
  })
}

/** 250 records: 50 ours and old (half with ISO times, half Unix seconds), 50 ours and fresh, 150 someone else's (old). */
function seed(server: ItemsApi): { old: string[] } {
  const now = Date.now()
  const old: string[] = []
  for (let i = 0; i < 250; i++) {
    const id = `rec-${String(i).padStart(3, '0')}`
    const kind = i % 5
    let item: { id: string; name: string; createdAt: string | number }
    if (kind === 0) item = { id, name: `smoke-${i}`, createdAt: new Date(now - 2 * HOUR).toISOString() }
    else if (kind === 1)
      item = { id, name: `smoke-${i}`, createdAt: i % 2 === 0 ? new Date(now - 60_000).toISOString() : Math.floor(now / 1_000) }
    else item = { id, name: kind === 2 ? `customer-${i}` : `order-smoke-${i}`, createdAt: new Date(now - 48 * HOUR).toISOString() }
    if (kind === 0) old.push(id)
    server.items.set(id, item)
  }
  // Ten of the old ones say their age in Unix seconds.
  for (const id of old.slice(0, 10)) {
    const item = server.items.get(id)!
    server.items.set(id, { ...item, createdAt: Math.floor((now - 3 * HOUR) / 1_000) })
  }
  return { old }
}

async function setup(sweep: Record<string, unknown> = {}) {
  const server = await startItemsApi({ token: TOKEN })
  cleanups.defer(() => server.close())
  const files = await tempFiles({ 'crud.yaml': stringify(sweepProbe(server.url, sweep)) })
  cleanups.defer(files.remove)
  const run = (...extra: string[]) => cli(['sweep', '--probes', path.join(files.dir, 'crud.yaml'), ...extra], { env: { API_TOKEN: TOKEN } })
  return { server, run }
}

const listRequests = (server: ItemsApi) => server.requests.filter((r) => r.startsWith('GET /items?'))
const deleted = (server: ItemsApi) => [...server.deletes.keys()].sort()

test('a sweep over 250 records on three pages deletes exactly the 50 old ones of the probe', async () => {
  const { server, run } = await setup()
  const { old } = seed(server)
  const swept = await run()
  expect(swept.stderr).toBe('')
  expect(swept.code).toBe(0)
  expect(listRequests(server)).toHaveLength(3)
  expect(deleted(server)).toEqual([...old].sort())
  expect(server.items.size).toBe(200)
  const lines = swept.stdout.trim().split('\n')
  expect(lines.filter((l) => l.startsWith('crud: deleted smoke-'))).toHaveLength(50)
  expect(lines).toContain(`crud: deleted smoke-0  DELETE ${server.url}/items/rec-000 → 204`)
  expect(lines.at(-1)).toBe('crud: found 50, deleted 50, kept 200 (not ours or too young)')
  expect(swept.stdout).not.toContain(TOKEN)
})

test('--dry-run lists the 50 and deletes nothing', async () => {
  const { server, run } = await setup()
  seed(server)
  const swept = await run('--dry-run')
  expect(swept.code).toBe(0)
  expect(server.deletes.size).toBe(0)
  expect(server.items.size).toBe(250)
  const lines = swept.stdout.trim().split('\n')
  expect(lines.filter((l) => l.startsWith('crud: would delete smoke-'))).toHaveLength(50)
  expect(lines.at(-1)).toBe('crud: found 50, would delete 50, kept 200 (not ours or too young) (dry run: nothing deleted)')
})

test('max bounds the deletions of one sweep; the rest wait for the next', async () => {
  const { server, run } = await setup({ max: 20 })
  seed(server)
  const first = await run()
  expect(first.code).toBe(0)
  expect(server.deletes.size).toBe(20)
  expect(first.stdout.trim().split('\n').at(-1)).toBe(
    'crud: found 50, deleted 20, kept 200 (not ours or too young); 30 left for the next sweep (max 20 per sweep)',
  )
  await run()
  await run()
  expect(server.deletes.size).toBe(50)
  expect(server.items.size).toBe(200)
})

test(`pagination stops at ${MAX_SWEEP_PAGES} pages`, async () => {
  const { server, run } = await setup()
  seed(server)
  // A list whose next never ends (a cursor bug in the API).
  server.nextOverride = (page) => `/items?size=100&page=${(page + 1) % 3}&n=${page + 1}`
  const swept = await run('--dry-run')
  expect(swept.code).toBe(0)
  expect(listRequests(server)).toHaveLength(MAX_SWEEP_PAGES)
  expect(swept.stdout).toContain(`stopped after ${MAX_SWEEP_PAGES} pages`)
})

test('a next page on another origin is refused: nothing is sent there, nothing is deleted, exit 1', async () => {
  const { server, run } = await setup()
  const other = await startItemsApi()
  cleanups.defer(() => other.close())
  seed(server)
  server.nextOverride = () => `${other.url}/items?size=100&page=1`
  const swept = await run()
  expect(swept.code).toBe(1)
  expect(swept.stderr).toContain(
    `crud: sweep failed: list page 1: the next page is on another origin (${other.url}, not ${server.url}); refused`,
  )
  expect(other.requests).toEqual([])
  expect(server.deletes.size).toBe(0)
})

test('a failing delete fails the sweep (exit 1) and the others still go', async () => {
  const { server, run } = await setup()
  seed(server)
  server.deleteBroken = true
  const swept = await run()
  expect(swept.code).toBe(1)
  expect(swept.stdout).toContain('crud: not deleted smoke-0')
  expect(swept.stderr).toContain('crud: sweep failed: 50 deletes failed')
})

test('--only names a probe with a sweep, or it is a usage error', async () => {
  const { run } = await setup()
  const wrong = await run('--only', 'nope')
  expect(wrong.code).toBe(2)
  expect(wrong.stderr).toContain('--only: no probe named "nope" declares a sweep (probes with a sweep: crud)')
})
