import type { AlertState } from '../alerting/state.ts'
import { consecutiveFailures } from '../alerting/state.ts'
import type { AlertPolicy } from '../config/alert-policy.ts'
import type { Probe } from '../config/probe-schema.ts'
import type { RunStats } from '../history/stats.ts'
import type { ActiveMute } from '../judge/inputs.ts'
import type { Judgement } from '../judge/judge.ts'
import type { RunResult } from '../probe/result.ts'
import { describeSchedule } from '../scheduler/plan.ts'
import { lastRunStatus, type ProbeStatus } from '../server/status.ts'

/** A probe's last run with the judge's verdict on it. */
export interface JudgedRun {
  readonly result: RunResult
  readonly judgement: Judgement
}

/** What `/api/probes` and the status page show for one probe. */
export function probeStatus(
  probe: Probe,
  policy: AlertPolicy,
  last: JudgedRun | undefined,
  alert: AlertState | undefined,
  stats?: RunStats | null,
  mute?: ActiveMute | null,
): ProbeStatus {
  const state = alert ?? { kind: 'ok' as const }
  return {
    name: probe.name,
    ...(probe.description === undefined ? {} : { description: probe.description }),
    ...(probe.runbook === undefined ? {} : { runbook: probe.runbook }),
    schedule: describeSchedule(probe),
    labels: probe.labels,
    lastRun: last ? lastRunStatus(last.result, last.judgement) : null,
    consecutiveFailures: consecutiveFailures(state),
    alert: { state: state.kind, since: state.kind === 'ok' ? null : state.since },
    channels: policy.channels,
    ...(stats ? { uptime: stats.uptime, p50Ms: stats.p50Ms, p95Ms: stats.p95Ms } : {}),
    mutedBy: mute ? { kind: mute.kind, name: mute.name, until: mute.until.toISOString() } : null,
  }
}
