/**
 * Timing accuracy: a target that holds every response `delayMs`, probed in a
 * closed loop with a fixed number of runs in flight, by smokeprobe's engine
 * (engine-client.ts) and by the floor client, each in its own process. The
 * error of a request is its reported duration minus the injected delay.
 * Both clients first make WARMUP_RUNS runs that are not measured.
 */
import path from 'node:path'
import { ROOT, runMeasured } from './proc.ts'
import { probeEnv, removeDir, writeProbeDir } from './probes.ts'
import { median, percentile } from './stats.ts'

export interface AccuracyRow {
  readonly inFlight: number
  readonly runs: number
  readonly engine: { readonly p50: number; readonly p99: number; readonly failures: number }
  readonly floor: { readonly p50: number; readonly p99: number; readonly failures: number }
}

/** Runs made before measuring, by both clients; at least one per run in flight. */
export const WARMUP_RUNS = 50

interface ClientOutput {
  readonly requests: number
  readonly failures: number
  readonly durations: number[]
}

export async function measureAccuracy(
  targetUrl: string,
  delayMs: number,
  cases: readonly { inFlight: number; runs: number }[],
  repeats: number,
): Promise<AccuracyRow[]> {
  const dir = await writeProbeDir(1, '1m')
  try {
    const rows: AccuracyRow[] = []
    for (const { inFlight, runs } of cases) {
      const engine: { p50: number; p99: number; failures: number }[] = []
      const floor: { p50: number; p99: number; failures: number }[] = []
      for (let i = 0; i < repeats; i++) {
        const common = ['--runs', String(runs), '--concurrency', String(inFlight), '--warmup', String(Math.max(WARMUP_RUNS, inFlight))]
        engine.push(errors(await client([path.join(ROOT, 'bench', 'engine-client.ts'), '--probes', dir, ...common], targetUrl), delayMs))
        floor.push(
          errors(
            await client([path.join(ROOT, 'bench', 'floor-client.ts'), '--url', targetUrl, '--timings', ...common], targetUrl),
            delayMs,
          ),
        )
      }
      rows.push({ inFlight, runs, engine: medians(engine), floor: medians(floor) })
    }
    return rows
  } finally {
    await removeDir(dir)
  }
}

async function client(args: string[], targetUrl: string): Promise<ClientOutput> {
  const result = await runMeasured(args, { env: probeEnv(targetUrl), timeoutMs: 180_000, what: path.basename(args[0] ?? '') })
  if (result.code !== 0) throw new Error(`${args[0]}: exit ${result.code}: ${result.stderr.slice(-800)}`)
  return JSON.parse(result.stdout) as ClientOutput
}

function errors(output: ClientOutput, delayMs: number) {
  const error = output.durations.map((d) => d - delayMs)
  return { p50: percentile(error, 50), p99: percentile(error, 99), failures: output.failures }
}

function medians(list: readonly { p50: number; p99: number; failures: number }[]) {
  return { p50: median(list.map((x) => x.p50)), p99: median(list.map((x) => x.p99)), failures: Math.max(...list.map((x) => x.failures)) }
}
