/**
 * How a write of a state file reports its outcome: every attempt goes to the
 * caller's `onWrite` (the daemon counts failures in the one metric
 * `probe_state_write_failures_total` and lists the cause on `/readyz`), and
 * the cause is logged once, once more when it changes, and once when writes
 * succeed again — a full disk must not log every run (README "Alerting",
 * "State write failures").
 */
import type { Logger } from '../log.ts'

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
