import * as z from 'zod'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { ChannelDefinition } from '../channel.ts'
import type { Notification } from '../notification.ts'
import { channelCommonFields, EVENT_LABEL, failureText, formatLabels, httpUrl, truncate } from './common.ts'
import { postJson } from './http.ts'

/** Slack refuses a section text over 3000 characters and a header over 150 (Block Kit limits). */
const MAX_SECTION_CHARS = 3000
const MAX_HEADER_CHARS = 150

function schema(context: TemplateContext) {
  const Text = envString(context)
  return z.strictObject({
    type: z.literal('slack').meta({
      description: 'A Slack incoming webhook: one message per event, with `text` (the notification preview) and Block Kit blocks.',
    }),
    ...channelCommonFields,
    url: Text.pipe(httpUrl()).meta({
      description: 'The incoming-webhook URL (`https://hooks.slack.com/services/…`); it is a credential, so use `{{ env.NAME }}`.',
    }),
  })
}

export type SlackConfig = z.output<ReturnType<typeof schema>>

export interface SlackMessage {
  /** The fallback and notification preview; Slack shows the blocks instead where it can. */
  readonly text: string
  readonly blocks: readonly Readonly<Record<string, unknown>>[]
}

/** What happened, in one line per event; every event is named here so none is sent by accident. */
function headline(n: Notification): string {
  const where = n.location === null ? '' : ` from ${n.location}`
  switch (n.event) {
    case 'firing':
      return `${EVENT_LABEL.firing} ${n.probe}${where}: ${n.consecutiveFailures} consecutive failures since ${n.since}`
    case 'reminder':
      return `${EVENT_LABEL.reminder} ${n.probe}${where}: still failing since ${n.since}`
    case 'resolved':
      return `${EVENT_LABEL.resolved} ${n.probe}${where}: passing again (failing since ${n.since})`
    case 'test':
      return `${EVENT_LABEL.test} ${n.probe}${where}: a test notification from \`probe alert test\`; no action needed`
  }
}

/**
 * The message of one notification (notes alert-protocols §3.2: `text` plus
 * `blocks`). The failing step is shown while the probe fails, not on the
 * resolve or a test. Free text (already masked) is escaped, and the failure
 * quoted as code, so a target's answer cannot mention `@channel` or build a link.
 */
export function slackMessage(n: Notification): SlackMessage {
  const text = headline(n)
  const details = [`*Probe:* ${n.probe}`, `*Location:* ${n.location ?? '-'}`, `*Labels:* ${formatLabels(n.labels)}`]
  if (n.description !== undefined) details.push(`*What it checks:* ${slackEscape(n.description)}`)
  if (n.runbook !== undefined) details.push(`*Runbook:* <${slackLinkTarget(n.runbook)}|open the runbook>`)
  if ((n.event === 'firing' || n.event === 'reminder') && n.error) {
    details.push(`*Failure:* \`${slackEscape(failureText(n.error)).replaceAll('`', "'")}\``)
  }
  const excerpt = n.event === 'firing' || n.event === 'reminder' ? n.error?.excerpt : undefined
  // Its own block, cut inside the fence so the fence survives; backticks become quotes so the body cannot close it.
  const body =
    excerpt === undefined
      ? []
      : [
          {
            type: 'section',
            text: { type: 'mrkdwn', text: `*Response body:*\n\`\`\`${truncate(slackEscape(excerpt).replaceAll('`', "'"), MAX_SECTION_CHARS - 40)}\`\`\`` },
          },
        ]
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(`${EVENT_LABEL[n.event]} ${n.probe}`, MAX_HEADER_CHARS) } },
      { type: 'section', text: { type: 'mrkdwn', text: truncate(slackEscape(n.summary || text), MAX_SECTION_CHARS) } },
      { type: 'section', text: { type: 'mrkdwn', text: truncate(details.join('\n'), MAX_SECTION_CHARS) } },
      ...body,
      { type: 'context', elements: [{ type: 'mrkdwn', text: `smokeprobe · incident ${n.incidentId} · ${n.at}` }] },
    ],
  }
}

/**
 * A URL as the target of a `<url|text>` link: `&` escaped as Slack asks,
 * `<`, `>` and the `|` that would end the target percent-encoded, so the link
 * goes exactly where the probe file says and cannot smuggle its own text.
 */
function slackLinkTarget(url: string): string {
  return url.replaceAll('&', '&amp;').replaceAll('<', '%3C').replaceAll('>', '%3E').replaceAll('|', '%7C')
}

/** Slack's three control characters escaped (its "Escaping text" rule): no `<!channel>` or link from free text. */
function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/**
 * Slack incoming webhook: a POST per notification, `200 ok` on success.
 * Slack's 400/403/404/410 (bad payload, archived or missing channel) are not
 * retried, 429 (honouring `Retry-After`) and 5xx are, as `postJson` classifies
 * them. Slack has no idempotency key, so a retry after a lost answer can post twice.
 */
export const slack: ChannelDefinition<ReturnType<typeof schema>> = {
  schema,
  destination: (config) => ({ url: config.url }),
  create(config, deps) {
    return {
      events: new Set(['firing', 'resolved', 'reminder', 'test']),
      levelTriggered: false,
      send: (notification, signal) =>
        postJson(config.url, slackMessage(notification), {
          fetch: deps.fetch ?? fetch,
          secrets: deps.secrets,
          timeoutMs: config.timeout,
          signal,
        }),
    }
  },
}
