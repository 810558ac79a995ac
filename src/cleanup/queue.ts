/**
 * The cleanups that wait: journaled by runs (the `CleanupHooks` a run gets),
 * or left in the journal by a process that died. An entry belongs to its run
 * until the run settles it; only then, or from the start for an entry found
 * on disk, is it retried here — one at a time, with backoff, for up to 24 h
 * from when it was journaled — so that no record is deleted twice. An entry
 * keeps its own templates: a probe removed from the configuration keeps its
 * pending cleanups (README "Cleanup journal").
 */
import type { Probe, Step } from '../config/probe-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import type { Logger } from '../log.ts'
import { readSecrets } from '../loader/secret-files.ts'
import type { CleanupHooks, CleanupTicket } from '../probe/run.ts'
import { cleanedUp, entryOf, type JournalEntry, renderEntry, secretReadsOf } from './entry.ts'
import type { Journal } from './journal.ts'
import { outcomeText, sendRequest } from './send.ts'

export interface CleanupRetryPolicy {
  /** Delay before the first retry; doubles with each failure. @defaultValue 10s */
  readonly baseDelayMs: number
  /** @defaultValue 10m */
  readonly maxDelayMs: number
  /** Retries end this long after the entry was journaled, and it is abandoned. @defaultValue 24h */
  readonly expireMs: number
}

export const DEFAULT_CLEANUP_RETRY: CleanupRetryPolicy = { baseDelayMs: 10_000, maxDelayMs: 600_000, expireMs: 24 * 3_600_000 }

export interface QueueDeps {
  readonly journal: Journal
  readonly secrets: SecretMask
  /** The environment and secrets directory that templates are resolved in at retry time. */
  readonly env: Readonly<Record<string, string | undefined>>
  readonly secretsDir: string | null
  /** The env names that are credentials (the loaded configuration's), kept with each entry. */
  readonly secretEnv: () => readonly string[]
  readonly logger: Logger
  readonly retry?: Partial<CleanupRetryPolicy>
  readonly now?: () => number
  /** After every change: pending entries (waiting for a retry) per probe. */
  readonly onPending?: (counts: ReadonlyMap<string, number>) => void
  readonly onAbandoned?: (probe: string) => void
}

interface Waiting {
  readonly entry: JournalEntry
  attempts: number
  nextAt: number
  /** Journaled by a run still in flight: only the run sends it (once), until it settles. */
  owned: boolean
}

export interface CleanupQueue {
  /** Given to runProbe. */
  readonly hooks: CleanupHooks
  /** Reads the journal; what it holds is due at once. Warnings name what could not be read. */
  load(): Promise<string[]>
  /** Retries in the background until stop(). */
  start(): void
  /** Tries every waiting entry once, now, one after another (`run --once`). */
  drain(signal?: AbortSignal): Promise<{ done: number; failed: number }>
  stop(): Promise<void>
  /** Entries not yet done (in flight or waiting). */
  size(): number
}

