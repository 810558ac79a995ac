/**
 * The one place where the fault-timeline test touches the alerter's
 * interface: it turns the model's configuration into real channels and
 * AlertProbes, starts a daemon process on a state dir, feeds it runs and
 * reloads, and kills it. When the alerter's interface changes (channels
 * identified by name and config hash, a stored incident id, …), only this
 * file needs to follow.
 */
import { type Alerter, createAlerter } from '../../src/alerting/alerter.ts'
import type { Channel } from '../../src/alerting/channel.ts'
import { type ChannelConfigOf, channelHash, createChannel } from '../../src/alerting/channels/index.ts'
import { STATE_FILE } from '../../src/alerting/store.ts'
import { SecretMask } from '../../src/config/secrets.ts'
import type { RunResult } from '../../src/probe/result.ts'
import { captureLogger } from './fakes.ts'
import {
  AM_URL,
  type ChannelName,
  DATA_SECRET,
  HOOK_TOKENS,
  hookUrl,
  memFs,
  PD_URL,
  ROUTING_KEYS,
  type Variant,
  type World,
} from './fault-world.ts'

export interface ProbeConfig {
  readonly failureThreshold: number
  readonly successThreshold: number
  readonly sendResolved: boolean
  readonly reminderIntervalMs: number
  readonly channels: readonly ChannelName[]
}

/** What alerting.yaml, the probe files and the command line say right now. */
export interface DaemonConfig {
  readonly probes: Readonly<Record<string, ProbeConfig>>
  /** Probes currently in the probe set. */
  readonly present: readonly string[]
  readonly variants: Readonly<Record<'pd' | 'hook', Variant>>
  readonly location: string | null
}

export interface Daemon {
  readonly dir: string
  record(probe: string, pass: boolean): Promise<void>
  reload(config: DaemonConfig): Promise<void>
  /** SIGKILL: nothing more leaves the process, nothing is flushed. */
  kill(): Promise<void>
  /** Clean end of a test case. */
  close(): Promise<void>
}

export function secretMask(): SecretMask {
  const mask = new SecretMask()
  for (const value of [DATA_SECRET, ...Object.values(ROUTING_KEYS), ...Object.values(HOOK_TOKENS)]) mask.add(value)
  return mask
}

/** The probe's labels: one carries a secret (a label value templated from the environment). */
export function probeLabels(probe: string): Record<string, string> {
  return { team: 'storefront', probe_id: probe, auth: `Bearer ${DATA_SECRET}` }
}

const TIMEOUT_MS = 2_000

type ChannelConfigs = {
  readonly pd: ChannelConfigOf<'pagerduty'>
  readonly hook: ChannelConfigOf<'webhook'>
  readonly am: ChannelConfigOf<'alertmanager'>
}

/** Each channel's entry of alerting.yaml for this configuration: a variant change is a routingKey/url change. */
function channelConfigs(config: DaemonConfig): ChannelConfigs {
  return {
    pd: { type: 'pagerduty', timeout: TIMEOUT_MS, routingKey: ROUTING_KEYS[config.variants.pd], url: PD_URL, severity: 'critical' },
    hook: { type: 'webhook', timeout: TIMEOUT_MS, url: hookUrl(config.variants.hook), headers: {} },
    am: { type: 'alertmanager', timeout: TIMEOUT_MS, url: [AM_URL], resendInterval: 60_000, labels: {} },
  }
}

function buildChannels(config: DaemonConfig, fetchFn: typeof fetch): Map<string, Channel> {
  const { logger } = captureLogger()
  const deps = (name: string) => ({ name, logger, secrets: secretMask(), fetch: fetchFn })
  const configs = channelConfigs(config)
  return new Map<string, Channel>([
    ['pd', createChannel(configs.pd, deps('pd'))],
    ['hook', createChannel(configs.hook, deps('hook'))],
    ['am', createChannel(configs.am, deps('am'))],
  ])
}

/** The channels' identities as the daemon derives them: name and `channelHash` of the config. */
function identities(config: DaemonConfig): Map<string, string> {
  return new Map(Object.entries(channelConfigs(config)).map(([name, channel]) => [name, channelHash(channel)]))
}

function alertProbes(config: DaemonConfig) {
  return config.present.map((name) => {
    const probe = config.probes[name]
    if (!probe) throw new Error(`no config for ${name}`)
    return { name, labels: probeLabels(name), policy: { ...probe, channels: [...probe.channels] } }
  })
}

let runs = 0

/**
 * A daemon process on `dir`: load, then configure, as the daemon does at
 * start. `random` drives the backoff jitter (seeded by the test case).
 */
export async function startDaemon(world: World, dir: string, config: DaemonConfig, random: () => number): Promise<Daemon> {
  const link = world.fetchFor()
  let channels = buildChannels(config, link.fetch)
  let current = config
  const { logger } = captureLogger()
  const alerter: Alerter = createAlerter({
    stateDir: dir,
    channels,
    channelIdentities: identities(config),
    location: config.location,
    logger,
    now: () => new Date(Date.now()),
    random,
    retry: { baseDelayMs: 1_000, maxDelayMs: 60_000 },
    onNotification: (channel, event, result) => world.outcome(channel, event, result),
  })
  await alerter.load()
  await alerter.configure(alertProbes(config))

  async function closeChannels(list: Iterable<Channel>) {
    await Promise.all([...list].map((channel) => channel.close?.()))
  }

  return {
    dir,
    async record(probe, pass) {
      const startedAt = new Date(Date.now()).toISOString()
      const result: RunResult = {
        probe,
        runId: `run-${++runs}`,
        startedAt,
        durationMs: 10,
        outcome: pass ? 'success' : 'failure',
        failure: pass
          ? null
          : { step: 'read', kind: 'status', reason: 'status', message: `read: expected status 200, got 500 (token ${DATA_SECRET})` },
        steps: [],
      }
      await alerter.record(result)
    },
    async reload(next) {
      // The daemon rebuilds a channel only when its entry in alerting.yaml changed.
      const changed = (['pd', 'hook'] as const).filter((name) => next.variants[name] !== current.variants[name])
      if (changed.length > 0) {
        const fresh = buildChannels(next, link.fetch)
        const replaced: Channel[] = []
        const merged = new Map(channels)
        for (const name of changed) {
          const old = channels.get(name)
          if (old) replaced.push(old)
          merged.set(name, fresh.get(name) as Channel)
        }
        channels = merged
        alerter.setChannels(channels, identities(next))
        await closeChannels(replaced)
      }
      current = next
      await alerter.configure(alertProbes(next))
    },
    async kill() {
      link.kill()
      await alerter.close()
      await closeChannels(channels.values())
    },
    async close() {
      await alerter.close()
      await closeChannels(channels.values())
    },
  }
}

/** What a crash leaves: only the state file, copied to the next process's directory. */
export function copyStateFile(from: string, to: string): void {
  const text = memFs.files.get(`${from}/${STATE_FILE}`)
  if (text !== undefined) memFs.files.set(`${to}/${STATE_FILE}`, text)
}
