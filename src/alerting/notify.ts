/**
 * Turns the state machine's events into Notifications: deterministic ids and
 * the one-line summary every channel shows.
 */
import { createHash } from 'node:crypto'
import type { AlertEvent } from './state.ts'
import type { Failure } from '../probe/result.ts'
import type { Notification, NotificationError } from './notification.ts'

export interface NotificationSubject {
  readonly probe: string
  readonly location: string | null
  readonly labels: Readonly<Record<string, string>>
  readonly description?: string
  readonly runbook?: string
}

/**
 * sha256 of probe, location and incident start, first 32 hex digits: the same
 * on every restart and every replica that saw the same first failure, so a
 * PagerDuty dedup_key or webhook groupKey derived from it never splits an
 * incident in two (Alertmanager's hash(groupKey), not Gatus's remembered key).
 */
export function incidentId(probe: string, location: string | null, since: string): string {
  return createHash('sha256')
    .update(`${probe}|${location ?? ''}|${since}`)
    .digest('hex')
    .slice(0, 32)
}

/**
 * Unique per (incident, event, sequence) and stable, so a redelivery after a
 * crash carries the id of the first attempt and a receiver can dedupe it.
 */
export function notificationId(incident: string, event: AlertEvent['event'], sequence: number): string {
  return event === 'reminder' ? `${incident}-reminder-${sequence}` : `${incident}-${event}`
}

/**
 * `incident` is the id stored when the incident opened; without one (a state
 * file from before it was stored) it is derived as at the firing, which is
 * right unless `--location` changed since.
 */
export function buildNotification(event: AlertEvent, subject: NotificationSubject, incident?: string | null): Notification {
  incident ??= incidentId(subject.probe, subject.location, event.since)
  return {
    id: notificationId(incident, event.event, event.sequence),
    event: event.event,
    probe: subject.probe,
    location: subject.location,
    incidentId: incident,
    since: event.since,
    at: event.at,
    consecutiveFailures: event.consecutiveFailures,
    summary: summaryLine(event, subject),
    error: event.failure ? notificationError(event.failure) : null,
    labels: { ...subject.labels },
    ...(subject.description === undefined ? {} : { description: subject.description }),
    ...(subject.runbook === undefined ? {} : { runbook: subject.runbook }),
  }
}

/** The failure's reason and evidence; the evidence fields are absent when the step got no response. */
export function notificationError(failure: Failure): NotificationError {
  return {
    step: failure.step,
    message: failure.message,
    ...(failure.status === undefined ? {} : { status: failure.status }),
    ...(failure.contentType === undefined ? {} : { contentType: failure.contentType }),
    ...(failure.bodyExcerpt === undefined ? {} : { excerpt: failure.bodyExcerpt }),
  }
}

/**
 * `FIRING items-crud: read: expected status 200, got 500 (5 consecutive failures since 2026-…Z)`.
 * The failure message already names the step.
 */
export function summaryLine(event: AlertEvent, subject: Pick<NotificationSubject, 'probe' | 'location'>): string {
  const who = subject.location ? `${subject.probe} from ${subject.location}` : subject.probe
  const reason = event.failure?.message ?? 'failed'
  switch (event.event) {
    case 'firing':
      return `FIRING ${who}: ${reason} (${plural(event.consecutiveFailures, 'consecutive failure')} since ${event.since})`
    case 'reminder':
      return `REMINDER ${who}: still failing: ${reason} (${plural(event.failedRuns, 'failed run')} since ${event.since})`
    case 'resolved':
      return `RESOLVED ${who}: passing again (${plural(event.failedRuns, 'failed run')} from ${event.since} to ${event.at})`
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}
