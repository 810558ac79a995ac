/**
 * An append-only log file: run history and the cleanup journal grow by one
 * record at a time, and rewriting a snapshot per record would cost the whole
 * history on every run. Each record is one checksummed line (framing below); the
 * first line holds the version. Appends are batched and never block the
 * caller, who awaits `flush()` only where it needs the record on disk (a
 * journal entry before the request it undoes). Once the file holds more than
 * `maxRecords`, it is compacted: rewritten atomically with what the caller's
 * `retain` keeps. A torn or corrupt record is dropped on load with a warning,
 * never fatal (README "Alerting": a bad state file is never a crash).
 */
import { mkdir, open, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { crc32 } from 'node:zlib'
import {
  errorText,
  readStateFile,
  removeStaleTemps,
  setAside,
  step,
  syncDir,
  type Unreadable,
  type WriteReporting,
  writeAtomic,
  writeReporter,
} from './fs.ts'
import { decode, type Versioned, versionProblem } from './schema.ts'

export interface LogSpec<T> extends Versioned<T>, WriteReporting {
  readonly name: string
  /** What the file holds, in every message: `run history`. */
  readonly label: string
  readonly unreadable: Unreadable
  /** Compact once the file holds more records than this; also the most records held in memory while writes fail. */
  readonly maxRecords: number
  /** What compaction keeps of all records, oldest first (e.g. 7 days, at most 10,000 per probe). */
  readonly retain: (records: readonly T[]) => readonly T[]
  /**
   * false: appends are not fsynced (compaction still is). For a log whose
   * last second may be lost on a power cut, written so often that an fsync
   * per batch would keep the libuv threadpool, and the probes' DNS lookups
   * with it, busy (run history at 1,000 probes). @defaultValue true
   */
  readonly durable?: boolean
}

export interface AppendLog<T> {
  readonly path: string
  /** Call once, before the first append: the records on disk, oldest first, and what was dropped. */
  load(): Promise<{ records: T[]; warnings: string[] }>
  /** Queues the record (serialized now: the caller may mutate it afterwards) and returns at once. */
  append(record: T): void
  /** Resolves when every record appended before the call is on disk, or with the error. */
  flush(): Promise<{ error: string | null }>
}

interface Pending<T> {
  readonly record: T
  readonly line: Buffer
}

export function createLog<T>(dir: string, spec: LogSpec<T>): AppendLog<T> {
  const path = join(dir, spec.name)
  const report = writeReporter(spec.label, path, spec)
  let loaded = false
  /** Bytes and records of the file's good part; anything after `size` is a torn tail to cut before appending. */
  let size = 0
  let count = 0
  let dirty = false
  /** An older version, or a header that must be written anew: the next write compacts. */
  let rewrite = false
  let threshold = spec.maxRecords
  let pending: Pending<T>[] = []
  let flushers: ((result: { error: string | null }) => void)[] = []
  let writing = false

  async function drain(): Promise<void> {
    writing = true
    while (pending.length > 0 || flushers.length > 0) {
      const batch = pending
      const waiters = flushers
      pending = []
      flushers = []
      let error: string | null = null
      if (batch.length > 0 || rewrite) {
        try {
          if (rewrite || count + batch.length > threshold) await compact(batch)
          else await appendBatch(batch)
        } catch (err) {
          error = errorText(err)
          requeue(batch)
        }
        report(error)
      }
      for (const done of waiters) done({ error })
      // Not retried in a loop: the next append or flush tries again.
      if (error) break
    }
    writing = false
  }

  /** A failed batch goes back in front, bounded: past `maxRecords` the oldest are lost, and that is logged. */
  function requeue(batch: Pending<T>[]): void {
    pending = [...batch, ...pending]
    const over = pending.length - spec.maxRecords
    if (over <= 0) return
    pending = pending.slice(over)
    spec.logger?.warn({ path, dropped: over }, `${spec.label} records dropped: they could not be written`)
  }

  async function appendBatch(batch: Pending<T>[]): Promise<void> {
    await step('create the state directory', () => mkdir(dirname(path), { recursive: true }))
    const file = await step('open the log', () => open(path, 'a', 0o600))
    try {
      if (dirty) await step('cut the torn end of the log', () => file.truncate(size))
      // Until the fsync returns, the end of the file is unknown: cut back to `size` next time.
      dirty = true
      const bytes = Buffer.concat([...(size === 0 ? [header()] : []), ...batch.map((p) => p.line)])
      await step('append to the log', () => file.writeFile(bytes))
      if (spec.durable !== false) {
        await step('fsync the log', () => file.sync())
        // A file just created is durable only once its directory entry is: a journal entry must survive a power cut.
        if (size === 0) await syncDir(dirname(path))
      }
      size += bytes.length
      count += batch.length
      dirty = false
    } finally {
      await file.close()
    }
  }

  async function compact(batch: Pending<T>[]): Promise<void> {
    const onDisk = await step('read the log back', () => readFile(path)).catch((err: Error) => {
      if ((err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return Buffer.alloc(0)
      throw err
    })
    const kept = spec.retain([...parseLog(spec, onDisk).records, ...batch.map((p) => p.record)])
    const bytes = Buffer.concat([header(), ...kept.map(encodeLine)])
    await writeAtomic(path, bytes)
    size = bytes.length
    count = kept.length
    dirty = false
    rewrite = false
    // A retention that keeps nearly everything must not make every append a rewrite.
    threshold = Math.max(spec.maxRecords, 2 * count)
  }

  function header(): Buffer {
    return encodeLine({ version: spec.version })
  }

  function kick(): void {
    if (!writing) void drain()
  }

  return {
    path,
    async load() {
      await removeStaleTemps(path)
      const read = await readStateFile(path, spec.label, spec.unreadable)
      loaded = true
      if (!read.bytes) return { records: [], warnings: read.warning ? [read.warning] : [] }
      const parsed = parseLog(spec, read.bytes)
      if (parsed.problem) {
        const moved = await setAside(path, 'corrupt')
        rewrite = moved === ''
        return { records: [], warnings: [`${spec.label} ${path} ${parsed.problem}${moved}; starting with empty ${spec.label}`] }
      }
      size = parsed.complete
      count = parsed.records.length
      dirty = parsed.complete < read.bytes.length
      rewrite = parsed.version !== spec.version || size === 0
      const warnings: string[] = []
      if (parsed.dropped > 0)
        warnings.push(
          `${spec.label} ${path}: dropped ${parsed.dropped} corrupt record(s) (first: ${parsed.firstProblem}); the others are kept`,
        )
      if (dirty)
        warnings.push(`${spec.label} ${path}: dropped a torn last record (${read.bytes.length - size} bytes); the ones before it are kept`)
      return { records: parsed.records, warnings }
    },
    append(record) {
      if (!loaded) throw new Error(`${spec.label}: load() the log before appending`)
      pending.push({ record, line: encodeLine(record) })
      // A microtask, not a timer: a burst of appends in one turn is one write, and fake clocks do not stall it.
      if (!writing && pending.length === 1) queueMicrotask(kick)
    },
    flush() {
      return new Promise((resolve) => {
        flushers.push(resolve)
        kick()
      })
    },
  }
}

interface Parsed<T> {
  readonly version: unknown
  readonly records: T[]
  /** Bytes up to the last newline. */
  readonly complete: number
  readonly dropped: number
  readonly firstProblem: string | null
  /** The whole file is unusable (no valid header, an unknown version). */
  readonly problem: string | null
}

function parseLog<T>(spec: Versioned<T>, bytes: Buffer): Parsed<T> {
  const { lines, complete } = splitLines(bytes)
  const [head, ...rest] = lines
  const version = head?.ok ? (head.value as { version?: unknown } | null)?.version : undefined
  const empty = { version, records: [], complete, dropped: 0, firstProblem: null }
  // Nothing complete yet: the first write was torn; an empty log.
  if (!head) return { ...empty, problem: null }
  if (!head.ok) return { ...empty, problem: `has no valid header line (${head.problem})` }
  const problem = versionProblem(spec, version)
  if (problem) return { ...empty, problem }
  const records: T[] = []
  let dropped = 0
  let firstProblem: string | null = null
  rest.forEach((line, i) => {
    const decoded = line.ok ? decode(spec, version, line.value) : { ok: false as const, problem: line.problem }
    if (decoded.ok) records.push(decoded.data)
    else {
      dropped++
      firstProblem ??= `line ${i + 2}: ${decoded.problem}`
    }
  })
  return { version, records, complete, dropped, firstProblem, problem: null }
}

/**
 * The framing of an append-only log: one record per line, its crc32 in
 * front (`<8 hex digits> <json>\n`). The newline makes a torn write (a crash
 * or a full disk mid-append) visible as a last line without one, and the
 * checksum catches a line that was cut, merged or flipped, so one bad record
 * is dropped on load while the records after it still count.
 */
const NEWLINE = 0x0a

function encodeLine(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8')
  return Buffer.concat([Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} `), json, Buffer.from('\n')])
}

type Line = { ok: true; value: unknown } | { ok: false; problem: string }

/**
 * The complete lines of `bytes`, and the length of the part that ends with a
 * newline: what follows it is a torn tail, never a record.
 */
function splitLines(bytes: Buffer): { lines: Line[]; complete: number } {
  const lines: Line[] = []
  let start = 0
  for (let end = bytes.indexOf(NEWLINE, start); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
    lines.push(decodeLine(bytes.subarray(start, end)))
    start = end + 1
  }
  return { lines, complete: start }
}

function decodeLine(line: Buffer): Line {
  const match = /^([0-9a-f]{8}) $/.exec(line.subarray(0, 9).toString('latin1'))
  if (!match) return { ok: false, problem: 'no checksum' }
  const json = line.subarray(9)
  if (crc32(json) !== Number.parseInt(match[1]!, 16)) return { ok: false, problem: 'checksum mismatch' }
  try {
    return { ok: true, value: JSON.parse(json.toString('utf8')) }
  } catch {
    return { ok: false, problem: 'not JSON' }
  }
}
