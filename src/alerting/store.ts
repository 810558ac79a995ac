/**
 * The alert state in `--state-dir`: one versioned JSON file with each probe's
 * state and the outbox of undelivered notifications, so a restart neither
 * pages twice nor loses a resolve. Writes are atomic, serialized and coalesced.
 * A corrupt file is reported and set aside; a file that exists but cannot be
 * read is never replaced: the load throws `StateUnreadableError` and every
 * later save is refused (README "Alerting").
 */
import { createHash, randomBytes } from 'node:crypto'
import { lstat, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import * as z from 'zod'
import type { AlertPolicy } from '../config/alert-policy.ts'
import type { OutboxEntry } from './delivery.ts'
import { processAlive } from '../state/lock.ts'
import type { AlertState } from './state.ts'

export const STATE_FILE = 'alert-state.json'
export const STATE_VERSION = 1

export interface ProbeRecord {
  /** The policy the state was decided under: a removed probe is resolved by it. */
  readonly policy: AlertPolicy
  /** Gatus's `alert.Checksum()`: tells a policy change from a restart. */
  readonly policyHash: string
  readonly labels: Readonly<Record<string, string>>
  /**
   * Channels the open incident was paged to, by name and destination hash:
   * they, and only they, get its reminders and resolve.
   */
  readonly paged: readonly PagedChannel[]
  readonly state: AlertState
  /**
   * The open incident's id, fixed when it fired, so its reminders and resolve
   * carry the firing's id (PagerDuty dedup_key) even if `--location` changed
   * across a restart. Null while no incident is open, and in a state file
   * written before it was stored (then derived as at the firing).
   */
  readonly incidentId: string | null
  /**
   * The `--location` the open incident fired under: its reminders, resolve
   * and Alertmanager re-sends keep it (the location label is part of the
   * alert's identity there). Absent while no incident is open, and in a state
   * file written before it was stored (then the current location).
   */
  readonly incidentLocation?: string | null
}

/** A channel an incident was paged to. `hash` null: unknown (a state file from before it was stored). */
export interface PagedChannel {
  readonly name: string
  readonly hash: string | null
}

export interface StoredAlerts {
  readonly probes: Readonly<Record<string, ProbeRecord>>
  readonly outbox: readonly OutboxEntry[]
}

export interface Store {
  readonly path: string
  /**
   * Missing file: empty, no warning. Corrupt, or another version: set aside,
   * empty and a warning to log. There but unreadable (a directory, a
   * dangling symlink, EACCES, EIO): throws `StateUnreadableError`.
   */
  load(): Promise<{ data: StoredAlerts; warning: string | null }>
  /**
   * Writes `data` (which the caller must not mutate afterwards). Resolves when
   * a write containing it — or newer data — is on disk, or with the error:
   * a stable text (the step and the error code, no temp file name), so that
   * a repeating failure can be logged once.
   */
  save(data: StoredAlerts): Promise<{ error: string | null }>
}

export const EMPTY_ALERTS: StoredAlerts = { probes: {}, outbox: [] }

/** The state file exists but cannot be read: starting without it could page twice or lose a resolve. */
export class StateUnreadableError extends Error {
  override readonly name = 'StateUnreadableError'
}

export interface StoreOptions {
  /** After every write attempt (not every save: coalesced saves share one write), with its error or null. */
  readonly onWrite?: (error: string | null) => void
}

/** sha256 of the policy with sorted keys, first 16 hex digits. */
export function policyHash(policy: AlertPolicy): string {
  const canonical = JSON.stringify(policy, Object.keys(policy).sort())
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16)
}

export function createStore(dir: string, options: StoreOptions = {}): Store {
  const path = join(dir, STATE_FILE)
  let queued: { data: StoredAlerts; waiters: ((result: { error: string | null }) => void)[] } | null = null
  let writing = false
  /** Set when the load found a file it could not read: nothing may replace that file. */
  let refused: string | null = null

  // One writer at a time; saves that arrive meanwhile collapse into one
  // write of the newest data, so a burst of results costs two writes.
  async function drain(): Promise<void> {
    writing = true
    while (queued) {
      const { data, waiters } = queued
      queued = null
      const error =
        refused ??
        (await writeAtomic(dir, path, serialize(data)).then(
          () => null,
          (err: unknown) => errorText(err),
        ))
      options.onWrite?.(error)
      for (const done of waiters) done({ error })
    }
    writing = false
  }

  return {
    path,
    async load() {
      try {
        return await load(dir, path)
      } catch (err) {
        if (err instanceof StateUnreadableError) refused = 'the state file could not be read at start; it is left as it is'
        throw err
      }
    },
    save(data) {
      return new Promise((resolve) => {
        if (queued) queued.data = data
        else queued = { data, waiters: [] }
        queued.waiters.push(resolve)
        if (!writing) void drain()
      })
    },
  }
}

function serialize(data: StoredAlerts): string {
  return `${JSON.stringify({ version: STATE_VERSION, probes: data.probes, outbox: data.outbox }, null, 2)}\n`
}

