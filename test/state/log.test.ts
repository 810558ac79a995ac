import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as z from 'zod'
import { StateUnreadableError } from '../../src/state/fs.ts'
import { createLog, type LogSpec } from '../../src/state/log.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-log-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

interface Run {
  readonly at: number
  readonly outcome: 'success' | 'failure'
}
const RunSchema = z.object({ at: z.number(), outcome: z.enum(['success', 'failure']) }) satisfies z.ZodType<Run>

function spec(overrides: Partial<LogSpec<Run>> = {}): LogSpec<Run> {
  return {
    name: 'history.log',
    label: 'run history',
    version: 1,
    schema: RunSchema,
    unreadable: 'set-aside',
    maxRecords: 100,
    retain: (records) => records,
    ...overrides,
  }
}

const run = (at: number): Run => ({ at, outcome: at % 2 ? 'failure' : 'success' })
const file = () => join(dir, 'history.log')

async function reopen(overrides: Partial<LogSpec<Run>> = {}) {
  return createLog(dir, spec(overrides)).load()
}

describe('append-only log', () => {
  it('a missing file loads empty; appends are on disk after flush and load back in order', async () => {
    const log = createLog(dir, spec())
    expect(await log.load()).toEqual({ records: [], warnings: [] })
    for (let i = 0; i < 5; i++) log.append(run(i))
    expect(await log.flush()).toEqual({ error: null })
    expect(await reopen()).toEqual({ records: [0, 1, 2, 3, 4].map(run), warnings: [] })
  })

  it('frames every record as one line with its crc32, after a version header', async () => {
    const log = createLog(dir, spec())
    await log.load()
    log.append(run(7))
    await log.flush()
    const lines = (await readFile(file(), 'utf8')).split('\n')
    expect(lines).toEqual([expect.stringMatching(/^[0-9a-f]{8} \{"version":1\}$/), expect.stringMatching(/^[0-9a-f]{8} \{"at":7,/), ''])
  })

  it('batches a burst of appends into one write and does not block the caller', async () => {
    const writes: (string | null)[] = []
    const log = createLog(dir, spec({ onWrite: (error) => writes.push(error) }))
    await log.load()
    for (let i = 0; i < 50; i++) log.append(run(i))
    // Nothing awaited yet: nothing written yet.
    await expect(readFile(file())).rejects.toThrow(/ENOENT/)
    await log.flush()
    expect(writes).toEqual([null])
    expect((await reopen()).records).toHaveLength(50)
  })

  it('drops a torn last record with a warning, keeps the rest, and appends after the cut', async () => {
    const log = createLog(dir, spec())
    await log.load()
    log.append(run(1))
    log.append(run(2))
    await log.flush()
    await writeFile(file(), `${await readFile(file(), 'utf8')}0badc0de {"at":3,"outc`)
    const again = createLog(dir, spec())
    const loaded = await again.load()
    expect(loaded.records).toEqual([run(1), run(2)])
    expect(loaded.warnings).toEqual([expect.stringMatching(/^run history .*history\.log: dropped a torn last record \(\d+ bytes\)/)])
    again.append(run(4))
    await again.flush()
    expect(await reopen()).toEqual({ records: [run(1), run(2), run(4)], warnings: [] })
  })

  it('drops a record whose checksum, JSON or shape is wrong and keeps the records after it', async () => {
    const log = createLog(dir, spec())
    await log.load()
    for (let i = 1; i <= 4; i++) log.append(run(i))
    await log.flush()
    const lines = (await readFile(file(), 'utf8')).split('\n')
    lines[2] = lines[2]!.replace('"at":2', '"at":9') // a flipped byte
    lines[3] = `00000000 {"at":3}` // no valid checksum
    await writeFile(file(), lines.join('\n'))
    const { records, warnings } = await reopen()
    expect(records).toEqual([run(1), run(4)])
    expect(warnings).toEqual([expect.stringContaining('dropped 2 corrupt record(s) (first: line 3: checksum mismatch)')])
  })

  it('a file without a valid header is set aside and the log starts empty', async () => {
    await writeFile(file(), 'not a log\n')
    const { records, warnings } = await reopen()
    expect(records).toEqual([])
    expect(warnings[0]).toMatch(
      /has no valid header line \(no checksum\); kept as .*history\.log\.corrupt; starting with empty run history/,
    )
    expect(await readFile(`${file()}.corrupt`, 'utf8')).toBe('not a log\n')
  })

  it('compacts once the file exceeds its bound, keeping what retain keeps, atomically', async () => {
    const log = createLog(dir, spec({ maxRecords: 10, retain: (records) => records.slice(-4) }))
    await log.load()
    for (let i = 0; i < 10; i++) log.append(run(i))
    await log.flush()
    expect((await reopen()).records).toHaveLength(10)
    log.append(run(10))
    await log.flush()
    expect((await reopen()).records).toEqual([7, 8, 9, 10].map(run))
    expect(await readdir(dir)).toEqual(['history.log'])
  })

  it('a retention that keeps everything does not rewrite the file on every append', async () => {
    const rewrites: number[] = []
    const log = createLog(
      dir,
      spec({
        maxRecords: 4,
        retain: (records) => {
          rewrites.push(records.length)
          return records
        },
      }),
    )
    await log.load()
    for (let i = 0; i < 40; i++) {
      log.append(run(i))
      await log.flush()
    }
    // At 5, 11, 23: each time twice what the last one kept.
    expect(rewrites).toEqual([5, 11, 23])
    expect((await reopen()).records).toHaveLength(40)
  })

  it('migrates the records of an older version and rewrites the file in the current one', async () => {
    const { retain: _, ...common } = spec()
    const v1 = createLog(dir, { ...common, schema: z.object({ at: z.number(), ok: z.boolean() }), retain: (records) => records })
    await v1.load()
    v1.append({ at: 1, ok: false })
    await v1.flush()
    const migrations = {
      1: (body: unknown) => ({ at: (body as { at: number }).at, outcome: (body as { ok: boolean }).ok ? 'success' : 'failure' }),
    }
    const v2 = createLog(dir, spec({ version: 2, migrations }))
    expect(await v2.load()).toEqual({ records: [{ at: 1, outcome: 'failure' }], warnings: [] })
    v2.append(run(2))
    await v2.flush()
    expect((await readFile(file(), 'utf8')).split('\n')[0]).toMatch(/\{"version":2\}$/)
    expect(await reopen({ version: 2 })).toEqual({ records: [{ at: 1, outcome: 'failure' }, run(2)], warnings: [] })
  })

  it('a log of a newer version is set aside, not guessed at', async () => {
    await createLog(dir, spec({ version: 3 })).load()
    const newer = createLog(dir, spec({ version: 3 }))
    await newer.load()
    newer.append(run(1))
    await newer.flush()
    expect((await reopen()).warnings).toEqual([expect.stringContaining('has version 3, expected 1; kept as')])
  })

  it('refuses or sets aside an unreadable file, as the caller chose', async () => {
    await symlink(join(dir, 'mnt', 'gone.log'), file())
    await expect(createLog(dir, spec({ unreadable: 'refuse' })).load()).rejects.toBeInstanceOf(StateUnreadableError)
    const { records, warnings } = await reopen()
    expect(records).toEqual([])
    expect(warnings).toEqual([
      expect.stringMatching(/run history .* cannot be read \(ENOENT.*\); kept as .*\.unreadable; starting with empty run history/),
    ])
  })

  it('a failed write is reported once per cause, keeps the records, and the next flush writes them', async () => {
    const writes: (string | null)[] = []
    const logged: string[] = []
    const logger = { error: (_: unknown, msg: string) => logged.push(msg), info: (_: unknown, msg: string) => logged.push(msg) }
    const log = createLog(dir, spec({ onWrite: (error) => writes.push(error), logger: logger as never }))
    await log.load()
    await mkdir(file()) // root-proof: a directory where the log goes
    log.append(run(1))
    const first = await log.flush()
    log.append(run(2))
    const second = await log.flush()
    expect(first.error).toMatch(/^cannot open the log: EISDIR \(/)
    expect(second).toEqual(first)
    expect(writes).toEqual([first.error, first.error])
    expect(logged).toEqual(['cannot write run history'])
    await rm(file(), { recursive: true })
    expect(await log.flush()).toEqual({ error: null })
    expect(logged).toEqual(['cannot write run history', 'run history written again'])
    expect((await reopen()).records).toEqual([run(1), run(2)])
  })

  it('while writes fail, holds at most maxRecords in memory, dropping the oldest and saying so', async () => {
    const warned: unknown[] = []
    const logger = { error: () => undefined, info: () => undefined, warn: (fields: unknown) => warned.push(fields) }
    await writeFile(join(dir, 'file'), '')
    const blocked = createLog(join(dir, 'file'), spec({ maxRecords: 3, logger: logger as never }))
    await blocked.load()
    for (let i = 0; i < 5; i++) blocked.append(run(i))
    expect((await blocked.flush()).error).toMatch(/ENOTDIR|EEXIST/)
    expect(warned).toEqual([{ path: join(dir, 'file', 'history.log'), dropped: 2 }])
    await rm(join(dir, 'file'))
    await mkdir(join(dir, 'file'))
    expect(await blocked.flush()).toEqual({ error: null })
    expect((await createLog(join(dir, 'file'), spec()).load()).records).toEqual([2, 3, 4].map(run))
  })

  it('appending before load is a bug', () => {
    expect(() => createLog(dir, spec()).append(run(1))).toThrow(/load\(\) the log before appending/)
  })
})
