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
