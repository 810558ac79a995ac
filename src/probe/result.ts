/**
 * What one run of a probe produced. The daemon, `run --once`, the alert
 * state machine and the metrics all read this shape; it holds no secrets
 * (every string in it has passed the SecretMask).
 */

/** Why a step failed, in the words the report and notifications use. */
export type FailureKind = 'transport' | 'timeout' | 'status' | 'expectation' | 'capture' | 'body_too_large'

/**
 * The bounded `reason` label of `probe_failures_total`: finer than FailureKind
 * for transport errors so a dashboard can tell DNS from TLS.
 */
export type FailureReason =
  | 'timeout'
  | 'dns'
  | 'connect'
  | 'reset'
  | 'tls'
  | 'redirect'
  | 'transport'
  | 'status'
  | 'expectation'
  | 'capture'
  | 'body_too_large'
  | 'invalid_body'
  | 'template'

export interface Failure {
  readonly step: string
  readonly kind: FailureKind
  readonly reason: FailureReason
  /** One plain-words line, e.g. `read: expected status 200, got 500`. */
  readonly message: string
  /** The evidence, when the step got a response (README "A first run"): its status, */
  readonly status?: number
  /** its `content-type`, when it had one, */
  readonly contentType?: string
  /** and the first 512 bytes of its body as text, masked (`<N bytes of TYPE>` for a binary body); absent for an empty body. */
  readonly bodyExcerpt?: string
}

/** Phases of one step in milliseconds; a phase that did not happen (reused connection, IP literal) is absent. */
export interface StepTimings {
  readonly dnsMs?: number
  readonly connectMs?: number
  readonly tlsMs?: number
  readonly firstByteMs?: number
  readonly transferMs?: number
}

export interface StepResult {
  readonly name: string
  readonly cleanup: boolean
  readonly status: 'passed' | 'failed' | 'skipped'
  /** Why a step was skipped: an earlier failure, or a cleanup whose templates could not be resolved. */
  readonly skipReason?: string
  /**
   * The request as sent, secrets masked; `finalUrl` is the URL of the last
   * request when redirects were followed.
   */
  readonly request?: { readonly method: string; readonly url: string; readonly finalUrl?: string }
  readonly response?: { readonly status: number; readonly bytes: number }
  readonly durationMs: number
  readonly timings: StepTimings
  readonly failure?: Failure
  /**
   * How many times the step's request was sent: more than 1 when a step's
   * `retry:` sent it again after a transport fault, a timeout or a 5xx.
   * Absent means once. The judge reads it to tell a `retried` run from a
   * plain success; `durationMs` then spans every attempt and the delays.
   */
  readonly attempts?: number
  /** On a failed step that sent a request: a POSIX-shell `curl` command repeating it, every secret as `"$NAME"`. */
  readonly reproduce?: string
}

/**
 * `aborted` is a run cut short by shutdown: it counts as neither success
 * nor failure (README "Alerting"), so the alert state machine ignores it.
 */
export type RunOutcome = 'success' | 'failure' | 'aborted'

export interface RunResult {
  readonly probe: string
  readonly runId: string
  /** ISO time the run started (wall clock, for reports and notifications). */
  readonly startedAt: string
  readonly durationMs: number
  readonly outcome: RunOutcome
  /** The first failure of the run (the one the report and alerts name); null on success. */
  readonly failure: Failure | null
  readonly steps: readonly StepResult[]
}
