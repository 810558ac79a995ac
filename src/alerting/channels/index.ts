import { alertmanager } from './alertmanager.ts'
import { email } from './email.ts'
import { pagerduty } from './pagerduty.ts'
import { webhook } from './webhook.ts'

/** Every channel type: a new one is one file and one line here. */
export const CHANNELS = { email, webhook, pagerduty, alertmanager } as const

export type ChannelType = keyof typeof CHANNELS
