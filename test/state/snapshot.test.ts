import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as z from 'zod'
import { StateUnreadableError } from '../../src/state/fs.ts'
import { createSnapshot, type SnapshotSpec } from '../../src/state/snapshot.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-snapshot-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

interface Mutes {
  readonly mutes: readonly { readonly probe: string; readonly until: string }[]
}
const MutesSchema = z.object({ mutes: z.array(z.object({ probe: z.string(), until: z.string() })) }) satisfies z.ZodType<Mutes>

function spec(overrides: Partial<SnapshotSpec<Mutes>> = {}): SnapshotSpec<Mutes> {
  return {
    name: 'mutes.json',
    label: 'mutes',
    version: 1,
    schema: MutesSchema,
    empty: { mutes: [] },
    unreadable: 'set-aside',
    ...overrides,
  }
}
const DATA: Mutes = { mutes: [{ probe: 'items-crud', until: '2026-12-01T11:00:00.000Z' }] }
const path = () => join(dir, 'mutes.json')

describe('snapshot file', () => {
  it('writes { version, ...data } and loads it back', async () => {
    expect(await createSnapshot(dir, spec()).save(DATA)).toEqual({ error: null })
    expect(JSON.parse(await readFile(path(), 'utf8'))).toEqual({ version: 1, ...DATA })
    expect(await createSnapshot(dir, spec()).load()).toEqual({ data: DATA, warning: null })
  })

  it('migrates each older version in turn, v1 → v2 → v3', async () => {
    await writeFile(path(), JSON.stringify({ version: 1, muted: ['items-crud'] }))
    const migrations = {
      1: (body: unknown) => ({ mutes: (body as { muted: string[] }).muted.map((probe) => ({ probe })) }),
      2: (body: unknown) => ({ mutes: (body as { mutes: { probe: string }[] }).mutes.map((m) => ({ ...m, until: DATA.mutes[0]!.until })) }),
    }
    expect(await createSnapshot(dir, spec({ version: 3, migrations })).load()).toEqual({ data: DATA, warning: null })
  })

  it('a version without a migration path is set aside, not guessed at', async () => {
    await writeFile(path(), JSON.stringify({ version: 1, mutes: [] }))
    const { data, warning } = await createSnapshot(dir, spec({ version: 3, migrations: { 2: (body) => body } })).load()
    expect(data).toEqual({ mutes: [] })
    expect(warning).toBe(`mutes ${path()} has version 1, expected 3; kept as ${path()}.corrupt; starting with empty mutes`)
  })

  it('a migration that throws sets the file aside with its reason', async () => {
    await writeFile(path(), JSON.stringify({ version: 1 }))
    const migrations = {
      1: () => {
        throw new Error('no muted list')
      },
    }
    const { warning } = await createSnapshot(dir, spec({ version: 2, migrations })).load()
    expect(warning).toMatch(/cannot be migrated from version 1 \(no muted list\); kept as/)
  })

  it('an unreadable file: refused when the caller says so, else set aside and replaced', async () => {
    await mkdir(path())
    const refusing = createSnapshot(dir, spec({ unreadable: 'refuse' }))
    await expect(refusing.load()).rejects.toBeInstanceOf(StateUnreadableError)
    expect((await refusing.save(DATA)).error).toContain('could not be read at start')
    const { data, warning } = await createSnapshot(dir, spec()).load()
    expect(data).toEqual({ mutes: [] })
    expect(warning).toMatch(/^mutes .* cannot be read \(EISDIR.*\); kept as .*mutes\.json\.unreadable; starting with empty mutes$/)
    expect(await createSnapshot(dir, spec()).save(DATA)).toEqual({ error: null })
    expect((await readdir(dir)).sort()).toEqual(['mutes.json', 'mutes.json.unreadable'])
  })

  it('a dangling symlink set aside is the link, not its target', async () => {
    await symlink(join(dir, 'mnt', 'gone.json'), path())
    const { warning } = await createSnapshot(dir, spec()).load()
    expect(warning).toMatch(/ENOENT.*kept as/)
    expect(await createSnapshot(dir, spec()).load()).toEqual({ data: { mutes: [] }, warning: null })
  })

  it('every write attempt is reported; the cause is logged once and the recovery once', async () => {
    const writes: (string | null)[] = []
    const logged: string[] = []
    const logger = { error: (_: unknown, msg: string) => logged.push(msg), info: (_: unknown, msg: string) => logged.push(msg) }
    const snapshot = createSnapshot(dir, spec({ onWrite: (error) => writes.push(error), logger: logger as never }))
    await mkdir(join(path(), 'occupied'), { recursive: true })
    const first = await snapshot.save(DATA)
    await snapshot.save(DATA)
    expect(first.error).toMatch(/^cannot rename the temp file over the state file: \w+ \(/)
    expect(writes).toEqual([first.error, first.error])
    expect(logged).toEqual(['cannot write mutes'])
    await rm(path(), { recursive: true })
    await snapshot.save(DATA)
    expect(logged).toEqual(['cannot write mutes', 'mutes written again'])
  })
})
