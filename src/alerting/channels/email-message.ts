import type { Notification } from '../notification.ts'
import { EVENT_LABEL, failureText, formatLabels, truncate } from './common.ts'

const MAX_SUBJECT_CHARS = 200

export interface EmailMessage {
  readonly subject: string
  readonly text: string
  readonly messageId: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * `[smokeprobe] FIRING items-crud (eu-1): read: expected status 200, got 500`.
 * The event word and the probe name come first so they survive a client's
 * truncation; the message follows.
 */
export function emailSubject(n: Notification, prefix: string): string {
  const where = n.location ? ` (${n.location})` : ''
  const detail =
    n.event === 'test' ? ': test notification, no action needed' : n.event !== 'resolved' && n.error ? `: ${failureText(n.error)}` : ''
  const subject = `${prefix ? `${prefix} ` : ''}${EVENT_LABEL[n.event]} ${n.probe}${where}${detail}`
  return truncate(subject.replace(/\s+/g, ' ').trim(), MAX_SUBJECT_CHARS)
}

export function emailBody(n: Notification): string {
  const rows: [string, string][] = [
    ['Probe', n.probe],
    ['Location', n.location ?? '-'],
    ['Failing since', n.since],
  ]
  if (n.event === 'resolved') rows.push(['Resolved at', n.at])
  rows.push(['Consecutive failures', String(n.consecutiveFailures)])
  if (n.error) rows.push(['Failing step', n.error.step], ['Reason', n.error.message])
  if (n.error?.status !== undefined) rows.push(['Response status', String(n.error.status)])
  if (n.error?.contentType !== undefined) rows.push(['Content-Type', n.error.contentType])
  rows.push(['Labels', formatLabels(n.labels)])
  const width = Math.max(...rows.map(([name]) => name.length)) + 2
  const table = rows.map(([name, value]) => `${`${name}:`.padEnd(width)}${value}`).join('\n')
  // The response body, indented so a mail client shows it apart from the table; not on a resolve.
  const excerpt =
    n.event !== 'resolved' && n.error?.excerpt !== undefined ? [`Response body (first 512 bytes):\n${indent(n.error.excerpt)}`] : []
  return [
    `${EVENT_LABEL[n.event]}: ${headline(n)}`,
    ...about(n),
    table,
    ...excerpt,
    n.summary,
    `Notification ${n.id}, incident ${n.incidentId}, sent by smokeprobe at ${n.at}.`,
  ].join('\n\n')
}

/** What the probe checks and where to read what to do, right under the headline, where the person paged looks first. */
function about(n: Notification): string[] {
  const parts: string[] = []
  if (n.runbook !== undefined) parts.push(`Runbook: ${n.runbook}`)
  if (n.description !== undefined) parts.push(`What it checks:\n${indent(n.description)}`)
  return parts
}

function indent(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => `    ${line}`)
    .join('\n')
}

function headline(n: Notification): string {
  switch (n.event) {
    case 'firing':
      return `probe ${n.probe} is failing (${n.consecutiveFailures} consecutive failed runs).`
    case 'reminder':
      return `probe ${n.probe} is still failing.`
    case 'resolved':
      return `probe ${n.probe} has recovered.`
    case 'test':
      return 'this is a test notification sent by `probe alert test`. No action needed.'
  }
}

/**
 * A Message-ID derived from the notification id, so a retried send is
 * recognisably the same mail, and a References header naming the incident,
 * so mail clients thread its firing, reminders and resolve together.
 */
export function emailMessage(n: Notification, prefix: string): EmailMessage {
  return {
    subject: emailSubject(n, prefix),
    text: emailBody(n),
    messageId: `<${idPart(n.id)}@smokeprobe>`,
    headers: {
      References: `<incident-${idPart(n.incidentId)}@smokeprobe>`,
      'X-Smokeprobe-Event': n.event,
      'X-Smokeprobe-Probe': n.probe,
    },
  }
}

function idPart(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '-')
}
