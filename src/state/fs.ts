/**
 * The file-system steps every file in the state directory shares: an atomic
 * replace, a load that tells "nothing there" from "there but unreadable",
 * setting a bad file aside, error texts that read the same every time, and
 * the reporting of each write (README "Alerting": a write failure's cause is
 * logged once).
 */
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Logger } from '../log.ts'

/**
 * The file exists but cannot be read (a directory, a dangling symlink, EACCES,
 * EIO), and its caller chose to refuse rather than start without it.
 */
export class StateUnreadableError extends Error {
  override readonly name = 'StateUnreadableError'
}

/** What a caller does with a file that exists but cannot be read: stop the start, or set it aside and start empty. */
export type Unreadable = 'refuse' | 'set-aside'

/** Temp file in the same directory, write, fsync, rename over, fsync the directory: old or new, never half. */
export async function writeAtomic(path: string, text: string | Buffer): Promise<void> {
  const dir = dirname(path)
  await step('create the state directory', () => mkdir(dir, { recursive: true }))
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
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
export async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    if (!(err as NodeJS.ErrnoException).code) throw err
    throw new Error(`cannot ${what}: ${describeError(err)}`, { cause: err })
  }
}

/** `CODE (what happened)` without the path Node appends, or the message of a non-system error. */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e.code ? `${e.code} (${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')})` : errorText(err)
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Makes a rename durable. Some platforms cannot fsync a directory; the rename still happened. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null)
  if (!handle) return
  await handle.sync().catch(() => undefined)
  await handle.close()
}

/**
 * Provably nothing there: not even a dangling symlink (a volume not
 * mounted) or an entry whose parent cannot be searched.
 */
export async function absent(path: string): Promise<boolean> {
  return lstat(path).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ENOENT' || err.code === 'ENOTDIR',
  )
}

/**
 * The file's bytes; null when provably nothing is there, or when it could not
 * be read and was set aside (then `warning` says so). With `refuse`, an
 * unreadable file throws: starting without it could page twice or lose a
 * resolve, and the first write would replace it for good.
 */
export async function readStateFile(
  path: string,
  label: string,
  unreadable: Unreadable,
): Promise<{ bytes: Buffer | null; warning: string | null }> {
  try {
    return { bytes: await readFile(path), warning: null }
  } catch (err) {
    if (await absent(path)) return { bytes: null, warning: null }
    if (unreadable === 'refuse')
      throw new StateUnreadableError(
        `${label} ${path} exists but cannot be read (${errorText(err)}); not starting, so that it is not replaced: fix or move it`,
        { cause: err },
      )
    const moved = await setAside(path, 'unreadable')
    return { bytes: null, warning: `${label} ${path} cannot be read (${errorText(err)})${moved}; starting with empty ${label}` }
  }
}

/** Renames a bad file to `<path>.<suffix>` for a person to look at; says where it went, or nothing if it could not move. */
export async function setAside(path: string, suffix: string): Promise<string> {
  const aside = `${path}.${suffix}`
  return rename(path, aside).then(
    () => `; kept as ${aside}`,
    () => '',
  )
}

/**
 * A crash mid-write leaves a temp file behind; nothing else ever reads it.
 * A temp of a live process (named by its pid) is that process's write in
 * flight: the state-dir lock keeps a second daemon away, and this keeps a
 * daemon that runs without the lock from breaking the other's write.
 */
export async function removeStaleTemps(path: string): Promise<void> {
  const dir = dirname(path)
  const names = await readdir(dir).catch(() => [] as string[])
  const stale = names.filter((name) => {
    const temp = /^\.(.+)\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)
    return temp?.[1] === basename(path) && !processAlive(Number(temp[2]))
  })
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })))
}

/**
 * Whether a process with this pid runs now. Our own pid counts as not
 * running: in a container every start is pid 1, so a lock holding our pid
 * was left by the process before us.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * How a write of a state file reports its outcome: every attempt goes to the
 * caller's `onWrite` (the daemon counts failures in the one metric
 * `probe_state_write_failures_total` and lists the cause on `/readyz`), and
 * the cause is logged once, once more when it changes, and once when writes
 * succeed again — a full disk must not log every run (README "Alerting",
 * "State write failures").
 */
export interface WriteReporting {
  /** After every write attempt (coalesced saves share one), with its error or null. */
  readonly onWrite?: (error: string | null) => void
  /** Where a new cause, and the recovery, are logged. */
  readonly logger?: Logger
}

/** `label` names the file in the log messages, e.g. `alert state`: "cannot write alert state". */
export function writeReporter(label: string, path: string, options: WriteReporting): (error: string | null) => void {
  let last: string | null = null
  return (error) => {
    options.onWrite?.(error)
    if (error === last) return
    if (error) options.logger?.error({ path, reason: error }, `cannot write ${label}`)
    else options.logger?.info({ path }, `${label} written again`)
    last = error
  }
}
