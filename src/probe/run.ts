import { randomUUID } from 'node:crypto'
import type { Dispatcher } from 'undici'
import type { Probe, Step } from '../config/probe-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import { type Scope, renderTemplateValue } from '../config/template.ts'
import type { Logger } from '../log.ts'
import { ConnectionWatch } from './connections.ts'
import { round } from './exchange.ts'
import { createRunAgent } from './http.ts'
import { planStep, renderRequest } from './request.ts'
import type { Failure, RunResult, StepResult } from './result.ts'
import { ABORTED_BY_SHUTDOWN, type StepContext, runStep, skippedStep } from './step.ts'

export interface RunDeps {
  /** Masks every string that goes into the result (URLs, reasons). */
  readonly secrets: SecretMask
  /** Shutdown: when it aborts, the run stops and its outcome is `aborted`. */
  readonly signal?: AbortSignal
  /** Bound to `{ probe, runId }`; steps log at debug. */
  readonly logger?: Logger
  /** For tests (undici MockAgent). Default: a fresh Agent per run, destroyed at its end. */
  readonly dispatcher?: Dispatcher
  /** Default: 8 random hex digits. */
  readonly runId?: string
  /** Wall clock for `startedAt` and `{{ run.timestamp }}`. */
  readonly now?: () => Date
  /** Where cleanups are journaled before the run goes on (src/cleanup/); none: they run once, as steps. */
  readonly cleanups?: CleanupHooks
}

/** A journaled cleanup, as the run knows it. */
export interface CleanupTicket {
  readonly id: string
}

/**
 * The cleanup journal as a run sees it (README "Cleanup journal"): a
 * cleanup step is journaled as soon as its templates resolve, and the run
 * waits until the entry is durable before its next step; once the cleanup
 * step ran (or the run ended without it), the run settles the entry.
 */
export interface CleanupHooks {
  /** Null when it could not be journaled (said in the log); the step still runs. */
  journal(probe: Probe, step: Step, values: ReadonlyMap<string, unknown>): Promise<CleanupTicket | null>
  /** `status`: the cleanup's HTTP answer, or null when it did not run or got none. */
  settle(ticket: CleanupTicket, status: number | null): Promise<void>
}

export const SKIPPED_AFTER_FAILURE = 'skipped: an earlier step failed'
export const SKIPPED_AT_SHUTDOWN = 'skipped: the run was aborted by shutdown'

interface Deadline {
  readonly signal: AbortSignal
  /** performance.now() when it fires. */
  readonly at: number
}

/**
 * Runs a probe once: its steps in order under one deadline, cleanup steps
 * even after a failure. Never rejects: every fault becomes part of the result.
 */
export async function runProbe(probe: Probe, deps: RunDeps): Promise<RunResult> {
  // The first 8 digits of a v4 UUID are random; randomUUID draws from a cached pool, randomBytes makes a call per run.
  const runId = deps.runId ?? randomUUID().slice(0, 8)
  const startedAt = deps.now?.() ?? new Date()
  const t0 = performance.now()
  // A pino child per run costs more than the rest of a run's logging; it is made only when steps log (debug).
  const logger = deps.logger?.isLevelEnabled('debug') ? deps.logger.child({ probe: probe.name, runId }) : undefined
  const crashLogger = () => logger ?? deps.logger?.child({ probe: probe.name, runId })
  const watch = deps.dispatcher ? undefined : new ConnectionWatch()
  const agent = watch && createRunAgent(probe, watch)
  const dispatcher: Dispatcher = deps.dispatcher ?? agent!
  const values = runValues(probe, runId, startedAt)
  const scope: Scope = (name) => values.get(name)
  const deadlines = runDeadlines(probe, deps.signal, t0)
  const context = (step: Step): StepContext => {
    const deadline = step.cleanup ? deadlines.run : deadlines.main
    return {
      probe,
      dispatcher,
      watch,
      values,
      scope,
      signal: deadline.signal,
      deadlineAt: deadline.at,
      shutdown: deps.signal,
      secrets: deps.secrets,
    }
  }

  const steps: StepResult[] = []
  let failure: Failure | null = null
  let aborted = false
  const journal = deps.cleanups && cleanupJournal(probe, deps.cleanups, values, crashLogger)
  try {
    for (const step of probe.steps) {
      await journal?.ready()
      let result: StepResult
      if (deps.signal?.aborted) result = skippedStep(step, SKIPPED_AT_SHUTDOWN, deps.secrets)
      else if (failure && !step.cleanup) result = skippedStep(step, SKIPPED_AFTER_FAILURE, deps.secrets)
      else result = await guardedStep(step, context(step), crashLogger)
      aborted ||= result.skipReason === SKIPPED_AT_SHUTDOWN || result.skipReason === ABORTED_BY_SHUTDOWN
      failure ??= result.failure ?? null
      steps.push(result)
      if (step.cleanup) await journal?.settle(step, result.response?.status ?? null)
      if (logger?.isLevelEnabled('debug')) logStep(logger, result)
    }
  } finally {
    await journal?.settleRest()
    deadlines.clear()
    await agent?.destroy().catch(() => {})
  }
  const outcome = aborted ? 'aborted' : failure ? 'failure' : 'success'
  const durationMs = round(performance.now() - t0)
  if (logger?.isLevelEnabled('debug')) logger.debug({ outcome, durationMs }, 'run finished')
  return { probe: probe.name, runId, startedAt: startedAt.toISOString(), durationMs, outcome, failure, steps }
}

