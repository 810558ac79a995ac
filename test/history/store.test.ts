import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHistory, HISTORY_DIR, type History, MAX_FILE_BYTES } from '../../src/history/store.ts'
import { parseHistoryQuery } from '../../src/history/query.ts'
import type { Judgement } from '../../src/judge/judge.ts'
import type { RunResult } from '../../src/probe/result.ts'
import { failedRun, passedRun } from '../support/run-results.ts'

let dir: string
let logs: string[]
let clock: number
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-history-'))
  logs = []
  clock = Date.parse('2026-01-01T00:10:00Z')
})
afterEach(() => rm(dir, { recursive: true, force: true }))

async function open(names = ['items-crud']): Promise<History> {
  const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(line) })
  const history = createHistory({ stateDir: dir, logger, now: () => clock })
  history.configure(names)
  await history.whenLoaded()
  return history
}

const at = (minute: number) => `2026-01-01T00:0${minute}:00.000Z`
const passed = (minute: number): RunResult => ({ ...passedRun, startedAt: at(minute) })
const failed = (minute: number): RunResult => ({ ...failedRun, probe: 'items-crud', startedAt: at(minute) })
const plain: Judgement = { outcome: 'success', muted: false }
const file = () => join(dir, HISTORY_DIR, 'items-crud.log')

describe('history store', () => {
  it('records what happens while its file is still being read, after what the file held', async () => {
    const first = await open()
    first.recordRun(passed(1), plain)
    await first.flush()
    const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(line) })
    const second = createHistory({ stateDir: dir, logger, now: () => clock })
    second.configure(['items-crud'])
    second.recordRun(passed(2), plain)
    await second.whenLoaded()
    expect(second.document('items-crud', {})?.runs.map((r) => r.at)).toEqual([at(1), at(2)])
    await second.flush()
    expect((await open()).document('items-crud', {})?.runs.map((r) => r.at)).toEqual([at(1), at(2)])
  })

  it('a restart keeps the runs, the incidents and who was notified', async () => {
    const first = await open()
    first.recordRun(passed(1), plain)
    first.recordRun(failed(2), { outcome: 'failure', muted: true })
    first.opened('items-crud', 'inc-1', Date.parse(at(2)))
    first.notified('items-crud', 'inc-1', 'hook', 'firing', 'failed', Date.parse(at(3)))
    first.notified('items-crud', 'inc-1', 'hook', 'firing', 'sent', Date.parse(at(4)))
    first.recordRun(passed(5), plain)
    first.resolved('items-crud', Date.parse(at(5)))
    await first.flush()
    const before = first.document('items-crud', {})

    const second = await open()
    expect(second.document('items-crud', {})).toEqual(before)
    expect(before).toEqual({
      version: 1,
      probe: 'items-crud',
      runs: [
        { at: at(1), outcome: 'success', durationMs: 182.4, step: null, reason: null },
        { at: at(2), outcome: 'failure', durationMs: 5012, step: 'read', reason: 'status', muted: true },
        { at: at(5), outcome: 'success', durationMs: 182.4, step: null, reason: null },
      ],
      incidents: [
        {
          id: 'inc-1',
          openedAt: at(2),
          resolvedAt: at(5),
          notifications: [
            { channel: 'hook', event: 'firing', result: 'failed', at: at(3) },
            { channel: 'hook', event: 'firing', result: 'sent', at: at(4) },
          ],
        },
      ],
    })
    expect(second.view('items-crud', 60)?.steps.map((p) => p.steps)).toEqual([
      { create: 41.2, delete: 9 },
      { read: 120 },
      { create: 41.2, delete: 9 },
    ])
    expect(logs).toEqual([])
  })

  it('?since and ?limit cut the newest runs; an incident still open is always listed', async () => {
    const history = await open()
    for (let m = 1; m <= 5; m++) history.recordRun(passed(m), plain)
    history.opened('items-crud', 'inc-1', Date.parse(at(1)))
    expect(history.document('items-crud', { since: Date.parse(at(4)) })?.runs.map((r) => r.at)).toEqual([at(4), at(5)])
    expect(history.document('items-crud', { limit: 2 })?.runs.map((r) => r.at)).toEqual([at(4), at(5)])
    expect(history.document('items-crud', { since: Date.parse(at(5)) })?.incidents).toHaveLength(1)
    expect(history.document('nope', {})).toBeNull()
  })

  it('a torn last line is dropped on load, the lines before it kept', async () => {
    const first = await open()
    first.recordRun(passed(1), plain)
    first.recordRun(passed(2), plain)
    await first.flush()
    await appendFile(file(), '1234abcd {"k":"run","at":')
    const second = await open()
    expect(second.document('items-crud', {})?.runs).toHaveLength(2)
    expect(logs.join('')).toContain('dropped a torn last record')
    second.recordRun(passed(3), plain)
    await second.flush()
    expect((await open()).document('items-crud', {})?.runs).toHaveLength(3)
  })

  it('a file of an older version is set aside, not fatal, and history starts empty', async () => {
    await mkdir(join(dir, HISTORY_DIR), { recursive: true })
    const header = '{"version":0}'
    await writeFile(file(), `${crc32(header).toString(16).padStart(8, '0')} ${header}\n`)
    const history = await open()
    expect(history.document('items-crud', {})?.runs).toEqual([])
    expect(logs.join('')).toContain('has version 0, expected 1')
    expect(await readdir(join(dir, HISTORY_DIR))).toContain('items-crud.log.corrupt')
  })

  it('a 2 GB file is not read: it is set aside unread and history starts empty', async () => {
    await mkdir(join(dir, HISTORY_DIR), { recursive: true })
    await writeFile(file(), '')
    await truncate(file(), 2 * 1024 ** 3) // sparse: costs no disk
    const history = await open()
    expect(history.document('items-crud', {})?.runs).toEqual([])
    expect(logs.join('')).toContain(`larger than ${MAX_FILE_BYTES} bytes, not read`)
    expect((await stat(`${file()}.too-large`)).size).toBe(2 * 1024 ** 3)
    history.recordRun(passed(1), plain)
    await history.flush()
    expect((await readFile(file(), 'utf8')).split('\n')).toHaveLength(3)
  })

  it('a probe removed from the configuration is forgotten in memory; its file stays for when it returns', async () => {
    const history = await open(['items-crud', 'other'])
    history.recordRun(passed(1), plain)
    await history.flush()
    history.configure(['other'])
    expect(history.document('items-crud', {})).toBeNull()
    history.configure(['other', 'items-crud'])
    await history.whenLoaded()
    expect(history.document('items-crud', {})?.runs).toHaveLength(1)
  })

  it('runs older than 7 days leave memory and the document', async () => {
    const history = await open()
    history.recordRun(passed(1), plain)
    clock += 7 * 24 * 3_600_000 + 60_001
    expect(history.document('items-crud', {})?.runs).toEqual([])
  })
})

