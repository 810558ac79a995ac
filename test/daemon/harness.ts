/**
 * Drives the daemon in-process through `createRuntime` (short delivery
 * backoff, fast shutdown); writes the probe and alerting files and reads
 * /metrics, /api/probes and the state file. The real `probe` process is in
 * child.ts.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { DestinationStream } from 'pino'
import { stringify } from 'yaml'
import type { RetryPolicy } from '../../src/alerting/delivery.ts'
import { STATE_FILE } from '../../src/alerting/store.ts'
import type { CleanupRetryPolicy } from '../../src/cleanup/queue.ts'
import type { CommonOptions } from '../../src/cli/options.ts'
import { SecretMask } from '../../src/config/secrets.ts'
import { createRuntime, type Runtime } from '../../src/daemon/runtime.ts'
import { createLogger } from '../../src/log.ts'
import type { ProbeStatus } from '../../src/server/status.ts'
import { parseSamples, type Sample, value } from '../metrics/exposition.ts'

/** Teardown steps of one test, run last-registered first. */
export class Cleanups {
  readonly #steps: (() => Promise<unknown> | unknown)[] = []
  defer(step: () => Promise<unknown> | unknown): void {
    this.#steps.push(step)
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) await step()
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns something truthy; bounded by `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await check()
    if (result) return result as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

export interface ProbeSpec {
  readonly name: string
  /** The target's base URL; the probe GETs `<target>/health`. */
  readonly target: string
  readonly interval?: string
  readonly schedule?: string
  readonly timeout?: string
  readonly headers?: Record<string, string>
  readonly labels?: Record<string, string>
  /** The probe's `alert:` block (overrides alerting.yaml defaults). */
  readonly alert?: Record<string, unknown>
  /** The step's `retry:`. */
  readonly retry?: Record<string, unknown>
}

/** One step: GET /health, expect 200 and `$.who: monitor`. */
export function probeFile(spec: ProbeSpec): Record<string, unknown> {
  return {
    name: spec.name,
    ...(spec.schedule ? { schedule: spec.schedule } : { interval: spec.interval ?? '1s' }),
    timeout: spec.timeout ?? '500ms',
    ...(spec.labels ? { labels: spec.labels } : {}),
    steps: [
      {
        name: 'check',
        request: { url: `${spec.target}/health`, ...(spec.headers ? { headers: spec.headers } : {}) },
        expect: { status: 200, json: { '$.who': 'monitor' } },
        ...(spec.retry ? { retry: spec.retry } : {}),
      },
    ],
    ...(spec.alert ? { alert: spec.alert } : {}),
  }
}

export interface Config {
  readonly dir: string
  readonly probesDir: string
  readonly alertingFile: string
  readonly stateDir: string
  readonly stateFile: string
  /** Rewrites (or, with null, deletes) one probe file. */
  writeProbe(name: string, content: Record<string, unknown> | string | null): Promise<void>
  writeAlerting(content: Record<string, unknown> | string): Promise<void>
}

/** A temp dir with `probes/`, `alerting.yaml` and `state/`; removed by `cleanups`. */
export async function writeConfig(
  cleanups: Cleanups,
  files: { probes: readonly Record<string, unknown>[]; alerting: Record<string, unknown> },
): Promise<Config> {
  const dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-daemon-'))
  cleanups.defer(() => rm(dir, { recursive: true, force: true }))
  const probesDir = path.join(dir, 'probes')
  const stateDir = path.join(dir, 'state')
  await mkdir(probesDir)
  const text = (content: Record<string, unknown> | string) => (typeof content === 'string' ? content : stringify(content))
  const config: Config = {
    dir,
    probesDir,
    alertingFile: path.join(dir, 'alerting.yaml'),
    stateDir,
    stateFile: path.join(stateDir, STATE_FILE),
    async writeProbe(name, content) {
      const file = path.join(probesDir, `${name}.yaml`)
      if (content === null) await rm(file)
      else await writeFile(file, text(content))
    },
    writeAlerting: (content) => writeFile(config.alertingFile, text(content)),
  }
  for (const probe of files.probes) await config.writeProbe(String(probe.name), probe)
  await config.writeAlerting(files.alerting)
  return config
}

export function options(config: Config, overrides: Partial<CommonOptions> = {}): CommonOptions {
  return {
    probes: [config.probesDir],
    alerting: config.alertingFile,
    listen: { host: '127.0.0.1', port: 0 },
    stateDir: config.stateDir,
    location: null,
    shard: null,
    logLevel: 'debug',
    secretsDir: null,
    ...overrides,
  }
}

export interface InProcess {
  readonly runtime: Runtime
  readonly url: string
  /** Every log line written so far (JSON text, masked as in production). */
  readonly logs: string[]
  stop(): Promise<void>
}

export interface RuntimeOverrides {
  readonly env?: Record<string, string>
  readonly retry?: Partial<RetryPolicy>
  readonly runGraceMs?: number
  readonly flushMs?: number
  /** How long a canary check's answer is reused (30 s in production). */
  readonly canaryCacheMs?: number
  /** Flags other than the files', e.g. `shard` or a state dir of its own. */
  readonly options?: Partial<CommonOptions>
  /** Backoff of journaled cleanups; default FAST_CLEANUP_RETRY. */
  readonly cleanupRetry?: Partial<CleanupRetryPolicy>
}

/** Journaled cleanups retried within a second, so "the delete is broken for a while" is seconds. */
export const FAST_CLEANUP_RETRY: Partial<CleanupRetryPolicy> = { baseDelayMs: 100, maxDelayMs: 400 }

/** Fast retries, so "down for a while" is seconds, not minutes. */
export const FAST_RETRY: Partial<RetryPolicy> = { baseDelayMs: 100, maxDelayMs: 400 }

/** A started in-process daemon; stopped by `cleanups` unless the test stops it first. */
export async function startRuntime(cleanups: Cleanups, config: Config, overrides: RuntimeOverrides = {}): Promise<InProcess> {
  const created = createInProcess(config, overrides)
  const started = await created.runtime.start()
  if (!started.ok) throw new Error(`runtime did not start:\n${started.errors.join('\n')}`)
  let stopping: Promise<void> | undefined
  const stop = () => (stopping ??= created.runtime.stop())
  cleanups.defer(stop)
  return { runtime: created.runtime, url: started.url, logs: created.logs, stop }
}

/** A runtime not yet started, for tests of `start()` itself. */
export function createInProcess(config: Config, overrides: RuntimeOverrides = {}): { runtime: Runtime; logs: string[] } {
  const logs: string[] = []
  const secrets = new SecretMask()
  const destination = { write: (line: string) => void logs.push(line) } as unknown as DestinationStream
  const runtime = createRuntime({
    options: options(config, overrides.options),
    env: overrides.env ?? {},
    logger: createLogger({ level: 'debug', secrets, destination }),
    secrets,
    retry: overrides.retry ?? FAST_RETRY,
    runGraceMs: overrides.runGraceMs ?? 300,
    flushMs: overrides.flushMs ?? 500,
    canaryCacheMs: overrides.canaryCacheMs,
    cleanupRetry: overrides.cleanupRetry ?? FAST_CLEANUP_RETRY,
  })
  return { runtime, logs }
}

export async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`)
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
  return parseSamples(await response.text())
}

