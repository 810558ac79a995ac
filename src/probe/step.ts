import type { Dispatcher } from 'undici'
import type { Probe, Step } from '../config/probe-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import type { Scope } from '../config/template.ts'
import { takeCaptures } from './capture.ts'
import type { Fault } from './classify.ts'
import type { ConnectionWatch } from './connections.ts'
import { type ExchangeResponse, exchange, round } from './exchange.ts'
import { type JsonBody, checkExpectations, parseJsonBody, unresolved } from './expect.ts'
import { type StepPlan, planStep, renderRequest } from './request.ts'
import { reproduceCommand, responseEvidence } from './evidence.ts'
import type { Failure, StepResult, StepTimings } from './result.ts'
import { isRetryable, pause, retryFits } from './retry.ts'

/** What a step runs with: the run's dispatcher, scope and deadline. */
export interface StepContext {
  readonly probe: Probe
  readonly dispatcher: Dispatcher
  readonly watch: ConnectionWatch | undefined
  /** The run's values (run.*, vars, captures so far); captures are added to it. */
  readonly values: Map<string, unknown>
  readonly scope: Scope
  /** Aborts at the deadline this step lives under, or at shutdown. */
  readonly signal: AbortSignal
  /** performance.now() of that deadline. */
  readonly deadlineAt: number
  readonly shutdown: AbortSignal | undefined
  readonly secrets: SecretMask
}

export const ABORTED_BY_SHUTDOWN = 'aborted: shutting down'

/**
 * Runs one step, and again after a transport fault, a timeout or a 5xx when
 * it has a `retry:` and the retry fits in its deadline. The result is the
 * last attempt's, with how many were sent and the time all of them took.
 */
export async function runStep(step: Step, context: StepContext): Promise<StepResult> {
  const startedAt = performance.now()
  let result = await attemptStep(step, context)
  let attempts = 1
  const retry = step.retry
  while (retry && attempts <= retry.attempts && isRetryable(result) && retryFits(retry.delay, context.deadlineAt, performance.now())) {
    if (!(await pause(retry.delay, context.signal))) {
      // Shut down while waiting to retry: the run was cut short, not failed.
      if (context.shutdown?.aborted) return skippedStep(step, ABORTED_BY_SHUTDOWN, context.secrets)
      break
    }
    result = await attemptStep(step, context)
    attempts += 1
  }
  return attempts > 1 ? { ...result, attempts, durationMs: round(performance.now() - startedAt) } : result
}

/** One attempt of a step: render, send, check, capture. Wire faults and failed checks come back in the result. */
async function attemptStep(step: Step, context: StepContext): Promise<StepResult> {
  const startedAt = performance.now()
  const plan = planStep(context.probe, step)
  const rendered = renderRequest(step, plan, context.scope)
  if (!rendered.ok) {
    const fault: Fault = rendered.problem ? { kind: 'capture', reason: 'template', detail: rendered.problem } : unresolved(rendered.missing)
    // A cleanup with nothing to clean up (the create never returned an id) is not a failure.
    if (step.cleanup) return skippedStep(step, `skipped: ${fault.detail}`, context.secrets)
    return failedStep(step, fault, context.secrets, { durationMs: 0, timings: {} })
  }
  // Only a failed step carries its curl line; built for every step, it was a tenth of a passing run's garbage.
  const curl = () => reproduceCommand(rendered.request, context.secrets)
  const sent = { method: rendered.request.method, url: context.secrets.mask(rendered.request.url) }
  const stepTimeout = step.request.timeout
  const untilDeadline = context.deadlineAt - startedAt
  const ownTimeout = stepTimeout !== undefined && stepTimeout < untilDeadline
  const budgetMs = ownTimeout ? stepTimeout : untilDeadline
  const outcome = await exchange(rendered.request, {
    dispatcher: context.dispatcher,
    watch: context.watch,
    signal: ownTimeout ? AbortSignal.any([context.signal, AbortSignal.timeout(stepTimeout)]) : context.signal,
    shutdown: context.shutdown,
    deadlineAt: startedAt + budgetMs,
    budgetMs,
    maxBodySize: context.probe.maxBodySize,
    keepBody: plan.keepBody,
    maxRedirects: step.request.followRedirects,
    secrets: context.secrets,
  })
  const durationMs = round(performance.now() - startedAt)
  const { timings, redirected } = outcome
  const request = redirected ? { ...sent, finalUrl: context.secrets.mask(redirected.url) } : sent
  if (outcome.kind === 'aborted') {
    return { name: step.name, cleanup: step.cleanup, status: 'skipped', skipReason: ABORTED_BY_SHUTDOWN, request, durationMs, timings }
  }
  if (outcome.kind === 'fault') {
    const response = outcome.response && { status: outcome.response.status, bytes: outcome.response.bytes }
    const evidence = outcome.response ? responseEvidence(outcome.response, context.secrets) : {}
    return failedStep(step, outcome.fault, context.secrets, { request, response, durationMs, timings }, { ...evidence, reproduce: curl() })
  }
  const { response } = outcome
  const judged = judge(step, plan, response, durationMs, context)
  const seen = { request, response: { status: response.status, bytes: response.bytes }, durationMs, timings }
  // A 401 from the other origin is explained by what was held back there.
  const fault = judged && redirected?.notSent.length ? { ...judged, detail: `${judged.detail} ${notSentHint(redirected.notSent)}` } : judged
  if (fault) return failedStep(step, fault, context.secrets, seen, { ...responseEvidence(response, context.secrets), reproduce: curl() })
  return { name: step.name, cleanup: step.cleanup, status: 'passed', ...seen }
}

/** The step's verdict on a response it received: the first expectation that fails, else the first capture that does. */
function judge(step: Step, plan: StepPlan, response: ExchangeResponse, durationMs: number, context: StepContext): Fault | null {
  const json: JsonBody = plan.parseJson ? parseJsonBody(response) : null
  const expectation = checkExpectations(step.expect, response, json, durationMs, context.scope, context.secrets)
  // Captures are taken even after a failed expectation, so the cleanup can still delete what was created.
  const capture = takeCaptures(step.capture, response, json, context.values)
  return expectation ?? capture
}

function notSentHint(names: readonly string[]): string {
  return `(after a redirect to another origin; not sent there: ${names.join(', ')})`
}

interface Seen {
  readonly request?: StepResult['request']
  readonly response?: StepResult['response']
  readonly durationMs: number
  readonly timings: StepTimings
}

type Evidence = Pick<Failure, 'status' | 'contentType' | 'bodyExcerpt'> & { readonly reproduce?: string }

function failedStep(step: Step, fault: Fault, secrets: SecretMask, seen: Seen, { reproduce, ...evidence }: Evidence = {}): StepResult {
  const message = secrets.mask(`${step.name}: ${fault.detail}`)
  return {
    name: step.name,
    cleanup: step.cleanup,
    status: 'failed',
    ...seen,
    failure: { step: step.name, kind: fault.kind, reason: fault.reason, message, ...evidence },
    ...(reproduce === undefined ? {} : { reproduce }),
  }
}

export function skippedStep(step: Step, skipReason: string, secrets: SecretMask): StepResult {
  return { name: step.name, cleanup: step.cleanup, status: 'skipped', skipReason: secrets.mask(skipReason), durationMs: 0, timings: {} }
}
