import path from 'node:path'
import { createJournal } from '../cleanup/journal.ts'
import { type CleanupQueue, createCleanupQueue } from '../cleanup/queue.ts'
import type { Probe } from '../config/probe-schema.ts'
import type { LoadedConfig } from '../loader/load.ts'
import { StateUnreadableError } from '../state/fs.ts'
import { lockStateDir } from '../state/lock.ts'
import type { SecretMask } from '../config/secrets.ts'
import type { Logger } from '../log.ts'
import { runProbe } from '../probe/run.ts'
import { type CliIo, EXIT, loadForCommand, writeLine } from './io.ts'
import type { CommonOptions } from './options.ts'
import { formatReport, jsonReport } from './report.ts'
import { styleFor } from './style.ts'

/** Probes run at the same time: enough to finish a large folder quickly, few enough not to hammer one API. */
export const CONCURRENCY = 8

export interface RunOnceFlags {
  readonly only: readonly string[]
  readonly json: boolean
  /** Given with --state-dir: the cleanup journal's leftovers run first, and the runs journal their cleanups there. */
  readonly stateDir?: string | null
}

/**
 * `probe run --once`: every probe (or those `--only` names) once, the same
 * `runProbe` the daemon calls, then the report or the JSON document. Sends
 * no notifications, so it neither needs nor reads the alerting file.
 * Exit 0 all passed, 1 any failed or was aborted (`signal`), 2 bad config.
 */
export async function runOnceCommand(options: CommonOptions, flags: RunOnceFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const config = await loadForCommand(options, io, { alertingPath: null, ignoreChannels: true })
  if (!config) return EXIT.usage
  const probes = selectProbes(config.probes, flags.only)
  if (typeof probes === 'string') {
    writeLine(io.stderr, probes)
    return EXIT.usage
  }
  const logger = await debugLogger(options, io, config.secrets)
  const journal = flags.stateDir ? await openJournal(flags.stateDir, options, config, io, signal) : null
  if (journal === 'refused') return EXIT.usage
  const started = performance.now()
  let results: Awaited<ReturnType<typeof runProbe>>[]
  try {
    results = await mapLimit(probes, CONCURRENCY, (probe) =>
      runProbe(probe, {
        secrets: config.secrets,
        signal,
        ...(logger ? { logger } : {}),
        ...(journal ? { cleanups: journal.queue.hooks } : {}),
      }),
    )
  } finally {
    await journal?.close()
  }
  // runProbe masks what it records; masking again costs little and keeps this output safe whatever it returns.
  const masked = results.map((result) => config.secrets.maskDeep(result))
  if (flags.json) {
    writeLine(io.stdout, JSON.stringify(jsonReport(masked, new Date()), null, 2))
  } else {
    const entries = masked.map((result, index) => ({ result, file: probes[index]?.file }))
    io.stdout.write(formatReport(entries, styleFor(io.stdout, io.env), performance.now() - started))
  }
  return masked.every((result) => result.outcome === 'success') ? EXIT.ok : EXIT.failed
}

/**
 * Takes the state directory (a daemon on it would retry the same entries),
 * runs the journal's leftovers once and says how that went on stderr; the
 * entries that still fail stay for the next call or the daemon.
 */
async function openJournal(
  stateDir: string,
  options: CommonOptions,
  config: LoadedConfig,
  io: CliIo,
  signal: AbortSignal,
): Promise<{ queue: CleanupQueue; close(): Promise<void> } | 'refused'> {
  const dir = path.resolve(io.cwd, stateDir)
  const lock = await lockStateDir(dir)
  if (lock.kind === 'held') {
    writeLine(io.stderr, `--state-dir: ${lock.message}`)
    return 'refused'
  }
  const level = options.logLevel === 'info' ? 'warn' : options.logLevel
  const { createLogger } = await import('../log.ts')
  const logger = createLogger({ level, secrets: config.secrets, destination: { write: (line: string) => io.stderr.write(line) } })
  const queue = createCleanupQueue({
    journal: createJournal({ stateDir: dir, logger }),
    secrets: config.secrets,
    env: io.env,
    secretsDir: options.secretsDir === null ? null : path.resolve(io.cwd, options.secretsDir),
    secretEnv: () => [...config.secretNames.keys()],
    logger,
  })
  const release = async () => {
    await queue.stop()
    if (lock.kind === 'locked') await lock.release()
  }
  try {
    for (const warning of await queue.load()) writeLine(io.stderr, `cleanup journal: ${warning}`)
  } catch (error) {
    await release()
    if (!(error instanceof StateUnreadableError)) throw error
    writeLine(io.stderr, `--state-dir: ${error.message}`)
    return 'refused'
  }
  if (queue.size() > 0) {
    const { done, failed } = await queue.drain(signal)
    writeLine(io.stderr, `cleanup journal: ${done} leftover cleanup${done === 1 ? '' : 's'} done, ${failed} still failing (kept in ${dir})`)
  }
  return { queue, close: release }
}

/** The probes `--only` names, in file order; a message naming the unknown ones otherwise. */
export function selectProbes(probes: readonly Probe[], only: readonly string[]): readonly Probe[] | string {
  if (only.length === 0) return probes
  const known = new Set(probes.map((p) => p.name))
  const unknown = only.filter((name) => !known.has(name))
  if (unknown.length > 0) {
    const names = unknown.map((name) => `"${name}"`).join(', ')
    return `--only: no probe named ${names} (probes: ${[...known].join(', ')})`
  }
  return probes.filter((probe) => only.includes(probe.name))
}

/**
 * Step logs would drown the report; they go to stderr only when asked for with --log-level debug or
 * trace. The logger (pino) is loaded only then: a plain run never needs it.
 */
async function debugLogger(options: CommonOptions, io: CliIo, secrets: SecretMask): Promise<Logger | undefined> {
  if (options.logLevel !== 'debug' && options.logLevel !== 'trace') return undefined
  const { createLogger } = await import('../log.ts')
  return createLogger({ level: options.logLevel, secrets, destination: { write: (line: string) => io.stderr.write(line) } })
}

/** Runs `fn` over `items`, at most `limit` at a time, results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
