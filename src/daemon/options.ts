import type { Shard } from './shard.ts'

/** What the daemon needs to start: the CLI builds it from flags, environment and defaults. */
export interface DaemonOptions {
  /** Probe files or folders, as given. */
  readonly probes: readonly string[]
  /** The alerting file, or null when there is none. */
  readonly alerting: string | null
  /** Where the daemon serves /metrics and the status page. */
  readonly listen: { readonly host: string; readonly port: number }
  /** Where alert state survives restarts. */
  readonly stateDir: string
  /** The vantage point this instance probes from: a label on every metric and alert. */
  readonly location: string | null
  /** This replica's share of the probes, 0 ≤ index < count. */
  readonly shard: Shard | null
  readonly logLevel: string
  /** Where `{{ secret.NAME }}` finds the file NAME when the environment has no NAME; null: nowhere. */
  readonly secretsDir: string | null
}
