import * as z from 'zod'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { ChannelDefinition } from '../channel.ts'
import type { Notification } from '../notification.ts'
import { channelCommonFields, httpUrl } from './common.ts'
import { postJson } from './http.ts'

function schema(context: TemplateContext) {
  const Text = envString(context)
  return z.strictObject({
    type: z.literal('webhook').meta({
      description: 'A JSON POST to any URL: `{ event, probe, consecutiveFailures, since, summary, error, labels, description, runbook, … }`.',
    }),
    ...channelCommonFields,
    url: Text.pipe(httpUrl()).meta({
      description: 'The http(s) URL; may come from `{{ env.NAME }}` (a secret).',
    }),
    headers: z.record(z.string(), Text).default({}).meta({ description: 'Extra request headers, e.g. an authorization token.' }),
  })
}

export type WebhookConfig = z.output<ReturnType<typeof schema>>

/** The body of every webhook request (SPEC "Webhook payload"). */
export interface WebhookPayload {
  readonly id: string
  readonly event: Notification['event']
  readonly probe: string
  readonly location: string | null
  readonly incidentId: string
  readonly consecutiveFailures: number
  readonly since: string
  readonly at: string
  readonly summary: string
  readonly error: Notification['error']
  readonly labels: Notification['labels']
  /** The probe's `description` and `runbook` URL, null when it declares none: one shape for every receiver. */
  readonly description: string | null
  readonly runbook: string | null
}

export function webhookPayload(n: Notification): WebhookPayload {
  return {
    id: n.id,
    event: n.event,
    probe: n.probe,
    location: n.location,
    incidentId: n.incidentId,
    consecutiveFailures: n.consecutiveFailures,
    since: n.since,
    at: n.at,
    summary: n.summary,
    error: n.error,
    labels: n.labels,
    description: n.description ?? null,
    runbook: n.runbook ?? null,
  }
}

/**
 * A JSON POST per notification. Every event, test included, has the same
 * shape: the receiver tells them apart by `event`. Delivery is at least once,
 * so each request carries `Idempotency-Key: <id>` for the receiver to dedupe.
 */
export const webhook: ChannelDefinition<ReturnType<typeof schema>> = {
  schema,
  destination: (config) => ({ url: config.url }),
  create(config, deps) {
    const fetchFn = deps.fetch ?? fetch
    return {
      events: new Set(['firing', 'resolved', 'reminder', 'test']),
      send(notification, signal) {
        const payload = webhookPayload(notification)
        return postJson(config.url, payload, {
          fetch: fetchFn,
          secrets: deps.secrets,
          timeoutMs: config.timeout,
          signal,
          // The key is set last: a configured header must not break deduplication.
          headers: { ...config.headers, 'idempotency-key': notification.id },
        })
      },
    }
  },
}
