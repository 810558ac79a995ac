import { createHash } from 'node:crypto'
import type { Channel, ChannelDeps } from '../channel.ts'
import { type AlertmanagerConfig, alertmanager } from './alertmanager.ts'
import { type EmailConfig, email } from './email.ts'
import { type PagerDutyConfig, pagerduty } from './pagerduty.ts'
import { type WebhookConfig, webhook } from './webhook.ts'

/** Every channel type: a new one is one file and one line here. */
export const CHANNELS = { email, webhook, pagerduty, alertmanager } as const

export type ChannelType = keyof typeof CHANNELS

/** One channel's entry of alerting.yaml, as loaded. */
export type AnyChannelConfig = EmailConfig | WebhookConfig | PagerDutyConfig | AlertmanagerConfig

/**
 * `CHANNELS[config.type].create(config, deps)`, typed: TypeScript cannot
 * narrow the table lookup and the config together, so each type is spelled out.
 */
export function createChannel(config: AnyChannelConfig, deps: ChannelDeps): Channel {
  switch (config.type) {
    case 'email':
      return CHANNELS.email.create(config, deps)
    case 'webhook':
      return CHANNELS.webhook.create(config, deps)
    case 'pagerduty':
      return CHANNELS.pagerduty.create(config, deps)
    case 'alertmanager':
      return CHANNELS.alertmanager.create(config, deps)
  }
}

/**
 * Where a channel's notifications land: the part of its configuration that
 * makes it another channel when it changes (another PagerDuty service,
 * another URL, other recipients, other Alertmanager labels). Credentials and
 * timings are left out, so rotating a password or token is not a new channel
 * and pages nobody again.
 */
export function channelDestination(config: AnyChannelConfig): unknown {
  switch (config.type) {
    case 'email':
      return { type: config.type, host: config.smtp.host, port: config.smtp.port ?? null, to: [...config.to].sort() }
    case 'webhook':
      return { type: config.type, url: config.url }
    case 'pagerduty':
      return { type: config.type, url: config.url, routingKey: config.routingKey }
    case 'alertmanager':
      return { type: config.type, url: [...config.url].sort(), labels: sortedEntries(config.labels) }
  }
}

/**
 * A channel is its name and this hash of its destination: an open incident
 * remembers which destination it paged, so a reload that points the name
 * elsewhere never sends the resolve to a service that never saw the firing.
 * sha256, first 16 hex digits: stored in the state file in place of the
 * routing key or URL, which it does not reveal.
 */
export function channelHash(config: AnyChannelConfig): string {
  return createHash('sha256')
    .update(JSON.stringify(channelDestination(config)))
    .digest('hex')
    .slice(0, 16)
}

function sortedEntries(record: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}
