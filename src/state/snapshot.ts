/**
 * A snapshot file: the whole of some state as one versioned JSON document,
 * replaced atomically on every save (README "Alerting": "written
 * atomically: temp file, fsync, rename"). Saves are serialized and
 * coalesced: one writer at a time, and saves that arrive meanwhile collapse
 * into one write of the newest data, so a burst of changes costs two writes.
 */
import { join } from 'node:path'
import {
  errorText,
  readStateFile,
  removeStaleTemps,
  setAside,
  type Unreadable,
  type WriteReporting,
  writeAtomic,
  writeReporter,
} from './fs.ts'
import { decode, type Versioned } from './schema.ts'

export interface SnapshotSpec<T extends object> extends Versioned<T>, WriteReporting {
  /** The file's name in the state directory. */
  readonly name: string
  /** What the file holds, in every message: `alert state`. */
  readonly label: string
  /** What a missing or set-aside file loads as. */
  readonly empty: T
  readonly unreadable: Unreadable
}

export interface Snapshot<T> {
  readonly path: string
  /**
   * Missing file: empty, no warning. Corrupt, of an unknown version, or of
   * the wrong shape: set aside as `<name>.corrupt`, empty and a warning to
   * log. There but unreadable: as the spec's `unreadable` says.
   */
  load(): Promise<{ data: T; warning: string | null }>
  /**
   * Writes `data` (which the caller must not mutate afterwards). Resolves when
   * a write containing it — or newer data — is on disk, or with the error:
   * a stable text (the step and the error code, no temp file name).
   */
  save(data: T): Promise<{ error: string | null }>
}

export function createSnapshot<T extends object>(dir: string, spec: SnapshotSpec<T>): Snapshot<T> {
  const path = join(dir, spec.name)
  const report = writeReporter(spec.label, path, spec)
  let queued: { data: T; waiters: ((result: { error: string | null }) => void)[] } | null = null
  let writing = false
  /** Set when the load refused a file it could not read: nothing may replace that file. */
  let refused: string | null = null

  async function drain(): Promise<void> {
    writing = true
    while (queued) {
      const { data, waiters } = queued
      queued = null
      const error =
        refused ??
        (await writeAtomic(path, serialize(spec.version, data)).then(
          () => null,
          (err: unknown) => errorText(err),
        ))
      report(error)
      for (const done of waiters) done({ error })
    }
    writing = false
  }

  return {
    path,
    async load() {
      await removeStaleTemps(path)
      let read: Awaited<ReturnType<typeof readStateFile>>
      try {
        read = await readStateFile(path, spec.label, spec.unreadable)
      } catch (err) {
        refused = 'the state file could not be read at start; it is left as it is'
        throw err
      }
      if (!read.bytes) return { data: spec.empty, warning: read.warning }
      const parsed = parse(spec, read.bytes.toString())
      if (parsed.ok) return { data: parsed.data, warning: null }
      const moved = await setAside(path, 'corrupt')
      return { data: spec.empty, warning: `${spec.label} ${path} ${parsed.problem}${moved}; starting with empty ${spec.label}` }
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

/** `{ "version": n, ...data }`, indented for a person reading it in an incident. */
function serialize(version: number, data: object): string {
  return `${JSON.stringify({ version, ...data }, null, 2)}\n`
}

function parse<T>(spec: Versioned<T>, text: string): { ok: true; data: T } | { ok: false; problem: string } {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return { ok: false, problem: `is corrupt (${errorText(err)})` }
  }
  const { version, ...body } = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {}
  return decode(spec, version, body)
}
