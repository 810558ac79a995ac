import type { RunStats } from '../history/stats.ts'
import type { Judgement, Outcome } from '../judge/judge.ts'
import type { FailureKind, FailureReason, RunResult, StepResult } from '../probe/result.ts'

/**
 * What `/api/probes` and the status page show of one probe. The daemon
 * builds it from already-masked data; `publicStatus` then copies exactly
 * these fields, so nothing else a caller attaches is ever served.
 */
export interface ProbeStatus {
  readonly name: string
  readonly description?: string
  /** The probe's runbook URL (an http(s) URL, checked at load), when it declares one. */
  readonly runbook?: string
  /** How the probe is scheduled, in words: `every 1m` or `cron 0 * * * * (UTC)`. */
  readonly schedule: string
  readonly labels: Readonly<Record<string, string>>
  readonly lastRun: LastRunStatus | null
  readonly consecutiveFailures: number
  readonly alert: AlertStatus
  readonly channels: readonly string[]
  /** From the run history: uptime over 1 h / 24 h / 7 d (muted and inconclusive runs excluded), 0…1, and the 24 h p50/p95 duration. */
  readonly uptime?: RunStats['uptime']
  readonly p50Ms?: number | null
  readonly p95Ms?: number | null
  /** What mutes the probe's notifications now (a maintenance window or an ad-hoc mute), or null. */
  readonly mutedBy?: MutedBy | null
}

export interface MutedBy {
  readonly kind: 'maintenance' | 'mute'
  /** The window's name or the mute's id. */
  readonly name: string
  readonly until: string
}

/**
 * ok: passing; failing: failing but below the threshold; firing: alerted;
 * recovering: passing again but not yet for `successThreshold` runs.
 */
export type AlertStateName = 'ok' | 'failing' | 'firing' | 'recovering'

export interface AlertStatus {
  readonly state: AlertStateName
  /** ISO time the probe entered this state; null when it never left ok. */
  readonly since: string | null
}

export interface LastRunStatus {
  readonly runId: string
  readonly startedAt: string
  readonly durationMs: number
  /** The judged outcome: `retried` passed after a retry, `inconclusive` failed while the monitor's own network was down. */
  readonly outcome: Outcome
  /** Present, and true, only for a run judged while the probe was muted (as a history record says it). */
  readonly muted?: true
  readonly failure: {
    readonly step: string
    readonly kind: FailureKind
    readonly reason: FailureReason
    readonly message: string
    /** The failed step's evidence (README "A first run"), masked; absent when there was no response. */
    readonly status?: number
    readonly contentType?: string
    readonly bodyExcerpt?: string
  } | null
  readonly steps: readonly { readonly name: string; readonly status: StepResult['status']; readonly durationMs: number }[]
}

/**
 * The last-run summary of a finished run: no requests, responses or timings, just what an operator scans for.
 * Without a judgement, the run's raw outcome, unmuted.
 */
export function lastRunStatus(result: RunResult, judgement?: Judgement): LastRunStatus {
  return {
    runId: result.runId,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    outcome: judgement?.outcome ?? result.outcome,
    ...(judgement?.muted ? { muted: true as const } : {}),
    failure: result.failure && {
      step: result.failure.step,
      kind: result.failure.kind,
      reason: result.failure.reason,
      message: result.failure.message,
      ...evidence(result.failure),
    },
    steps: result.steps.map((step) => ({ name: step.name, status: step.status, durationMs: step.durationMs })),
  }
}

/**
 * A copy holding only the fields of ProbeStatus. The type system allows
 * a caller to pass a richer object (a whole Probe with its headers, say);
 * this is where anything beyond the contract is left behind.
 */
export function publicStatus(status: ProbeStatus): ProbeStatus {
  return {
    name: String(status.name),
    ...(status.description === undefined ? {} : { description: String(status.description) }),
    ...(status.runbook === undefined ? {} : { runbook: String(status.runbook) }),
    schedule: String(status.schedule),
    labels: Object.fromEntries(Object.entries(status.labels).map(([key, value]) => [key, String(value)])),
    lastRun: status.lastRun && lastRunCopy(status.lastRun),
    consecutiveFailures: Number(status.consecutiveFailures),
    alert: { state: status.alert.state, since: status.alert.since },
    channels: status.channels.map(String),
    uptime: {
      '1h': figure(status.uptime?.['1h']),
      '24h': figure(status.uptime?.['24h']),
      '7d': figure(status.uptime?.['7d']),
    },
    p50Ms: figure(status.p50Ms),
    p95Ms: figure(status.p95Ms),
    mutedBy: status.mutedBy
      ? { kind: status.mutedBy.kind, name: String(status.mutedBy.name), until: String(status.mutedBy.until) }
      : null,
  }
}

/** A number as a number; no figure (no run counted) as null. */
function figure(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

function lastRunCopy(run: LastRunStatus): LastRunStatus {
  return {
    runId: String(run.runId),
    startedAt: String(run.startedAt),
    durationMs: Number(run.durationMs),
    outcome: run.outcome,
    ...(run.muted === true ? { muted: true as const } : {}),
    failure: run.failure && {
      step: String(run.failure.step),
      kind: run.failure.kind,
      reason: run.failure.reason,
      message: String(run.failure.message),
      ...evidence(run.failure),
    },
    steps: run.steps.map((step) => ({ name: String(step.name), status: step.status, durationMs: Number(step.durationMs) })),
  }
}

/** The evidence fields of a failure, copied as their types, absent ones left out. */
function evidence(failure: { status?: unknown; contentType?: unknown; bodyExcerpt?: unknown }) {
  return {
    ...(failure.status === undefined ? {} : { status: Number(failure.status) }),
    ...(failure.contentType === undefined ? {} : { contentType: String(failure.contentType) }),
    ...(failure.bodyExcerpt === undefined ? {} : { bodyExcerpt: String(failure.bodyExcerpt) }),
  }
}
