/**
 * The judge's view of the monitor's own network across reloads: one
 * `Network` object the judge keeps, backed by the canary checker of the
 * configuration running now. A reload that leaves `canaries:` as they were
 * keeps the checker, and with it its cached answer.
 */
import type { CanaryConfig } from '../config/canaries.ts'
import { type CanaryChecker, createCanaryChecker, type NetworkStatus } from '../judge/canaries.ts'
import { NO_CANARIES, type Network } from '../judge/inputs.ts'
import { mayBeNetwork } from '../judge/judge.ts'
import type { Metrics } from '../metrics/registry.ts'
import type { RunResult } from '../probe/result.ts'

export interface NetworkInput {
  /** What the judge asks; stable for the daemon's life. */
  readonly network: Network
  /** Takes the canaries of a newly activated configuration. */
  configure(canaries: readonly CanaryConfig[]): void
  /** A judged run: one its target answered says the network works (see CanaryChecker.answered). */
  observe(result: RunResult, now: Date): void
  /** null without canaries. */
  status(): NetworkStatus | null
  close(): Promise<void>
}

export interface NetworkInputDeps {
  readonly metrics: Metrics
  readonly mask: (text: string) => string
  /** Tests shorten the 30 s cache. */
  readonly cacheMs?: number
  readonly timeoutMs?: number
}

export function createNetworkInput(deps: NetworkInputDeps): NetworkInput {
  let checker: CanaryChecker | null = null
  let key = '[]'
  const retired: Promise<void>[] = []
  return {
    network: { up: (now) => (checker ?? NO_CANARIES).up(now) },
    configure(canaries) {
      const next = JSON.stringify(canaries)
      if (next === key) return
      key = next
      if (checker) retired.push(checker.close())
      checker =
        canaries.length === 0
          ? null
          : createCanaryChecker({
              canaries,
              cacheMs: deps.cacheMs,
              timeoutMs: deps.timeoutMs,
              mask: deps.mask,
              onCheck: (up) => deps.metrics.setNetworkUp(up),
            })
      // Nothing says the network is down until a check does: 1 with canaries, no series without.
      deps.metrics.setNetworkUp(checker ? true : null)
    },
    observe(result, now) {
      if (result.outcome !== 'aborted' && !mayBeNetwork(result)) checker?.answered(now)
    },
    status: () => checker?.status() ?? null,
    async close() {
      await Promise.all([...retired, checker?.close()])
    },
  }
}
