/**
 * The judge: between run and alert, a run's raw result becomes the outcome
 * the alert state machine counts, and whether its notifications are muted.
 *
 *   failure ──transport/timeout, every canary down──▶ inconclusive   (the monitor's network, not the target)
 *   success ──a step needed more than one attempt──▶ retried         (a success, but a flaky one)
 *   otherwise                                      ──▶ as the run says (success, failure, aborted)
 *   any of them ──a window or mute covers the probe──▶ muted
 *
 * The decisions are pure functions of the result and the inputs' answers;
 * `createJudge` is the one step that asks the inputs (the network only when
 * a failure could be its fault).
 */
import type { FailureReason, RunResult } from '../probe/result.ts'
import type { Mutes, Network } from './inputs.ts'

/**
 * What a run counts as. `retried` is a success that needed a retry;
 * `inconclusive` a failure the monitor's own network explains; `aborted` a run
 * cut short by shutdown, which the daemon never hands to alerting.
 */
export type Outcome = 'success' | 'failure' | 'retried' | 'inconclusive' | 'aborted'

/** The judge's verdict on one run: the fields a run's history record keeps. */
export interface Judgement {
  readonly outcome: Outcome
  /** In a maintenance window or an ad-hoc mute: counted as usual, notified of nothing. */
  readonly muted: boolean
}

/**
 * Failures the monitor's own network could cause: the target was never
 * heard from. A status, an expectation or a redirect the target refused to
 * follow is an answer, and an answer proves the network works.
 */
const NETWORK_REASONS: ReadonlySet<FailureReason> = new Set(['timeout', 'dns', 'connect', 'reset', 'tls', 'transport'])

/** Whether the canaries are worth asking about this run: only a failure the network could explain. */
export function mayBeNetwork(result: RunResult): boolean {
  return result.outcome === 'failure' && result.failure !== null && NETWORK_REASONS.has(result.failure.reason)
}

/** A step the engine sent more than once (a `retry:`); absent `attempts` means once. */
export function wasRetried(result: RunResult): boolean {
  return result.steps.some((step) => (step.attempts ?? 1) > 1)
}

/**
 * The outcome of a run, given whether the network was up when it failed.
 * `networkUp` is ignored unless `mayBeNetwork`: a pass, or a failure the
 * target answered, says the network works whatever the canaries say.
 */
export function outcomeOf(result: RunResult, networkUp: boolean): Outcome {
  switch (result.outcome) {
    case 'aborted':
      return 'aborted'
    case 'success':
      // Passed in the end, so the target works: a success for alerting, but
      // counted apart so that instability is seen instead of hidden.
      return wasRetried(result) ? 'retried' : 'success'
    case 'failure':
      // Every canary failed too: the monitor cannot reach anything, so this
      // run says nothing about the target, and paging for it would be a lie.
      return mayBeNetwork(result) && !networkUp ? 'inconclusive' : 'failure'
  }
}

export function judge(result: RunResult, seen: { readonly networkUp: boolean; readonly muted: boolean }): Judgement {
  return { outcome: outcomeOf(result, seen.networkUp), muted: seen.muted }
}

export interface JudgeDeps {
  readonly network: Network
  readonly mutes: Mutes
  readonly now?: () => Date
}

export interface JudgedProbe {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
}

/** The pipeline step: asks the inputs what they know about this run, then judges it. */
export function createJudge(deps: JudgeDeps): (result: RunResult, probe: JudgedProbe) => Promise<Judgement> {
  const now = deps.now ?? (() => new Date())
  return async (result, probe) => {
    // Judged when the result is in, not when the run started: the
    // notification it may cause would be decided now, so a mute that began
    // during the run (a deploy pipeline's first step) already covers it.
    const at = now()
    const networkUp = mayBeNetwork(result) ? await deps.network.up(at) : true
    return judge(result, { networkUp, muted: deps.mutes(probe.name, probe.labels, at) !== null })
  }
}
