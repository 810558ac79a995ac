import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import * as z from 'zod'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { ChannelDefinition, SendResult } from '../channel.ts'
import type { Notification } from '../notification.ts'
import { channelCommonFields, EVENT_LABEL, httpUrl, truncate } from './common.ts'
import { type PostOptions, postJson } from './http.ts'

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue'

/** Events API v2 limits, and what Alertmanager's notify/pagerduty does at them. */
const MAX_SUMMARY_CHARS = 1024
const MAX_EVENT_BYTES = 512_000
const MAX_DEDUP_KEY_CHARS = 255

function schema(context: TemplateContext) {
  const Text = envString(context)
  return z.strictObject({
    type: z.literal('pagerduty').meta({
      description: 'PagerDuty Events API v2: `trigger`, then `resolve` with the same `dedup_key` (stable across restarts).',
    }),
    ...channelCommonFields,
    routingKey: Text.pipe(z.string().min(1, 'routingKey is empty')).meta({
      description: 'The integration’s routing key; use `{{ env.NAME }}`.',
    }),
    url: Text.pipe(httpUrl())
      .default(PAGERDUTY_EVENTS_URL)
      .meta({ description: 'Override of the Events API endpoint. Default: https://events.pagerduty.com/v2/enqueue.' }),
    severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical').meta({ description: 'The event severity.' }),
  })
}

export type PagerDutyConfig = z.output<ReturnType<typeof schema>>

export interface PagerDutyEvent {
  readonly routing_key: string
  readonly event_action: 'trigger' | 'resolve'
  readonly dedup_key: string
  readonly client: 'smokeprobe'
  /** The probe's runbook, when it declares one: PagerDuty shows it as a link on the incident. */
  readonly links?: readonly { readonly href: string; readonly text: string }[]
  readonly payload?: {
    readonly summary: string
    readonly source: string
    readonly severity: PagerDutyConfig['severity']
    readonly timestamp: string
    readonly component: string
    readonly custom_details: Readonly<Record<string, unknown>>
  }
}

/**
 * The incident id is already deterministic (probe, location, incident start),
 * so a restarted or replicated daemon triggers and resolves the same alert.
 * Only an over-long one is hashed, to fit PagerDuty's 255 characters.
 */
export function dedupKey(incidentId: string): string {
  return incidentId.length <= MAX_DEDUP_KEY_CHARS ? incidentId : createHash('sha256').update(incidentId).digest('hex')
}

export function pagerDutyEvent(config: PagerDutyConfig, n: Notification, action: 'trigger' | 'resolve'): PagerDutyEvent {
  const base = { routing_key: config.routingKey, event_action: action, dedup_key: dedupKey(n.incidentId), client: 'smokeprobe' } as const
  if (action === 'resolve') return base
  const event = {
    ...base,
    payload: {
      summary: truncate(n.summary || `${EVENT_LABEL[n.event]} ${n.probe}`, MAX_SUMMARY_CHARS),
      source: n.location ?? hostname(),
      severity: config.severity,
      timestamp: n.at,
      component: n.probe,
      custom_details: {
        probe: n.probe,
        location: n.location,
        step: n.error?.step ?? null,
        reason: n.error?.message ?? null,
        // `message` is the name before `reason`; kept for receivers' rules that read it.
        message: n.error?.message ?? null,
        // The evidence, when the failed step got a response.
        ...(n.error?.status === undefined ? {} : { status: n.error.status }),
        ...(n.error?.contentType === undefined ? {} : { contentType: n.error.contentType }),
        ...(n.error?.excerpt === undefined ? {} : { excerpt: n.error.excerpt }),
        consecutiveFailures: n.consecutiveFailures,
        since: n.since,
        labels: n.labels,
        ...(n.description === undefined ? {} : { description: n.description }),
        ...(n.runbook === undefined ? {} : { runbook: n.runbook }),
      },
    },
    ...(n.runbook === undefined ? {} : { links: [{ href: n.runbook, text: `Runbook for ${n.probe}` }] }),
  }
  // As Alertmanager does: an event over 512 KB loses its details rather than being refused.
  if (Buffer.byteLength(JSON.stringify(event)) <= MAX_EVENT_BYTES) return event
  const error = `Custom details have been removed because the original event exceeds the maximum size of ${MAX_EVENT_BYTES / 1000}kB`
  return { ...event, payload: { ...event.payload, custom_details: { error } } }
}

/**
 * Events API v2. A firing (or, if ever sent, a reminder: PagerDuty dedupes it
 * into the open alert) is a `trigger`, a resolved a `resolve`, both with the
 * incident's dedup_key. A test is a trigger with its own key followed at once
 * by a resolve, so it proves the route to the on-call but leaves no incident
 * open; only the trigger decides the outcome.
 */
export const pagerduty: ChannelDefinition<ReturnType<typeof schema>> = {
  schema,
  destination: (config) => ({ url: config.url, routingKey: config.routingKey }),
  create(config, deps) {
    const options = (signal: AbortSignal): PostOptions => ({
      fetch: deps.fetch ?? fetch,
      secrets: deps.secrets,
      timeoutMs: config.timeout,
      signal,
    })
    const post = (n: Notification, action: 'trigger' | 'resolve', signal: AbortSignal): Promise<SendResult> =>
      postJson(config.url, pagerDutyEvent(config, n, action), options(signal))
    return {
      events: new Set(['firing', 'resolved', 'test']),
      async send(n, signal) {
        switch (n.event) {
          case 'firing':
          case 'reminder':
            return post(n, 'trigger', signal)
          case 'resolved':
            return post(n, 'resolve', signal)
          case 'test': {
            const triggered = await post(n, 'trigger', signal)
            if (!triggered.ok) return triggered
            const resolved = await post(n, 'resolve', signal)
            if (!resolved.ok) deps.logger.warn({ channel: deps.name, reason: resolved.reason }, 'test incident not resolved')
            return triggered
          }
        }
      },
    }
  },
}
