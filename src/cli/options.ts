import { existsSync } from 'node:fs'
import path from 'node:path'
import type { DaemonOptions } from '../daemon/options.ts'
import { podOrdinal, type Shard } from '../daemon/shard.ts'

/** The flags every command understands, after flags, environment and defaults are merged and checked. */
export type CommonOptions = DaemonOptions

/** Each flag's environment variable: for containers, where flags are awkward. */
export const ENV_VARS = {
  probes: 'SMOKEPROBE_PROBES',
  alerting: 'SMOKEPROBE_ALERTING',
  listen: 'SMOKEPROBE_LISTEN',
  stateDir: 'SMOKEPROBE_STATE_DIR',
  location: 'SMOKEPROBE_LOCATION',
  shard: 'SMOKEPROBE_SHARD',
  shards: 'SMOKEPROBE_SHARDS',
  logLevel: 'SMOKEPROBE_LOG_LEVEL',
  secretsDir: 'SMOKEPROBE_SECRETS_DIR',
} as const

export const DEFAULTS = {
  probes: './probes',
  alerting: './alerting/alerting.yaml',
  listen: '0.0.0.0:9464',
  stateDir: './state',
  logLevel: 'info',
  /** Where Docker and Kubernetes mount secrets as files; used when it exists. */
  secretsDir: '/run/secrets',
} as const

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/** The flags as commander hands them over: absent when not given. */
export interface RawFlags {
  readonly probes?: readonly string[]
  readonly alerting?: string
  readonly listen?: string
  readonly stateDir?: string
  readonly location?: string
  readonly shard?: string
  readonly shards?: string
  readonly logLevel?: string
  readonly secretsDir?: string
}

type Env = Readonly<Record<string, string | undefined>>

/** Flag, else its environment variable (an empty one counts as unset), else the default; or every problem found. */
export function resolveOptions(
  flags: RawFlags,
  env: Env,
  cwd: string,
): { ok: true; options: CommonOptions } | { ok: false; errors: string[] } {
  const fromEnv = (key: keyof typeof ENV_VARS) => {
    const value = env[ENV_VARS[key]]?.trim()
    return value === '' ? undefined : value
  }
  const errors: string[] = []
  const source = (key: keyof typeof ENV_VARS) => (flags[key] !== undefined ? `--${kebab(key)}` : ENV_VARS[key])

  const probes = flags.probes ??
    fromEnv('probes')
      ?.split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '') ?? [DEFAULTS.probes]
  const alerting = flags.alerting ?? fromEnv('alerting') ?? (existsSync(path.resolve(cwd, DEFAULTS.alerting)) ? DEFAULTS.alerting : null)

  const listenText = flags.listen ?? fromEnv('listen') ?? DEFAULTS.listen
  const listen = parseListen(listenText)
  if (typeof listen === 'string') errors.push(`${source('listen')}: ${listen}`)

  const shardText = flags.shard ?? fromEnv('shard')
  const shardsText = flags.shards ?? fromEnv('shards')
  const shard = resolveShard(shardText, shardsText, env)
  if (typeof shard === 'string') errors.push(`${shardText === undefined ? source('shards') : source('shard')}: ${shard}`)

  const logLevel = (flags.logLevel ?? fromEnv('logLevel') ?? DEFAULTS.logLevel).toLowerCase()
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    errors.push(`${source('logLevel')}: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`)
  }

  const location = flags.location?.trim() || fromEnv('location') || null
  const stateDir = flags.stateDir ?? fromEnv('stateDir') ?? DEFAULTS.stateDir
  // A directory given explicitly is used (and its problems reported); the default only when it exists.
  const secretsDir = flags.secretsDir ?? fromEnv('secretsDir') ?? (existsSync(DEFAULTS.secretsDir) ? DEFAULTS.secretsDir : null)

  if (errors.length > 0 || typeof listen === 'string' || typeof shard === 'string') return { ok: false, errors }
  return { ok: true, options: { probes: [...probes], alerting, listen, stateDir, location, shard, logLevel, secretsDir } }
}

/** `host:port`, `:port` (all interfaces) or `[v6]:port`. */
export function parseListen(text: string): { host: string; port: number } | string {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim())
  const port = Number(match?.[3])
  if (!match || port > 65_535) return `expected host:port (e.g. 0.0.0.0:9464 or :9464), got ${JSON.stringify(text)}`
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port }
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/**
 * `--shard i/n`, or `--shard auto` with `--shards N`: the index is then the
 * StatefulSet pod's ordinal (see podOrdinal), so one pod template serves
 * every shard. null: no sharding.
 */
export function resolveShard(shard: string | undefined, shards: string | undefined, env: Env): Shard | null | string {
  if (shard?.trim() !== 'auto') {
    if (shards !== undefined) return `--shards goes with --shard auto (with --shard i/n the count is n)`
    return shard === undefined ? null : parseShard(shard)
  }
  if (shards === undefined) return '--shard auto needs --shards N, the StatefulSet\'s replicas'
  if (!/^\d+$/.test(shards.trim()) || Number(shards) < 1) return `--shards must be a whole number of at least 1, got ${JSON.stringify(shards)}`
  const count = Number(shards)
  const index = podOrdinal(env)
  if (typeof index === 'string') return index
  if (index >= count) return `pod ordinal ${index} is outside --shards ${count}: scale the StatefulSet and --shards together`
  return { index, count }
}

/** Parses `i/n` (0 ≤ i < n); a message for the user otherwise. */
export function parseShard(text: string): Shard | string {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim())
  if (!match) return `expected a shard as i/n (e.g. 0/3), got ${JSON.stringify(text)}`
  const index = Number(match[1])
  const count = Number(match[2])
  if (count < 1) return `the number of shards must be at least 1, got ${JSON.stringify(text)}`
  if (index >= count) return `shard index must be 0 to ${count - 1} for ${count} shards, got ${JSON.stringify(text)}`
  return { index, count }
}
