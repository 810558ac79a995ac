/**
 * The canary checker: the `Network` the judge asks when a run failed in a
 * way the monitor's own network could explain. The network is up when any
 * canary answers (any status below 500, or the one it expects); down when
 * every one fails. One check at a time: callers that ask while a check is
 * in flight share it, so a hundred probes failing together make one round
 * of canary requests, not a hundred. The answer is kept for `cacheMs`.
 */
import type { Dispatcher } from 'undici'
import { Agent, request } from '../probe/undici.ts'
import type { CanaryConfig } from '../config/canaries.ts'
import type { Network } from './inputs.ts'

/** How long a check's answer is reused: a dead network stays dead for longer than a burst of failures. */
export const CANARY_CACHE_MS = 30_000
/** Each canary's whole request: short, since a failing run waits for the check before it is judged. */
export const CANARY_TIMEOUT_MS = 2_000

export interface CanaryOutcome {
  readonly url: string
  readonly ok: boolean
  /** `200`, or why it failed: `status 503`, `ECONNREFUSED`, `timeout`. */
  readonly detail: string
}

export interface NetworkStatus {
  /** null until the first check. */
  readonly up: boolean | null
  readonly checkedAt: string | null
  readonly canaries: readonly CanaryOutcome[]
}

export interface CanaryChecker extends Network {
  /** What the last check found, for `/api/probes` and the status page. */
  status(): NetworkStatus
  /**
   * A run got an answer from its target, so the network works now: if the
   * last check said down and its answer is stale, check again in the
   * background, so `probe_network_up` does not stay 0 while every probe passes.
   */
  answered(now: Date): void
  close(): Promise<void>
}

export interface CanaryCheckerOptions {
  readonly canaries: readonly CanaryConfig[]
  /** Default: an agent of its own, closed by `close`. */
  readonly dispatcher?: Dispatcher
  readonly timeoutMs?: number
  readonly cacheMs?: number
  /** Called with each check's answer: `probe_network_up`. */
  readonly onCheck?: (up: boolean) => void
  /** Masks what status() shows: a canary URL may hold a secret. */
  readonly mask?: (text: string) => string
}

export function createCanaryChecker(options: CanaryCheckerOptions): CanaryChecker {
  const own = options.dispatcher ? null : new Agent({ connections: 1, allowH2: false })
  const dispatcher = options.dispatcher ?? (own as Agent)
  const timeoutMs = options.timeoutMs ?? CANARY_TIMEOUT_MS
  const cacheMs = options.cacheMs ?? CANARY_CACHE_MS
  const mask = options.mask ?? ((text: string) => text)
  let last: { up: boolean; at: number; checkedAt: string; canaries: CanaryOutcome[] } | null = null
  let inFlight: Promise<boolean> | null = null

  function check(now: Date): Promise<boolean> {
    inFlight ??= (async () => {
      try {
        const canaries = await Promise.all(options.canaries.map((canary) => ask(canary, dispatcher, timeoutMs)))
        // Any answer proves the monitor reaches the world; only when every canary fails is the network down.
        const up = canaries.some((c) => c.ok)
        last = { up, at: now.getTime(), checkedAt: now.toISOString(), canaries }
        options.onCheck?.(up)
        return up
      } finally {
        inFlight = null
      }
    })()
    return inFlight
  }

  const fresh = (now: Date) => last !== null && now.getTime() - last.at < cacheMs

  return {
    async up(now) {
      if (options.canaries.length === 0) return true
      if (last && fresh(now)) return last.up
      return check(now)
    },
    answered(now) {
      if (options.canaries.length > 0 && last && !last.up && !fresh(now)) void check(now)
    },
    status: () => ({
      up: last?.up ?? null,
      checkedAt: last?.checkedAt ?? null,
      canaries: (last?.canaries ?? []).map((c) => ({ ...c, url: mask(c.url) })),
    }),
    async close() {
      await inFlight?.catch(() => {})
      await own?.close().catch(() => {})
    },
  }
}

/** One canary's request; resolves to its outcome and never rejects. */
async function ask(canary: CanaryConfig, dispatcher: Dispatcher, timeoutMs: number): Promise<CanaryOutcome> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const response = await request(canary.url, { method: 'GET', dispatcher, signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
    // The body says nothing about the network; drain it (bounded) so the connection can be reused.
    await response.body.dump({ limit: 64 * 1024 }).catch(() => {})
    const ok = canary.status === undefined ? response.statusCode < 500 : response.statusCode === canary.status
    return { url: canary.url, ok, detail: ok ? String(response.statusCode) : `status ${response.statusCode}` }
  } catch (error) {
    const detail = signal.aborted ? 'timeout' : ((error as { code?: string }).code ?? (error as Error).name ?? 'error')
    return { url: canary.url, ok: false, detail }
  }
}
