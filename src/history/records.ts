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

const Time = z.number().finite()

export const HistoryLineSchema = z.discriminatedUnion('k', [
  z.object({
    k: z.literal('run'),
    at: Time,
    o: z.enum(OUTCOMES as [Outcome, ...Outcome[]]),
    m: z.literal(true).optional(),
    d: z.number().finite().nonnegative(),
    s: z.string().optional(),
    r: z.string().optional(),
    sd: z.record(z.string(), z.number().finite()).optional(),
  }),
  z.object({ k: z.literal('open'), id: z.string(), at: Time }),
  z.object({ k: z.literal('close'), id: z.string(), at: Time }),
  z.object({ k: z.literal('note'), id: z.string(), ch: z.string(), ev: z.string(), res: z.enum(['sent', 'failed', 'dropped']), at: Time }),
]) satisfies z.ZodType<HistoryLine>

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
