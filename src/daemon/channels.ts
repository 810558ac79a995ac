import { createHash } from 'node:crypto'
import type { Channel } from '../alerting/channel.ts'
import { type AnyChannelConfig, channelHash, createChannel } from '../alerting/channels/index.ts'
import type { AlertingConfig } from '../loader/alerting-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import type { Logger } from '../log.ts'

export interface ChannelSet {
  readonly channels: ReadonlyMap<string, Channel>
  /** Each channel's destination hash: with its name, the channel's identity for open incidents. */
  readonly identities: ReadonlyMap<string, string>
  /** A hash of each channel's whole entry: one unchanged across a reload keeps its built channel. */
  readonly configHashes: ReadonlyMap<string, string>
}

/**
 * Every channel of alerting.yaml, built and ready; none when there is no
 * alerting file. A channel of `previous` whose entry is unchanged (same name,
 * same hash of every field) is kept, not rebuilt: a rebuilt Alertmanager
 * channel would be resumed and re-post every firing alert at each reload.
 */
export function buildChannels(
  alerting: AlertingConfig | null,
  deps: { logger: Logger; secrets: SecretMask },
  previous?: ChannelSet,
): ChannelSet {
  const channels = new Map<string, Channel>()
  const identities = new Map<string, string>()
  const configHashes = new Map<string, string>()
  for (const [name, config] of Object.entries(alerting?.channels ?? {})) {
    const hash = configHash(config)
    const kept = previous?.configHashes.get(name) === hash ? previous.channels.get(name) : undefined
    channels.set(name, kept ?? createChannel(config, { name, logger: deps.logger.child({ channel: name }), secrets: deps.secrets }))
    identities.set(name, channelHash(config))
    configHashes.set(name, hash)
  }
  return { channels, identities, configHashes }
}

/** Closes the channels of `set`, except those `kept` still uses (carried over by a reload). */
export async function closeChannels(set: ChannelSet, kept?: ChannelSet): Promise<void> {
  const inUse = new Set(kept?.channels.values())
  await Promise.allSettled([...set.channels.values()].filter((channel) => !inUse.has(channel)).map((channel) => channel.close?.()))
}

/** Every field, credentials included: held in memory only, never stored. */
function configHash(config: AnyChannelConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex')
}