/** Temp file in the same directory, write, fsync, rename over, fsync the directory: old or new, never half. */
async function writeAtomic(dir: string, path: string, text: string): Promise<void> {
  await step('create the state directory', () => mkdir(dir, { recursive: true }))
  const temp = join(dir, `.${STATE_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const file = await step('create the temp file', () => open(temp, 'wx', 0o600))
    try {
      await step('write the temp file', () => file.writeFile(text))
      await step('fsync the temp file', () => file.sync())
    } finally {
      await file.close()
    }
    await step('rename the temp file over the state file', () => rename(temp, path))
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
  await syncDir(dir)
}

/**
 * Names a failed file-system step by what it did and its error code, not by
 * Node's message: that holds the random temp file name, and a cause that
 * reads differently every time is logged every time.
 */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (!e.code) throw err
    const detail = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')
    throw new Error(`cannot ${what}: ${e.code} (${detail})`, { cause: err })
  }
}

/** Makes the rename itself durable. Some platforms cannot fsync a directory; the rename still happened. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null)
  if (!handle) return
  await handle.sync().catch(() => undefined)
  await handle.close()
}

async function load(dir: string, path: string): Promise<{ data: StoredAlerts; warning: string | null }> {
  await removeStaleTemps(dir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (await absent(path)) return { data: EMPTY_ALERTS, warning: null }
    // Refuse rather than start empty: the file may hold open incidents and
    // queued resolves, and the first write would replace it for good.
    throw new StateUnreadableError(
      `alert state ${path} exists but cannot be read (${errorText(err)}); not starting, so that it is not replaced: fix or move it`,
      { cause: err },
    )
  }
  const problem = parse(text)
  if (typeof problem !== 'string') return { data: problem, warning: null }
  const aside = `${path}.corrupt`
  const moved = await rename(path, aside).then(
    () => `; kept as ${aside}`,
    () => '',
  )
  return { data: EMPTY_ALERTS, warning: `alert state ${path} ${problem}${moved}; starting with empty alert state` }
}

/** The data, or what is wrong with the text. */
function parse(text: string): StoredAlerts | string {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return `is corrupt (${errorText(err)})`
  }
  const version = (json as { version?: unknown } | null)?.version
  if (version !== STATE_VERSION) return `has version ${JSON.stringify(version)}, expected ${STATE_VERSION}`
  const parsed = StoredFile.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return `does not match the expected shape (${issue?.path.join('.') || '<root>'}: ${issue?.message})`
  }
  // The schema checks structure; the string unions (failure kinds, events)
  // are the writer's own values, so narrowing them by cast is safe.
  return { probes: parsed.data.probes, outbox: parsed.data.outbox } as unknown as StoredAlerts
}

/**
 * Provably nothing there: not even a dangling symlink (a volume not
 * mounted) or an entry whose parent cannot be searched.
 */
async function absent(path: string): Promise<boolean> {
  return lstat(path).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ENOENT' || err.code === 'ENOTDIR',
  )
}

/**
 * A crash mid-write leaves a temp file behind; nothing else ever reads it.
 * A temp of a live process (named by its pid) is that process's write in
 * flight: the state-dir lock keeps a second daemon away, and this keeps a
 * daemon that runs without the lock from breaking the other's write.
 */
async function removeStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[])
  const stale = names.filter((name) => {
    const temp = /^\.(.+)\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)
    return temp?.[1] === STATE_FILE && !processAlive(Number(temp[2]))
  })
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })))
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

const Iso = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'expected an ISO time')
const FailureShape = z.object({ step: z.string(), kind: z.string(), reason: z.string(), message: z.string() })
const Open = {
  since: Iso,
  failedRuns: z.int().min(0),
  lastFailure: FailureShape.nullable(),
  lastNotifiedAt: Iso,
  reminders: z.int().min(0),
}

const StateShape = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ok') }),
  z.object({ kind: z.literal('failing'), since: Iso, failures: z.int().min(1), lastFailure: FailureShape.nullable() }),
  z.object({ kind: z.literal('firing'), failures: z.int().min(1), ...Open }),
  z.object({ kind: z.literal('recovering'), successes: z.int().min(1), ...Open }),
])

const PolicyShape = z.object({
  failureThreshold: z.int().min(1),
  successThreshold: z.int().min(1),
  reminderIntervalMs: z.number().min(0),
  sendResolved: z.boolean(),
  channels: z.array(z.string()),
})

const NotificationShape = z.object({
  id: z.string().min(1),
  event: z.enum(['firing', 'resolved', 'reminder', 'test']),
  probe: z.string(),
  location: z.string().nullable(),
  incidentId: z.string(),
  since: Iso,
  at: Iso,
  consecutiveFailures: z.int().min(0),
  summary: z.string(),
  error: z.object({ step: z.string(), message: z.string() }).nullable(),
  labels: z.record(z.string(), z.string()),
})

const StoredFile = z.object({
  version: z.literal(STATE_VERSION),
  probes: z.record(
    z.string(),
    z.object({
      policy: PolicyShape,
      policyHash: z.string(),
      labels: z.record(z.string(), z.string()),
      // A bare name is a file from before destination hashes were stored: hash unknown.
      paged: z.array(
        z.union([
          z.string().transform((name) => ({ name, hash: null })),
          z.object({ name: z.string(), hash: z.string().min(1).nullable() }),
        ]),
      ),
      state: StateShape,
      // Absent in files written before the id was stored.
      incidentId: z.string().min(1).nullable().default(null),
      // Absent in files written before it was stored.
      incidentLocation: z.string().nullable().optional(),
    }),
  ),
  outbox: z.array(
    z.object({
      channel: z.string().min(1),
      // Absent in files from before destination hashes were stored: unknown.
      identity: z.string().min(1).nullable().default(null),
      notification: NotificationShape,
      attempts: z.int().min(0),
      enqueuedAt: Iso,
      firstAttemptAt: Iso.nullable(),
      nextAttemptAt: Iso,
      lastError: z.string().nullable(),
    }),
  ),
})
