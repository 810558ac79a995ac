import * as z from 'zod'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { Channel, ChannelDefinition } from '../channel.ts'
import type { Notification } from '../notification.ts'
import { channelCommonFields, maskNotification } from './common.ts'
import { postJson } from './http.ts'

function schema(context: TemplateContext) {
  const Text = envString(context)
  return z.strictObject({
    type: z.literal('webhook'),
    ...channelCommonFields,
    url: Text.pipe(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })),
    /** Extra request headers, e.g. an authorization token. */
    headers: z.record(z.string(), Text).default({}),
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
  }
}

/**
 * A JSON POST per notification. Every event, test included, has the same
 * shape: the receiver tells them apart by `event`. Delivery is at least once,
 * so each request carries `Idempotency-Key: <id>` for the receiver to dedupe.
 */
export const webhook: ChannelDefinition<ReturnType<typeof schema>> = {
  type: 'webhook',
  schema,
  create(config, deps): Channel {
    const fetchFn = deps.fetch ?? fetch
    return {
      name: deps.name,
      type: 'webhook',
      events: new Set(['firing', 'resolved', 'reminder', 'test']),
      send(notification, signal) {
        const payload = webhookPayload(maskNotification(notification, deps.secrets))
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
