import { statSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest'
import * as z from 'zod'
import { BUILTIN_POLICY } from '../../src/config/alert-policy.ts'
import type { OutboxEntry } from '../../src/alerting/delivery.ts'
import type { Notification } from '../../src/alerting/notification.ts'
import type { AlertState } from '../../src/alerting/state.ts'
import {
  type AlertStateSchema,
  createStore,
  EMPTY_ALERTS,
  type NotificationSchema,
  OutboxEntrySchema,
  type ProbeRecord,
  ProbeRecordSchema,
  policyHash,
  STATE_FILE,
  StateUnreadableError,
  type StoredAlerts,
  type StoredAlertsSchema,
} from '../../src/alerting/store.ts'
import { createSnapshot } from '../../src/state/snapshot.ts'
import { notification } from './fakes.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-store-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const DATA: StoredAlerts = {
  probes: {
    'items-crud': {
      policy: { ...BUILTIN_POLICY, channels: ['oncall'] },
      policyHash: policyHash({ ...BUILTIN_POLICY, channels: ['oncall'] }),
      labels: { team: 'storefront' },
      paged: [{ name: 'oncall', hash: '0123456789abcdef' }],
      state: {
        kind: 'firing',
        since: '2026-03-01T10:00:00.000Z',
        failures: 5,
        failedRuns: 5,
        lastFailure: { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' },
        lastNotifiedAt: '2026-03-01T10:04:00.000Z',
        reminders: 0,
      },
      incidentId: 'inc1',
    },
    orders: {
      policy: BUILTIN_POLICY,
      policyHash: policyHash(BUILTIN_POLICY),
      labels: {},
      paged: [],
      state: { kind: 'ok' },
      incidentId: null,
    },
  },
  outbox: [
    {
      channel: 'oncall',
      identity: null,
      notification: notification(),
      attempts: 2,
      enqueuedAt: '2026-03-01T10:04:00.000Z',
      firstAttemptAt: '2026-03-01T10:04:00.000Z',
      nextAttemptAt: '2026-03-01T10:04:03.000Z',
      lastError: 'HTTP 503',
    },
  ],
}

/** DATA with its queued delivery at `attempts`: a save whose content says which one it was. */
function withAttempts(attempts: number): StoredAlerts {
  return { ...DATA, outbox: [{ ...DATA.outbox[0]!, attempts }] }
}

/**
 * Reads and parses the state file in a loop (bounded) while saves run;
 * `stop()` resolves to the number of reads, and rejects when a read ever
 * saw half a file.
 */
function readWhileSaving(path: string): { stop(): Promise<number> } {
  let reading = true
  let reads = 0
  const reader = (async () => {
    while (reading && reads < 100_000) {
      JSON.parse(await readFile(path, 'utf8'))
      reads++
    }
  })()
  return {
    async stop() {
      reading = false
      await reader
      return reads
    },
  }
}

describe('store', () => {
  it('a missing file loads as empty state without a warning', async () => {
    expect(await createStore(join(dir, 'not-yet')).load()).toEqual({ data: EMPTY_ALERTS, warning: null })
  })

  it('round-trips state and outbox through a versioned file', async () => {
    const store = createStore(join(dir, 'state'))
    expect(await store.save(DATA)).toEqual({ error: null })
    expect(JSON.parse(await readFile(store.path, 'utf8')).version).toBe(1)
    expect(await createStore(join(dir, 'state')).load()).toEqual({ data: DATA, warning: null })
  })

  it('keeps a queued notification’s failure evidence across a restart', async () => {
    const error = { step: 'read', message: 'read: expected status 200, got 500', status: 500, contentType: 'application/json', excerpt: '{"error":"db down"}' }
    const data: StoredAlerts = { ...DATA, outbox: [{ ...DATA.outbox[0]!, notification: notification({ error }) }] }
    const store = createStore(join(dir, 'state'))
    expect(await store.save(data)).toEqual({ error: null })
    expect((await createStore(join(dir, 'state')).load()).data.outbox[0]?.notification.error).toEqual(error)
  })

  it('keeps the probe’s description and runbook, on its record and its queued notification, across a restart', async () => {
    const about = { description: 'Create, read and delete an item', runbook: 'https://wiki.example.test/runbooks/items-crud' }
    const data: StoredAlerts = {
      probes: { 'items-crud': { ...DATA.probes['items-crud']!, ...about } },
      outbox: [{ ...DATA.outbox[0]!, notification: notification(about) }],
    }
    const store = createStore(join(dir, 'state'))
    expect(await store.save(data)).toEqual({ error: null })
    const loaded = (await createStore(join(dir, 'state')).load()).data
    expect(loaded.probes['items-crud']).toMatchObject(about)
    expect(loaded.outbox[0]?.notification).toMatchObject(about)
  })

  it('loads a file written before incident ids and channel identities were stored', async () => {
    const { incidentId: _, ...record } = DATA.probes['items-crud']!
    const { identity: __, ...entry } = DATA.outbox[0]!
    await mkdir(join(dir, 'old'))
    const old = { version: 1, probes: { 'items-crud': { ...record, paged: ['oncall'] } }, outbox: [entry] }
    await writeFile(join(dir, 'old', STATE_FILE), JSON.stringify(old))
    const { data, warning } = await createStore(join(dir, 'old')).load()
    expect(warning).toBeNull()
    // Unknown, not guessed: the alerter takes an unknown hash to be the current destination.
    expect(data.probes['items-crud']).toEqual({ ...record, paged: [{ name: 'oncall', hash: null }], incidentId: null })
    expect(data.outbox).toEqual([{ ...entry, identity: null }])
  })

  const BROKEN: [string, string, RegExp][] = [
    ['truncated', '{"version":1,"probes":{"items-crud":{"policy"', /is corrupt \(/],
    ['empty', '', /is corrupt \(/],
    ['garbage', '\u0000\u0001\u00ff binary', /is corrupt \(/],
    ['another version', '{"version":2,"probes":{},"outbox":[]}', /has version 2, expected 1/],
    ['no version', '[]', /has version undefined, expected 1/],
    [
      'the wrong shape',
      '{"version":1,"probes":{"a":{"state":{"kind":"burning"}}},"outbox":[]}',
      /does not match the expected shape \(probes\.a\./,
    ],
  ]
  for (const [name, text, message] of BROKEN) {
    it(`a ${name} file is reported, set aside and replaced by empty state`, async () => {
      await writeFile(join(dir, STATE_FILE), text)
      const { data, warning } = await createStore(dir).load()
      expect(data).toEqual(EMPTY_ALERTS)
      expect(warning).toMatch(message)
      expect(warning).toContain('starting with empty alert state')
      expect(warning).toContain(`kept as ${join(dir, STATE_FILE)}.corrupt`)
      expect(await readFile(join(dir, `${STATE_FILE}.corrupt`), 'utf8')).toBe(text)
      expect(await createStore(dir).load()).toEqual({ data: EMPTY_ALERTS, warning: null })
    })
  }

  // As root no mode bit stops a read, so "there but unreadable" is made of
  // what stops root too: a directory, a dangling symlink, a symlink loop.
  const UNREADABLE: [string, (path: string) => Promise<void>, RegExp][] = [
    ['a directory', (path) => mkdir(path), /EISDIR/],
    ['a dangling symlink (its volume not mounted)', (path) => symlink(join(dir, 'mnt', 'gone.json'), path), /ENOENT/],
    ['a symlink loop', (path) => symlink(path, path), /ELOOP/],
  ]
  for (const [name, make, code] of UNREADABLE) {
    it(`a state file that is ${name} is refused and never replaced`, async () => {
      const path = join(dir, STATE_FILE)
      await make(path)
      const before = await lstat(path)
      const store = createStore(dir)
      const load = store.load()
      await expect(load).rejects.toBeInstanceOf(StateUnreadableError)
      await expect(load).rejects.toThrow(code)
      await expect(load).rejects.toThrow(`alert state ${path} exists but cannot be read`)
      // Whatever the caller does next, the file stays as it was.
      expect((await store.save(DATA)).error).toContain('could not be read at start')
      const after = await lstat(path)
      expect({ ino: after.ino, dir: after.isDirectory(), link: after.isSymbolicLink() }).toEqual({
        ino: before.ino,
        dir: before.isDirectory(),
        link: before.isSymbolicLink(),
      })
      if (after.isSymbolicLink()) expect(await readlink(path)).toBeTruthy()
    })
  }

  it('a state directory whose parent is a file loads as empty: there is provably no state', async () => {
    await writeFile(join(dir, 'file'), 'not a directory')
    expect(await createStore(join(dir, 'file', 'state')).load()).toEqual({ data: EMPTY_ALERTS, warning: null })
  })

  it('a failed write is a value, not an exception', async () => {
    await writeFile(join(dir, 'file'), 'not a directory')
    const result = await createStore(join(dir, 'file', 'state')).save(DATA)
    expect(result.error).toMatch(/ENOTDIR|EEXIST/)
  })

  it('a repeating write failure reads the same every time (no temp file name) and is reported per write', async () => {
    const writes: (string | null)[] = []
    const store = createStore(dir, { onWrite: (error) => writes.push(error) })
    // Root can write anywhere; a directory where the state file goes makes the rename fail for root too.
    await mkdir(join(dir, STATE_FILE, 'occupied'), { recursive: true })
    const first = await store.save(DATA)
    const second = await store.save(withAttempts(7))
    expect(first.error).toMatch(/^cannot rename the temp file over the state file: (EISDIR|ENOTEMPTY|EEXIST) \(/)
    expect(first.error).not.toMatch(/\.tmp|[0-9a-f]{8}/)
    expect(second.error).toBe(first.error)
    expect(writes).toEqual([first.error, first.error])
    // No temp file is left behind, and the next write after the fault is gone succeeds.
    await rm(join(dir, STATE_FILE), { recursive: true })
    expect(await store.save(DATA)).toEqual({ error: null })
    expect(writes).toEqual([first.error, first.error, null])
    expect(await readdir(dir)).toEqual([STATE_FILE])
  })

  it('serializes and coalesces a burst of saves: every save settles, the newest data wins, readers never see half a file', async () => {
    const store = createStore(dir)
    await store.save(DATA)
    const reader = readWhileSaving(store.path)
    // The inode each save sees when it settles: saves that were coalesced
    // settle together, after one rename, so they all see the same file.
    const inodes: number[] = []
    const saves = Array.from({ length: 50 }, (_, i) =>
      store.save(withAttempts(i)).then((result) => {
        inodes.push(statSync(store.path).ino)
        return result
      }),
    )
    const results = await Promise.all(saves)
    expect(new Set(inodes.slice(1)).size).toBe(1)
    expect(inodes[0]).not.toBe(inodes[1])
    const reads = await reader.stop()
    expect(results.every((r) => r.error === null)).toBe(true)
    expect(reads).toBeGreaterThan(0)
    const { data } = await createStore(dir).load()
    expect(data.outbox[0]?.attempts).toBe(49)
    expect(await readdir(dir)).toEqual([STATE_FILE])
  })

  it('replaces the file atomically: a reader never sees half of it', async () => {
    const store = createStore(dir)
    await store.save(DATA)
    const reader = readWhileSaving(store.path)
    for (let i = 0; i < 40; i++) expect(await store.save(withAttempts(i))).toEqual({ error: null })
    expect(await reader.stop()).toBeGreaterThan(0)
    expect(await readdir(dir)).toEqual([STATE_FILE])
  })

  it('removes temp files a crash left behind, but not the write in flight of a live process', async () => {
    await createStore(dir).save(DATA)
    const dead = deadPid()
    const crashed = `.${STATE_FILE}.${dead}.deadbeef.tmp`
    const inFlight = `.${STATE_FILE}.${process.ppid}.cafebabe.tmp`
    await writeFile(join(dir, crashed), '{"version":1,"pro')
    await writeFile(join(dir, inFlight), '{"version":1,"pro')
    const { data, warning } = await createStore(dir).load()
    expect(warning).toBeNull()
    expect(data).toEqual(DATA)
    expect((await readdir(dir)).sort()).toEqual([inFlight, STATE_FILE])
  })
})

/** Readonly-ness aside (zod's output is mutable), the same type: every key, optional or not, with the same value type. */
type DeepMutable<T> = T extends readonly (infer E)[]
  ? DeepMutable<E>[]
  : T extends object
    ? { -readonly [K in keyof T]: DeepMutable<T[K]> }
    : T

describe('persisted shapes are their types', () => {
  it('each schema outputs exactly its TypeScript type, so no field is dropped on restart (checked by tsc)', () => {
    expectTypeOf<DeepMutable<z.output<typeof StoredAlertsSchema>>>().toEqualTypeOf<DeepMutable<StoredAlerts>>()
    expectTypeOf<DeepMutable<z.output<typeof ProbeRecordSchema>>>().toEqualTypeOf<DeepMutable<ProbeRecord>>()
    expectTypeOf<DeepMutable<z.output<typeof AlertStateSchema>>>().toEqualTypeOf<DeepMutable<AlertState>>()
    expectTypeOf<DeepMutable<z.output<typeof OutboxEntrySchema>>>().toEqualTypeOf<DeepMutable<OutboxEntry>>()
    expectTypeOf<DeepMutable<z.output<typeof NotificationSchema>>>().toEqualTypeOf<DeepMutable<Notification>>()
    // The check bites: a field added to the type (even an optional one) and not to the schema is a type error.
    // @ts-expect-error muted is in the type, not in the schema
    expectTypeOf<DeepMutable<z.output<typeof ProbeRecordSchema>>>().toEqualTypeOf<DeepMutable<ProbeRecord & { muted?: boolean }>>()
  })

  it('round-trips every field of every state kind', async () => {
    const failure = { step: 'read', kind: 'timeout', reason: 'timeout', message: 'read: timed out after 5s' } as const
    const open = {
      since: '2026-03-01T10:00:00.000Z',
      failedRuns: 6,
      lastFailure: failure,
      lastNotifiedAt: '2026-03-01T10:04:00.000Z',
      reminders: 2,
    }
    const states: AlertState[] = [
      { kind: 'ok' },
      { kind: 'failing', since: '2026-03-01T10:00:00.000Z', failures: 2, lastFailure: failure },
      { kind: 'firing', failures: 6, ...open },
      { kind: 'recovering', successes: 1, ...open },
    ]
    const record = DATA.probes['items-crud']!
    const data: StoredAlerts = {
      probes: Object.fromEntries(states.map((state, i) => [`p${i}`, { ...record, state }])),
      outbox: [{ ...DATA.outbox[0]!, identity: 'fedcba9876543210', notification: notification({ location: 'eu-west-1' }) }],
    }
    await createStore(dir).save(data)
    expect(await createStore(dir).load()).toEqual({ data, warning: null })
  })

  it('a later version reads the current v1 file through a migration', async () => {
    // What a v2 might do: rename `outbox` to `pending`. The v1 file is written by today's store.
    await createStore(dir).save(DATA)
    const V2 = z.object({ probes: z.record(z.string(), ProbeRecordSchema), pending: z.array(OutboxEntrySchema) })
    const v2 = createSnapshot(dir, {
      name: STATE_FILE,
      label: 'alert state',
      version: 2,
      schema: V2,
      migrations: { 1: (body) => ({ probes: (body as StoredAlerts).probes, pending: (body as StoredAlerts).outbox }) },
      empty: { probes: {}, pending: [] } as z.output<typeof V2>,
      unreadable: 'refuse',
    })
    const v1: unknown = { probes: DATA.probes, pending: DATA.outbox }
    expect(await v2.load()).toEqual({ data: v1, warning: null })
    await v2.save((await v2.load()).data)
    expect(JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')).version).toBe(2)
  })
})

describe('policyHash', () => {
  it('ignores key order and changes with any field', () => {
    const reordered = {
      channels: ['oncall'],
      sendResolved: true,
      reminderIntervalMs: BUILTIN_POLICY.reminderIntervalMs,
      successThreshold: 1,
      failureThreshold: 5,
    }
    expect(policyHash(reordered)).toBe(policyHash({ ...BUILTIN_POLICY, channels: ['oncall'] }))
    expect(policyHash({ ...reordered, failureThreshold: 3 })).not.toBe(policyHash(reordered))
    expect(policyHash({ ...reordered, channels: ['pager'] })).not.toBe(policyHash(reordered))
    expect(policyHash(reordered)).toMatch(/^[0-9a-f]{16}$/)
  })
})

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  if (!child.pid) throw new Error('could not start a child process')
  return child.pid
}