/** A step that throws is a bug in smokeprobe, not in the target: it fails that step, never the process. */
async function guardedStep(step: Step, context: StepContext, logger: () => Logger | undefined): Promise<StepResult> {
  try {
    return await runStep(step, context)
  } catch (error) {
    logger()?.error({ err: error, step: step.name }, 'step crashed: this is a bug in smokeprobe')
    const message = context.secrets.mask(`${step.name}: internal error: ${(error as Error)?.message ?? String(error)}`)
    return {
      name: step.name,
      cleanup: step.cleanup,
      status: 'failed',
      durationMs: 0,
      timings: {},
      failure: { step: step.name, kind: 'transport', reason: 'transport', message },
    }
  }
}

/**
 * The run's side of the journal: which cleanup steps are journaled, and
 * settling each once. A hook that throws is a bug; it is logged and the run
 * goes on as it would without a journal.
 */
function cleanupJournal(probe: Probe, hooks: CleanupHooks, values: ReadonlyMap<string, unknown>, logger: () => Logger | undefined) {
  const pending = probe.steps.filter((step) => step.cleanup)
  const tickets = new Map<Step, CleanupTicket | null>()
  const scope: Scope = (name) => values.get(name)
  const guarded = async <T>(run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run()
    } catch (error) {
      logger()?.error({ err: error }, 'bug: the cleanup journal threw')
      return null
    }
  }
  const settle = async (step: Step, status: number | null) => {
    const ticket = tickets.get(step)
    if (!ticket) return
    tickets.set(step, null)
    await guarded(() => hooks.settle(ticket, status))
  }
  return {
    async ready() {
      for (const step of pending) {
        if (tickets.has(step) || !renderRequest(step, planStep(probe, step), scope).ok) continue
        tickets.set(step, await guarded(() => hooks.journal(probe, step, values)))
      }
    },
    settle,
    async settleRest() {
      for (const step of pending) await settle(step, null)
    },
  }
}

/** `run.*`, `probe.name`, then the vars in order (each may use the ones before it). */
export function runValues(probe: Probe, runId: string, startedAt: Date): Map<string, unknown> {
  const values = new Map<string, unknown>([
    ['run.id', runId],
    ['run.timestamp', Math.floor(startedAt.getTime() / 1_000)],
    ['probe.name', probe.name],
  ])
  const scope: Scope = (name) => values.get(name)
  for (const [name, template] of Object.entries(probe.vars)) {
    const value = renderTemplateValue(template, scope)
    if (value.ok) values.set(name, value.value)
  }
  return values
}

/**
 * One deadline for the run, `timeout` after it starts, also cut by shutdown.
 * Steps other than cleanups must finish earlier, by a reserve kept for the
 * cleanups, so that a hung step still leaves time to delete what the run
 * created: the cleanups' own timeouts, or a quarter of the budget for each
 * cleanup without one, and never more than half of it.
 */
function runDeadlines(probe: Probe, shutdown: AbortSignal | undefined, t0: number): Deadlines {
  let reserve = 0
  for (const step of probe.steps) if (step.cleanup) reserve += step.request.timeout ?? probe.timeout / 4
  reserve = Math.round(Math.min(reserve, probe.timeout / 2))
  const run = timedSignal(probe.timeout, shutdown)
  const runDeadline = { signal: run.signal, at: t0 + probe.timeout }
  if (reserve === 0) return { main: runDeadline, run: runDeadline, clear: run.clear }
  const main = timedSignal(probe.timeout - reserve, run.signal)
  return {
    main: { signal: main.signal, at: runDeadline.at - reserve },
    run: runDeadline,
    clear: () => {
      main.clear()
      run.clear()
    },
  }
}

interface Deadlines {
  readonly main: Deadline
  readonly run: Deadline
  /** Stops the timers when the run is over. */
  readonly clear: () => void
}

/**
 * Aborts after `ms` with a TimeoutError (as `AbortSignal.timeout` does), or
 * with `parent`'s reason when it aborts first. Unlike `AbortSignal.timeout`
 * and `AbortSignal.any`, its timer and listener are removed by `clear`, so a
 * finished run leaves nothing behind to fire seconds later.
 */
function timedSignal(ms: number, parent: AbortSignal | undefined): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController()
  const onParent = () => controller.abort(parent?.reason)
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms)
  timer.unref()
  if (parent?.aborted) onParent()
  else parent?.addEventListener('abort', onParent, { once: true })
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer)
      parent?.removeEventListener('abort', onParent)
    },
  }
}

function logStep(logger: Logger, step: StepResult): void {
  logger.debug(
    {
      step: step.name,
      status: step.status,
      httpStatus: step.response?.status,
      durationMs: step.durationMs,
      timings: step.timings,
      reason: step.failure?.message ?? step.skipReason,
    },
    'step finished',
  )
}
