/**
 * One daemon per state directory: a lock file created with `wx` holding the
 * owner's pid. Two daemons on one directory would overwrite each other's
 * alert state and page twice or lose a resolve, so the second one refuses
 * to start. A lock whose pid is dead (a crash, SIGKILL) is stale and taken
 * over; a clean shutdown removes it.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describeError as describe, processAlive } from './fs.ts'

export { processAlive }

export const LOCK_FILE = 'smokeprobe.lock'

export type LockResult =
  | { readonly kind: 'locked'; readonly path: string; release(): Promise<void> }
  /** Another live process holds the directory: do not start. */
  | { readonly kind: 'held'; readonly path: string; readonly pid: number; readonly message: string }
  /** The lock file could not be created (a read-only or full directory): run on, without the lock. */
  | { readonly kind: 'unavailable'; readonly path: string; readonly reason: string }

/**
 * Takes the lock on `dir` (creating the directory). Bounded: a stale lock
 * is removed and creation retried a few times, then given up as held by
 * whoever keeps recreating it.
 */
export async function lockStateDir(dir: string): Promise<LockResult> {
  const path = join(dir, LOCK_FILE)
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    return { kind: 'unavailable', path, reason: describe(err) }
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const created = await create(path)
    if (created === true) return { kind: 'locked', path, release: () => release(path) }
    if (created !== 'exists') return { kind: 'unavailable', path, reason: created }
    const pid = await holder(path)
    if (pid !== null && processAlive(pid)) {
      const message = `state directory ${dir} is in use by another smokeprobe (pid ${pid}, lock file ${path}); stop it, or give this one its own --state-dir`
      return { kind: 'held', path, pid, message }
    }
    // Dead, our own (a previous container start), or a lock whose pid was never written (a crash right after creating it).
    await rm(path, { force: true })
  }
  return { kind: 'unavailable', path, reason: 'the lock file keeps reappearing' }
}

/** True, 'exists', or why it could not be created. */
async function create(path: string): Promise<true | 'exists' | string> {
  let file: Awaited<ReturnType<typeof open>> | undefined
  try {
    file = await open(path, 'wx', 0o644)
    await file.writeFile(`${process.pid}\n`)
    await file.sync()
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'exists'
    // Half a lock (created, pid not written) would be judged stale by the next start anyway; leave nothing behind.
    if (file) await rm(path, { force: true })
    return describe(err)
  } finally {
    await file?.close().catch(() => undefined)
  }
}

async function holder(path: string): Promise<number | null> {
  const text = await readFile(path, 'utf8').catch(() => null)
  const pid = Number(text?.trim())
  return text !== null && /^\d+$/.test(text.trim()) ? pid : null
}

/** Removes the lock only while it is still ours: a takeover after we were presumed dead is not undone. */
async function release(path: string): Promise<void> {
  if ((await holder(path)) === process.pid) await rm(path, { force: true }).catch(() => undefined)
}
