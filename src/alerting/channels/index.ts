import { createHash } from 'node:crypto'
import type * as z from 'zod'
import type { TemplateContext } from '../../config/template.ts'
import type { Channel, ChannelDefinition, ChannelDeps } from '../channel.ts'
import type { Notification } from '../notification.ts'
import { alertmanager } from './alertmanager.ts'
import { maskNotification } from './common.ts'
import { email } from './email.ts'
import { pagerduty } from './pagerduty.ts'
import { slack } from './slack.ts'
import { webhook } from './webhook.ts'

const TABLE = { email, webhook, pagerduty, alertmanager, slack }

type Table = typeof TABLE
type SchemaOf<T extends keyof Table> = ReturnType<Table[T]['schema']>

/**
 * Every channel type: a new one is one file and one line in `TABLE`. The
 * alerting schema's union, the config types and `createChannel` all follow
 * from it. Typed as a mapped type so that `CHANNELS[config.type]` and the
 * config stay correlated (TypeScript 4.6 "correlated unions") without a switch.
 */
export const CHANNELS: { readonly [T in keyof Table]: ChannelDefinition<SchemaOf<T>> } = TABLE

export type ChannelType = keyof Table

/** The entry of one channel type in alerting.yaml, as loaded. */
export type ChannelConfigOf<T extends ChannelType> = z.output<SchemaOf<T>>

/** One channel's entry of alerting.yaml, as loaded. */
export type AnyChannelConfig = { [T in ChannelType]: ChannelConfigOf<T> }[ChannelType]

/** The schema of every channel type, for `z.discriminatedUnion('type', …)`, in table order. */
export function channelSchemas(context: TemplateContext): [SchemaOf<ChannelType>, ...SchemaOf<ChannelType>[]] {
  const [first, ...rest] = (Object.keys(CHANNELS) as ChannelType[]).map((type) => CHANNELS[type].schema(context))
  if (!first) throw new Error('bug: no channel types')
  return [first, ...rest]
}

function definitionOf<T extends ChannelType>(type: T): ChannelDefinition<SchemaOf<T>> {
  return CHANNELS[type]
}

/**
 * The channel of one config entry, with its name, type and timeout, and every
 * notification masked (free text can quote a secret) before the channel sees
 * it: done here once, not in each channel.
 */
export function createChannel<T extends ChannelType>(config: ChannelConfigOf<T>, deps: ChannelDeps): Channel {
  const type = config.type as T
  const core = definitionOf(type).create(config, deps)
  const mask = (notification: Notification) => maskNotification(notification, deps.secrets)
  return {
    name: deps.name,
    type,
    timeoutMs: config.timeout,
    events: core.events,
    ...(core.levelTriggered === undefined ? {} : { levelTriggered: core.levelTriggered }),
    send: (notification, signal) => core.send(mask(notification), signal),
    ...(core.resume ? { resume: (firing: readonly Notification[]) => core.resume?.(firing.map(mask)) } : {}),
    ...(core.close ? { close: () => core.close?.() ?? Promise.resolve() } : {}),
  }
}

/**
 * A channel is its name and this hash of its destination (each channel's
 * `destination`): an open incident remembers which destination it paged, so
 * a reload that points the name elsewhere never sends the resolve to a
 * service that never saw the firing. sha256, first 16 hex digits: stored in
 * the state file in place of the routing key or URL, which it does not reveal.
 */
export function channelHash<T extends ChannelType>(config: ChannelConfigOf<T>): string {
  const type = config.type as T
  return createHash('sha256')
    .update(JSON.stringify({ type, ...definitionOf(type).destination(config) }))
    .digest('hex')
    .slice(0, 16)
}