/** One series' value, or undefined when the series does not exist. */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const samples = await scrape(url)
  return samples.some((s) => s.name === name) ? tryValue(samples, name, labels) : undefined
}

function tryValue(samples: readonly Sample[], name: string, labels: Record<string, string>): number | undefined {
  try {
    return value(samples, name, labels)
  } catch {
    return undefined
  }
}

/** The probe's gauges and run counters, as one object. */
export async function probeMetrics(url: string, probe: string) {
  const samples = await scrape(url)
  const get = (name: string, extra: Record<string, string> = {}) => tryValue(samples, name, { probe, ...extra })
  return {
    success: get('probe_success'),
    consecutiveFailures: get('probe_consecutive_failures'),
    firing: get('probe_alert_firing'),
    runsOk: get('probe_runs_total', { result: 'success' }) ?? 0,
    runsFailed: get('probe_runs_total', { result: 'failure' }) ?? 0,
  }
}

export async function apiProbes(url: string): Promise<ProbeStatus[]> {
  const response = await fetch(`${url}/api/probes`)
  return ((await response.json()) as { probes: ProbeStatus[] }).probes
}

export async function apiProbe(url: string, name: string): Promise<ProbeStatus> {
  const found = (await apiProbes(url)).find((p) => p.name === name)
  if (!found) throw new Error(`/api/probes has no ${name}`)
  return found
}

/** The state file as the daemon wrote it, or null while it does not exist. */
export async function readState(
  config: Config,
): Promise<{ probes: Record<string, { state: { kind: string; failures?: number } }>; outbox: unknown[] } | null> {
  const text = await readFile(config.stateFile, 'utf8').catch(() => null)
  return text === null ? null : JSON.parse(text)
}
