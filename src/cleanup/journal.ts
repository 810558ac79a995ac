/**
 * The cleanup journal on disk: an append-only log in the state directory
 * (src/state/log.ts) of `add` and `done` records. An entry is pending from
 * its `add` until its `done`; compaction keeps only the pending adds.
 * `add` resolves once the record is fsynced, so a run that awaits it may
 * send the request the entry undoes: a crash after that point leaves the
 * entry for the next start (README "Cleanup journal").
 */
import * as z from 'zod'
import type { Logger } from '../log.ts'
import { createLog } from '../state/log.ts'
import { JournalEntry } from './entry.ts'

export const JOURNAL_FILE = 'cleanup-journal.log'

/** Why an entry left the journal. */
export type DoneReason = 'deleted' | 'gone' | 'abandoned'

const JournalRecord = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('add'), entry: JournalEntry }),
  z.strictObject({ op: z.literal('done'), id: z.string(), reason: z.enum(['deleted', 'gone', 'abandoned']) }),
])
type JournalRecord = z.infer<typeof JournalRecord>

/** Compaction threshold; the pending entries are kept however many there are. */
const MAX_RECORDS = 1_000

export interface Journal {
  readonly path: string
  /** The pending entries on disk, oldest first; call once before anything else. */
  load(): Promise<{ entries: JournalEntry[]; warnings: string[] }>
  /** Resolves once the entry is on disk (null), or with why it is not (it is still pending in memory). */
  add(entry: JournalEntry): Promise<string | null>
  /** Marks the entry done; resolves once that is on disk (or failed: the entry is then tried again after a restart). */
  done(id: string, reason: DoneReason): Promise<string | null>
}

export interface JournalOptions {
  readonly stateDir: string
  readonly logger?: Logger
  /** After every write attempt, with its error or null (probe_state_write_failures_total). */
  readonly onWrite?: (error: string | null) => void
}

/** The adds that have no done after them. */
export function pendingEntries(records: readonly JournalRecord[]): JournalEntry[] {
  const done = new Set(records.flatMap((r) => (r.op === 'done' ? [r.id] : [])))
  return records.flatMap((r) => (r.op === 'add' && !done.has(r.entry.id) ? [r.entry] : []))
}

export function createJournal(options: JournalOptions): Journal {
  const log = createLog<JournalRecord>(options.stateDir, {
    name: JOURNAL_FILE,
    label: 'cleanup journal',
    version: 1,
    schema: JournalRecord,
    unreadable: 'refuse',
    maxRecords: MAX_RECORDS,
    retain: (records) => pendingEntries(records).map((entry) => ({ op: 'add', entry })),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onWrite ? { onWrite: options.onWrite } : {}),
  })
  const flushed = async () => (await log.flush()).error
  return {
    path: log.path,
    async load() {
      const { records, warnings } = await log.load()
      return { entries: pendingEntries(records), warnings }
    },
    add(entry) {
      log.append({ op: 'add', entry })
      return flushed()
    },
    done(id, reason) {
      log.append({ op: 'done', id, reason })
      return flushed()
    },
  }
}
