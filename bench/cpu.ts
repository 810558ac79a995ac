/**
 * CPU per HTTP request: `probe run --once` over N 3-step CRUD probes, the
 * floor client doing the same runs, both at run --once's concurrency, each
 * a fresh process measured by its own getrusage at exit (exit-report.js).
 * Fixed costs are subtracted: Node and module startup (the same command with
 * one probe) and, for smokeprobe, loading the N probe files (`probe
 * validate` of the same folder).
 */
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CONCURRENCY } from '../src/cli/run-once.ts'
import { type ExitReport, ROOT, runMeasured } from './proc.ts'
import { probeEnv, removeDir, writeProbeDir } from './probes.ts'
import { median } from './stats.ts'

const PROBE_CLI = path.join(ROOT, 'bin', 'probe.js')
const FLOOR = path.join(ROOT, 'bench', 'floor-client.ts')
const ENGINE = path.join(ROOT, 'bench', 'engine-client.ts')
/** Warm-up runs before an in-process loop is measured. */
const LOOP_WARMUP = 100
export const STEPS_PER_RUN = 3

export interface CpuRow {
  readonly probes: number
  readonly requests: number
  /** Median CPU seconds of each command, over the repeats. */
  readonly runOnce: number
  readonly validate: number
  readonly floor: number
  readonly floorPerRun: number
  readonly runOnceRssMiB: number
  /** Median CPU ms per request of the measured loops alone (in-process, warmed up, no start-up or loading). */
  readonly engineLoop: number
  readonly floorLoop: number
  /** engineLoop ÷ floorLoop of each repeat, to show the spread behind the median. */
  readonly loopRatios: readonly number[]
}

export interface CpuResult {
  readonly concurrency: number
  readonly repeats: number
  /** The 1-probe row: startup costs. */
  readonly startup: CpuRow
  readonly rows: readonly CpuRow[]
}

/** Probe counts whose runs make about `requests` HTTP requests. */
export function probesFor(requests: number): number {
  return Math.ceil(requests / STEPS_PER_RUN)
}

export async function measureCpu(targetUrl: string, requestCounts: readonly number[], repeats: number): Promise<CpuResult> {
  const env = probeEnv(targetUrl)
  const measure = async (probes: number): Promise<CpuRow> => {
    const dir = await writeProbeDir(probes, '1m')
    try {
      const samples: {
        runOnce: ExitReport
        validate: ExitReport
        floor: ExitReport
        floorPerRun: ExitReport
        engineLoop: number
        floorLoop: number
      }[] = []
      for (let i = 0; i < repeats; i++) {
        const timeoutMs = 60_000 + probes * 60
        samples.push({
          runOnce: await cli(['run', '--once', '--json', '--probes', dir], env, timeoutMs, `run --once (${probes} probes)`, [0]),
          validate: await cli(['validate', '--probes', dir], env, timeoutMs, `validate (${probes} probes)`, [0]),
          floor: await floor(targetUrl, probes, 'request', timeoutMs),
          floorPerRun: await floor(targetUrl, probes, 'run', timeoutMs),
          engineLoop: await loopCpu([ENGINE, '--probes', dir], probes, targetUrl, timeoutMs),
          floorLoop: await loopCpu([FLOOR, '--url', targetUrl], probes, targetUrl, timeoutMs),
        })
      }
      const med = (pick: (s: (typeof samples)[number]) => number) => median(samples.map(pick))
      return {
        probes,
        requests: probes * STEPS_PER_RUN,
        runOnce: med((s) => s.runOnce.cpuSeconds),
        validate: med((s) => s.validate.cpuSeconds),
        floor: med((s) => s.floor.cpuSeconds),
        floorPerRun: med((s) => s.floorPerRun.cpuSeconds),
        runOnceRssMiB: med((s) => s.runOnce.maxRssMiB),
        engineLoop: med((s) => s.engineLoop),
        floorLoop: med((s) => s.floorLoop),
        loopRatios: samples.map((s) => s.engineLoop / s.floorLoop),
      }
    } finally {
      await removeDir(dir)
    }
  }
  const startup = await measure(1)
  const rows: CpuRow[] = []
  for (const requests of requestCounts) rows.push(await measure(probesFor(requests)))
  return { concurrency: CONCURRENCY, repeats, startup, rows }
}

export async function cli(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  what: string,
  okCodes: number[],
): Promise<ExitReport> {
  // The working directory has no ./alerting/alerting.yaml, so validate loads the probes only, as run --once does.
  const result = await runMeasured([PROBE_CLI, ...args], { env, timeoutMs, what, cwd: tmpdir() })
  if (!okCodes.includes(result.code as number))
    throw new Error(`${what}: exit ${result.code}: ${result.stderr.slice(-800) || result.stdout.slice(-800)}`)
  return result.report
}

export async function floor(targetUrl: string, runs: number, conn: 'request' | 'run', timeoutMs: number): Promise<ExitReport> {
  const args = [FLOOR, '--url', targetUrl, '--runs', String(runs), '--concurrency', String(CONCURRENCY), '--conn', conn]
  const result = await runMeasured(args, { timeoutMs, what: `floor client (${runs} runs)` })
  const out = JSON.parse(result.stdout) as { failures: number }
  if (out.failures > 0) throw new Error(`floor client: ${out.failures} failed runs`)
  return result.report
}

/**
 * CPU ms per request of a client's measured loop, read in-process after a
 * warm-up: the request path alone, the least noisy comparison of the two.
 */
async function loopCpu(args: string[], runs: number, targetUrl: string, timeoutMs: number): Promise<number> {
  const common = ['--runs', String(runs), '--concurrency', String(CONCURRENCY), '--warmup', String(LOOP_WARMUP)]
  const result = await runMeasured([...args, ...common], { env: probeEnv(targetUrl), timeoutMs, what: path.basename(args[0] ?? '') })
  const out = JSON.parse(result.stdout) as { requests: number; failures: number; cpuMs: number }
  if (result.code !== 0 || out.failures > 0) throw new Error(`${args[0]}: exit ${result.code}, ${out.failures} failed runs`)
  return out.cpuMs / out.requests
}

/** Per-request figures of a row, in CPU milliseconds, with the fixed costs taken out. */
export function perRequest(row: CpuRow, startup: CpuRow) {
  const extra = row.requests - startup.requests
  return {
    /** Everything, startup included, divided by the requests. */
    gross: (row.runOnce * 1000) / row.requests,
    /** Minus the 1-probe run: probe file loading still included. */
    netOfStartup: ((row.runOnce - startup.runOnce) * 1000) / extra,
    /** Minus `validate` of the same files: startup and loading out, only the runs left. */
    runsOnly: ((row.runOnce - row.validate) * 1000) / row.requests,
    floor: ((row.floor - startup.floor) * 1000) / extra,
    floorPerRun: ((row.floorPerRun - startup.floorPerRun) * 1000) / extra,
  }
}