describe('history query', () => {
  it.each([
    ['', { ok: true, query: {} }],
    ['since=2026-01-01T00:00:00Z&limit=10', { ok: true, query: { since: Date.parse('2026-01-01T00:00:00Z'), limit: 10 } }],
    ['limit=abc', { ok: false, reason: 'limit: expected a whole number from 1 to 10000, got "abc"' }],
    ['limit=0', { ok: false, reason: 'limit: expected a whole number from 1 to 10000, got "0"' }],
    ['limit=10001', { ok: false, reason: 'limit: expected a whole number from 1 to 10000, got "10001"' }],
    ['limit=1e3', { ok: false, reason: 'limit: expected a whole number from 1 to 10000, got "1e3"' }],
    ['since=yesterday', { ok: false, reason: 'since: expected an ISO 8601 time such as 2026-01-31T12:00:00Z, got "yesterday"' }],
    [
      'since=2026-13-01T00:00:00Z',
      { ok: false, reason: 'since: expected an ISO 8601 time such as 2026-01-31T12:00:00Z, got "2026-13-01T00:00:00Z"' },
    ],
    ['until=now', { ok: false, reason: 'unknown parameter "until" (expected since, limit)' }],
  ])('?%s', (search, expected) => {
    expect(parseHistoryQuery(new URLSearchParams(search))).toEqual(expected)
  })
})
