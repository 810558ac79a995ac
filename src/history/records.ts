/**
 * The lines of a probe's history log (`<state-dir>/history/<probe>.log`), and
 * what compaction keeps of them: 7 days or 10,000 runs, whichever is smaller,
 * and the last incidents (SPEC "History and the status page"). Short keys:
 * at 10,000 runs per probe every byte of a line is 10 kB of disk.
 */
import * as z from 'zod'
import type { Outcome } from '../judge/judge.ts'
import { OUTCOMES } from './runs.ts'

export const MAX_RUNS = 10_000
export const MAX_AGE_MS = 7 * 24 * 3_600_000
/** Incidents kept per probe. */
export const MAX_INCIDENTS = 50
/** Notifications kept per incident: a reminder every few hours of a week-long incident fits. */
export const MAX_NOTIFICATIONS = 100
/** Runs whose per-step durations are kept, for the detail view's chart; older runs lose them at compaction. */
export const STEP_SERIES_RUNS = 120

export type DeliveryOutcome = 'sent' | 'failed' | 'dropped'

export type HistoryLine =
  | {
      readonly k: 'run'
      readonly at: number
      readonly o: Outcome
      readonly m?: true
      readonly d: number
      readonly s?: string
      readonly r?: string
      /** Each step's duration, for the detail view's chart. */
      readonly sd?: Readonly<Record<string, number>>
    }
  | { readonly k: 'open'; readonly id: string; readonly at: number }
  | { readonly k: 'close'; readonly id: string; readonly at: number }
  | {
      readonly k: 'note'
      readonly id: string
      readonly ch: string
      readonly ev: string
      readonly res: DeliveryOutcome
      readonly at: number
    }

const OUTCOME_SET: ReadonlySet<unknown> = new Set(OUTCOMES)
const RESULTS: ReadonlySet<unknown> = new Set(['sent', 'failed', 'dropped'])
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const optionalString = (v: unknown) => v === undefined || typeof v === 'string'

/**
 * Whether a decoded line is a HistoryLine. Hand-written rather than a zod
 * object: a restart reads up to 20 million lines (1,000 probes), and zod's
 * parse was most of the measured load time (BENCHMARKS.md "Run history").
 */
export function isHistoryLine(value: unknown): value is HistoryLine {
  if (typeof value !== 'object' || value === null) return false
  const line = value as Record<string, unknown>
  if (!finite(line.at)) return false
  switch (line.k) {
    case 'run':
      return (
        OUTCOME_SET.has(line.o) &&
        (line.m === undefined || line.m === true) &&
        finite(line.d) &&
        line.d >= 0 &&
        optionalString(line.s) &&
        optionalString(line.r) &&
        (line.sd === undefined || stepDurations(line.sd))
      )
    case 'open':
    case 'close':
      return typeof line.id === 'string'
    case 'note':
      return typeof line.id === 'string' && typeof line.ch === 'string' && typeof line.ev === 'string' && RESULTS.has(line.res)
    default:
      return false
  }
}

function stepDurations(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  for (const duration of Object.values(value)) if (!finite(duration)) return false
  return true
}

export const HistoryLineSchema: z.ZodType<HistoryLine> = z.custom<HistoryLine>(isHistoryLine, 'not a run, open, close or note line')

export const HISTORY_VERSION = 1

/**
 * What compaction keeps, oldest first: the runs of the last 7 days, at most
 * 10,000, the per-step durations of the last 120 of them only (a third of a
 * line's bytes), and every line of the last 50 incidents. Pure, so it is
 * tested as a table.
 */
export function retainLines(lines: readonly HistoryLine[], now: number): HistoryLine[] {
  const runs = lines.filter((line) => line.k === 'run' && line.at >= now - MAX_AGE_MS).slice(-MAX_RUNS)
  const keptRuns = new Set(runs)
  const charted = new Set(runs.slice(-STEP_SERIES_RUNS))
  const opened = lines.filter((line) => line.k === 'open').slice(-MAX_INCIDENTS)
  const ids = new Set(opened.map((line) => (line as { id: string }).id))
  const kept: HistoryLine[] = []
  for (const line of lines) {
    if (line.k !== 'run') {
      if (ids.has(line.id)) kept.push(line)
    } else if (keptRuns.has(line)) {
      if (charted.has(line) || !line.sd) kept.push(line)
      else {
        const { sd: _steps, ...rest } = line
        kept.push(rest)
      }
    }
  }
  return kept
}
