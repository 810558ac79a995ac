import type { Notification } from '../notification.ts'
import { formatLabels } from './common.ts'

/** One element of the `POST /api/v2/alerts` body (Alertmanager `api/v2/openapi.yaml` postableAlert). */
export interface AlertmanagerAlert {
  readonly labels: Readonly<Record<string, string>>
  /**
   * `excerpt`: the failed step's response body (first 512 bytes, masked), when it had one;
   * `runbook_url`: the probe's runbook, when it declares one (the Prometheus community's name for it).
   */
  readonly annotations: {
    readonly summary: string
    readonly description: string
    readonly excerpt?: string
    readonly runbook_url?: string
  }
  readonly startsAt: string
  readonly endsAt: string
}

export const ALERTNAME = 'ProbeFailing'
export const TEST_ALERTNAME = 'SmokeprobeTest'
/**
 * A test alert stays firing this long: longer than Alertmanager's default
 * `group_wait` (30s), because a group first seen already resolved is never
 * notified, and short enough to clear itself without a resolve.
 */
export const TEST_ALERT_MS = 5 * 60_000

/**
 * Labels are the alert's identity, so the ones smokeprobe sets come last and
 * cannot be overridden: the probe's labels, then the channel's (e.g.
 * severity), then `alertname`, `probe` and `location`. Alertmanager drops
 * empty values itself; they are dropped here so the fingerprint is the same.
 */
export function alertLabels(n: Notification, channelLabels: Readonly<Record<string, string>>, alertname: string): Record<string, string> {
  const labels: Record<string, string> = { ...n.labels, ...channelLabels, alertname, probe: n.probe }
  if (n.location) labels.location = n.location
  else delete labels.location
  for (const [name, value] of Object.entries(labels)) if (value === '') delete labels[name]
  return labels
}

export function amAlert(n: Notification, channelLabels: Readonly<Record<string, string>>, endsAt: string): AlertmanagerAlert {
  return {
    labels: alertLabels(n, channelLabels, ALERTNAME),
    annotations: {
      summary: n.summary,
      description: describe(n),
      ...(n.event !== 'resolved' && n.error?.excerpt !== undefined ? { excerpt: n.error.excerpt } : {}),
      ...(n.runbook === undefined ? {} : { runbook_url: n.runbook }),
    },
    startsAt: n.since,
    endsAt,
  }
}

export function testAlert(n: Notification, channelLabels: Readonly<Record<string, string>>): AlertmanagerAlert {
  const startsAt = Date.parse(n.at)
  return {
    labels: alertLabels(n, channelLabels, TEST_ALERTNAME),
    annotations: { summary: n.summary, description: 'A test alert sent by `probe alert test`; it resolves by itself. No action needed.' },
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(startsAt + TEST_ALERT_MS).toISOString(),
  }
}

function describe(n: Notification): string {
  const where = n.location ? ` from ${n.location}` : ''
  const status = n.error?.status === undefined ? '' : `\nResponse status: ${n.error.status}`
  const failure = n.error ? `\nFailing step: ${n.error.step}\nReason: ${n.error.message}${status}` : ''
  const head =
    n.event === 'resolved'
      ? `Probe ${n.probe} recovered${where} at ${n.at}; it had been failing since ${n.since}.`
      : `Probe ${n.probe} has failed ${n.consecutiveFailures} consecutive runs${where} since ${n.since}.`
  const about = n.description === undefined ? '' : `\n${n.description}`
  return `${head}${about}${failure}\nLabels: ${formatLabels(n.labels)}`
}