export function createCleanupQueue(deps: QueueDeps): CleanupQueue {
  const policy = { ...DEFAULT_CLEANUP_RETRY, ...deps.retry }
  const now = deps.now ?? Date.now
  const waiting = new Map<string, Waiting>()
  const stopping = new AbortController()
  let timer: NodeJS.Timeout | null = null
  let running = false
  let started = false
  let busy: Promise<void> = Promise.resolve()

  function report(): void {
    const counts = new Map<string, number>()
    for (const w of waiting.values()) counts.set(w.entry.probe, (counts.get(w.entry.probe) ?? 0) + (w.owned ? 0 : 1))
    deps.onPending?.(counts)
  }

  function backoff(attempts: number): number {
    return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1))
  }

  /** One attempt; true when the entry is done (deleted, gone or abandoned). */
  async function attempt(w: Waiting, signal: AbortSignal): Promise<boolean> {
    const { entry } = w
    const log = deps.logger.child({ probe: entry.probe, step: entry.step, cleanup: entry.id })
    const reads = await readSecrets(secretReadsOf(entry), deps.env, deps.secretsDir)
    const request = renderEntry(entry, {
      env: deps.env,
      secrets: deps.secrets,
      secretNames: new Map(entry.secretEnv.map((name) => [name, ['journaled as a secret']])),
      readSecret: (name) => reads.get(name) ?? { problem: `secret ${name} was not read` },
    })
    let reason: string
    if (typeof request === 'string') reason = request
    else {
      const outcome = await sendRequest(request, {
        timeoutMs: entry.request.timeoutMs,
        maxBodySize: entry.request.maxBodySize,
        maxRedirects: entry.request.followRedirects,
        insecure: entry.request.insecure,
        keepBody: false,
        secrets: deps.secrets,
        shutdown: signal,
      })
      if (outcome.kind === 'aborted') return false
      const status = outcome.kind === 'response' ? outcome.response.status : outcome.response?.status
      if (status !== undefined && cleanedUp(status)) {
        await finish(w, status >= 300 ? 'gone' : 'deleted')
        log.info({ status, attempts: w.attempts + 1 }, 'journaled cleanup done')
        return true
      }
      reason = deps.secrets.mask(outcomeText(outcome))
    }
    w.attempts++
    if (now() - entry.createdAt >= policy.expireMs) {
      await finish(w, 'abandoned')
      deps.onAbandoned?.(entry.probe)
      log.error(
        { attempts: w.attempts, reason, journaledAt: new Date(entry.createdAt).toISOString() },
        'cleanup abandoned after 24 h of retries: the record it would delete may be left behind',
      )
      return true
    }
    w.nextAt = now() + backoff(w.attempts)
    log.warn({ attempts: w.attempts, reason, retryInMs: w.nextAt - now() }, 'journaled cleanup failed; retrying later')
    return false
  }

  async function finish(w: Waiting, reason: 'deleted' | 'gone' | 'abandoned'): Promise<void> {
    waiting.delete(w.entry.id)
    const error = await deps.journal.done(w.entry.id, reason)
    if (error)
      deps.logger.warn(
        { cleanup: w.entry.id, reason: error },
        'cannot mark the cleanup done in the journal; it is tried again after a restart',
      )
  }

  function arm(): void {
    if (!started || running || stopping.signal.aborted) return
    if (timer) clearTimeout(timer)
    timer = null
    let next = Number.POSITIVE_INFINITY
    for (const w of waiting.values()) if (!w.owned) next = Math.min(next, w.nextAt)
    if (next === Number.POSITIVE_INFINITY) return
    timer = setTimeout(tick, Math.max(0, next - now()))
    timer.unref()
  }

  function tick(): void {
    timer = null
    running = true
    busy = (async () => {
      // One at a time, oldest due first: a broken API is not hammered by a burst of retries.
      for (;;) {
        if (stopping.signal.aborted) break
        const due = [...waiting.values()].filter((w) => !w.owned && w.nextAt <= now()).sort((a, b) => a.nextAt - b.nextAt)[0]
        if (!due) break
        await attempt(due, stopping.signal).catch((error: unknown) => {
          deps.logger.error({ err: error, cleanup: due.entry.id }, 'bug: a journaled cleanup threw')
          due.nextAt = now() + backoff(++due.attempts)
        })
        report()
      }
      running = false
      arm()
    })()
  }

  const hooks: CleanupHooks = {
    async journal(probe: Probe, step: Step, values: ReadonlyMap<string, unknown>): Promise<CleanupTicket | null> {
      const entry = entryOf(probe, step, values, deps.secrets, deps.secretEnv(), now())
      if (typeof entry === 'string') {
        deps.logger.warn({ probe: probe.name, step: step.name, reason: entry }, 'cleanup not journaled')
        return null
      }
      waiting.set(entry.id, { entry, attempts: 0, nextAt: now(), owned: true })
      const error = await deps.journal.add(entry)
      if (error)
        deps.logger.warn(
          { probe: probe.name, step: step.name, reason: error },
          'cleanup journaled in memory only: the journal cannot be written',
        )
      return { id: entry.id }
    },
    async settle(ticket, status) {
      const w = waiting.get(ticket.id)
      if (!w) return
      if (status !== null && cleanedUp(status)) {
        await finish(w, status >= 300 ? 'gone' : 'deleted')
        return
      }
      // The run's own attempt (if any) was the first: the retries back off from there.
      w.owned = false
      w.attempts = status === null ? 0 : 1
      w.nextAt = now() + (status === null ? 0 : backoff(1))
      report()
      arm()
    },
  }

  return {
    hooks,
    async load() {
      const { entries, warnings } = await deps.journal.load()
      for (const entry of entries) waiting.set(entry.id, { entry, attempts: 0, nextAt: now(), owned: false })
      if (entries.length > 0) deps.logger.info({ pending: entries.length }, 'journaled cleanups found; retrying them')
      report()
      return warnings
    },
    start() {
      started = true
      arm()
    },
    async drain(signal) {
      let done = 0
      let failed = 0
      for (const w of [...waiting.values()]) {
        if (w.owned || signal?.aborted) continue
        if (await attempt(w, signal ?? stopping.signal)) done++
        else failed++
      }
      report()
      return { done, failed }
    },
    async stop() {
      stopping.abort(new DOMException('shutting down', 'AbortError'))
      if (timer) clearTimeout(timer)
      timer = null
      await busy
    },
    size: () => waiting.size,
  }
}
