import type { Channel } from '../alerting/channel.ts'
import { createChannel } from '../alerting/channels/index.ts'
import type { AlertingConfig } from '../config/alerting-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import type { Logger } from '../log.ts'

export interface ChannelSet {
  readonly channels: ReadonlyMap<string, Channel>
  /** Per-attempt timeout of each channel (its `timeout` in alerting.yaml). */
  readonly timeouts: ReadonlyMap<string, number>
}

/** Every channel of alerting.yaml, built and ready; none when there is no alerting file. */
export function buildChannels(alerting: AlertingConfig | null, deps: { logger: Logger; secrets: SecretMask }): ChannelSet {
  const channels = new Map<string, Channel>()
  const timeouts = new Map<string, number>()
  for (const [name, config] of Object.entries(alerting?.channels ?? {})) {
    channels.set(name, createChannel(config, { name, logger: deps.logger.child({ channel: name }), secrets: deps.secrets }))
    timeouts.set(name, config.timeout)
  }
  return { channels, timeouts }
}

export async function closeChannels(set: ChannelSet): Promise<void> {
  await Promise.allSettled([...set.channels.values()].map((channel) => channel.close?.()))
}
