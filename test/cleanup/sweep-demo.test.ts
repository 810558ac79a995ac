/**
 * The example probe's sweep (probes/items-crud.yaml) as the CLI runs it,
 * against the real demo API and its paginated list.
 */
import { afterEach, expect, test } from 'vitest'
import { type DemoApi, type DemoItem, startDemoApi } from '../../demo/server.ts'
import { cli } from '../cli/helpers.ts'

const TOKEN = 'sweep-demo-token-5e6f'
let api: DemoApi | undefined
afterEach(() => api?.close())

test('the example sweep deletes the old smoke- items across pages of the demo API, and nothing else', async () => {
  api = await startDemoApi({ token: TOKEN })
  const items = api.items as Map<string, DemoItem>
  const old = new Date(Date.now() - 2 * 3_600_000).toISOString()
  for (let i = 0; i < 230; i++) {
    const name = i % 10 === 0 ? `smoke-old-${i}` : i % 10 === 1 ? `smoke-new-${i}` : `customer-${i}`
    const createdAt = i % 10 === 1 ? new Date().toISOString() : old
    items.set(`id-${i}`, { id: `id-${i}`, name, createdAt })
  }
  const env = { ITEMS_API_URL: api.url, ITEMS_API_TOKEN: TOKEN }
  const dry = await cli(['sweep', '--dry-run', '--probes', 'probes', '--only', 'items-crud'], { env })
  expect(dry.code).toBe(0)
  expect(dry.stdout.trim().split('\n').at(-1)).toBe(
    'items-crud: found 23, would delete 23, kept 207 (not ours or too young) (dry run: nothing deleted)',
  )
  expect(items.size).toBe(230)

  const swept = await cli(['sweep', '--probes', 'probes'], { env })
  expect(swept.code).toBe(0)
  expect(swept.stdout.trim().split('\n').at(-1)).toBe('items-crud: found 23, deleted 23, kept 207 (not ours or too young)')
  expect([...items.values()].filter((item) => item.name.startsWith('smoke-old-'))).toEqual([])
  expect(items.size).toBe(207)
  expect(swept.stdout + swept.stderr).not.toContain(TOKEN)
})
