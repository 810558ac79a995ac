/**
 * The daemon's sweeps: each sweeping probe's sweep once at start, then every
 * `sweep.interval`, one sweep at a time and outside every run's budget, so a
 * slow list never delays a probe. A failed sweep is logged and counted,
 * never paged: it is housekeeping, not the target's health.
 */
import type { Probe } from '../config/probe-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import { DEFAULT_SWEEP_INTERVAL_MS } from '../config/sweep-schema.ts'
import type { Logger } from '../log.ts'
import { recordLine, runSweep, type SweepReport, sweepSummary } from './sweep.ts'

export interface SweeperDeps {
  readonly secrets: SecretMask
  readonly logger: Logger
  readonly onSweep?: (report: SweepReport) => void
  readonly now?: () => number
}

export interface Sweeper {
  /** The probes to sweep now (those with a `sweep:`); a probe kept keeps its place in the schedule. */
  schedule(probes: readonly Probe[]): void
  /** Aborts the sweep in flight and waits for it. */
  stop(): Promise<void>
}

export function createSweeper(deps: SweeperDeps): Sweeper {
  const now = deps.now ?? Date.now
  const planned = new Map<string, { probe: Probe; nextAt: number }>()
  const stopping = new AbortController()
  let timer: NodeJS.Timeout | null = null
  let running: Promise<void> | null = null

  const intervalOf = (probe: Probe) => probe.sweep?.interval ?? DEFAULT_SWEEP_INTERVAL_MS

  function arm(): void {
    if (timer) clearTimeout(timer)
    timer = null
    if (running || stopping.signal.aborted || planned.size === 0) return
    const next = Math.min(...[...planned.values()].map((p) => p.nextAt))
    timer = setTimeout(
      () => {
        timer = null
        running = sweepDue().finally(() => {
          running = null
          arm()
        })
      },
      Math.max(0, next - now()),
    )
    timer.unref()
  }

  async function sweepDue(): Promise<void> {
    for (;;) {
      if (stopping.signal.aborted) return
      const due = [...planned.values()].filter((p) => p.nextAt <= now()).sort((a, b) => a.nextAt - b.nextAt)[0]
      if (!due) return
      const { probe } = due
      const log = deps.logger.child({ probe: probe.name, component: 'sweep' })
      try {
        const report = await runSweep(probe, { secrets: deps.secrets, signal: stopping.signal })
        for (const record of report.records) log.debug({ record: recordLine(record, false) }, 'sweep record')
        deps.onSweep?.(report)
        const fields = {
          found: report.found,
          deleted: report.deleted,
          seen: report.seen,
          pages: report.pages,
          summary: sweepSummary(report),
        }
        if (report.error) log.warn({ ...fields, reason: report.error }, 'sweep failed')
        else log.info(fields, 'sweep finished')
      } catch (error) {
        log.error({ err: error }, 'bug: a sweep threw')
      }
      // A reload meanwhile may have replaced the probe (or dropped it): the next sweep follows the current one.
      const current = planned.get(probe.name)
      if (current) current.nextAt = now() + intervalOf(current.probe)
    }
  }

  return {
    schedule(probes) {
      const sweeping = probes.filter((p) => p.sweep !== undefined)
      const names = new Set(sweeping.map((p) => p.name))
      for (const name of [...planned.keys()]) if (!names.has(name)) planned.delete(name)
      for (const probe of sweeping) {
        const kept = planned.get(probe.name)
        if (kept && intervalOf(kept.probe) === intervalOf(probe)) kept.probe = probe
        else planned.set(probe.name, { probe, nextAt: now() })
      }
      arm()
    },
    async stop() {
      stopping.abort(new DOMException('shutting down', 'AbortError'))
      if (timer) clearTimeout(timer)
      timer = null
      await running
    },
  }
}
