import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { stringify } from 'yaml'
import { JOURNAL_FILE } from '../../src/cleanup/journal.ts'
import { cli, tempFiles } from '../cli/helpers.ts'
import { Cleanups } from '../daemon/harness.ts'
import { crudProbe, pendingOnDisk, startItemsApi } from './items-api.ts'

const TOKEN = 'run-once-token-77aa01'
const cleanups = new Cleanups()
afterEach(() => cleanups.run())

test('run --once --state-dir keeps a failed cleanup in the journal, and the next call deletes it first', async () => {
  const server = await startItemsApi({ token: TOKEN })
  cleanups.defer(() => server.close())
  const files = await tempFiles({ 'crud.yaml': stringify(crudProbe('crud', server.url)) })
  cleanups.defer(files.remove)
  const stateDir = path.join(files.dir, 'state')
  const args = ['run', '--once', '--probes', path.join(files.dir, 'crud.yaml'), '--state-dir', stateDir]
  const env = { API_TOKEN: TOKEN }

  server.deleteBroken = true
  const broken = await cli(args, { env })
  expect(broken.code).toBe(1)
  const left = server.created[0]!
  expect(server.items.has(left)).toBe(true)
  expect(await pendingOnDisk(stateDir)).toHaveLength(1)
  expect(await readFile(path.join(stateDir, JOURNAL_FILE), 'utf8')).not.toContain(TOKEN)

  server.deleteBroken = false
  const healed = await cli(args, { env })
  expect(healed.code).toBe(0)
  expect(healed.stderr).toContain('cleanup journal: 1 leftover cleanup done, 0 still failing')
  // The leftover went before the run's own create.
  const leftoverDelete = server.requests.lastIndexOf(`DELETE /items/${left}`)
  expect(leftoverDelete).toBeLessThan(server.requests.lastIndexOf('POST /items'))
  expect(server.items.size).toBe(0)
  expect(server.deletes.get(left)).toEqual([503, 204])
  expect(await pendingOnDisk(stateDir)).toEqual([])
})

test('run --once without --state-dir journals nothing', async () => {
  const server = await startItemsApi({ token: TOKEN })
  cleanups.defer(() => server.close())
  const files = await tempFiles({ 'crud.yaml': stringify(crudProbe('crud', server.url)) })
  cleanups.defer(files.remove)
  server.deleteBroken = true
  const run = await cli(['run', '--once', '--probes', path.join(files.dir, 'crud.yaml')], { env: { API_TOKEN: TOKEN }, cwd: files.dir })
  expect(run.code).toBe(1)
  await expect(readFile(path.join(files.dir, 'state', JOURNAL_FILE))).rejects.toThrow(/ENOENT/)
})

test('run --once --state-dir refuses a directory a live process holds', async () => {
  const files = await tempFiles({
    'health.yaml': stringify({ name: 'h', steps: [{ name: 's', request: { url: 'http://127.0.0.1:9/' } }] }),
  })
  cleanups.defer(files.remove)
  const stateDir = path.join(files.dir, 'state')
  await mkdir(stateDir)
  // pid 1 is alive in every container and on every host.
  await writeFile(path.join(stateDir, 'smokeprobe.lock'), '1\n')
  const run = await cli(['run', '--once', '--probes', path.join(files.dir, 'health.yaml'), '--state-dir', stateDir])
  expect(run.code).toBe(2)
  expect(run.stderr).toContain('is in use by another smokeprobe (pid 1')
})
