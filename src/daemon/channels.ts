import type { Channel } from '../alerting/channel.ts'
import { channelHash, createChannel } from '../alerting/channels/index.ts'
import type { AlertingConfig } from '../loader/alerting-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import type { Logger } from '../log.ts'

export interface ChannelSet {
  readonly channels: ReadonlyMap<string, Channel>
  /** Per-attempt timeout of each channel (its `timeout` in alerting.yaml). */
  readonly timeouts: ReadonlyMap<string, number>
  /** Each channel's destination hash: with its name, the channel's identity for open incidents. */
  readonly identities: ReadonlyMap<string, string>
}

/** Every channel of alerting.yaml, built and ready; none when there is no alerting file. */
export function buildChannels(alerting: AlertingConfig | null, deps: { logger: Logger; secrets: SecretMask }): ChannelSet {
  const channels = new Map<string, Channel>()
  const timeouts = new Map<string, number>()
  const identities = new Map<string, string>()
  for (const [name, config] of Object.entries(alerting?.channels ?? {})) {
    channels.set(name, createChannel(config, { name, logger: deps.logger.child({ channel: name }), secrets: deps.secrets }))
    timeouts.set(name, config.timeout)
    identities.set(name, channelHash(config))
  }
  return { channels, timeouts, identities }
}

export async function closeChannels(set: ChannelSet): Promise<void> {
  await Promise.allSettled([...set.channels.values()].map((channel) => channel.close?.()))
}
