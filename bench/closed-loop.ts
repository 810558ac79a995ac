/**
 * The measurement both closed-loop clients share (engine-client.ts and
 * floor-client.ts): `concurrency` runs in flight, a warm-up that is made and
 * forgotten (JIT, first connections: a daemon runs warm), then the measured
 * loop, and one JSON line with its CPU ms and the client's counters.
 */
export interface LoopCounters {
  requests: number
  failures: number
  /** Each request's duration in ms, as the client reports it. */
  readonly durations: number[]
}

export function newCounters(): LoopCounters {
  return { requests: 0, failures: 0, durations: [] }
}

async function closedLoop(count: number, concurrency: number, run: (index: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) await run(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}

export async function measureAndPrint(
  counters: LoopCounters,
  options: { warmup: number; runs: number; concurrency: number },
  run: (index: number) => Promise<void>,
): Promise<void> {
  await closedLoop(options.warmup, options.concurrency, run)
  counters.durations.length = 0
  counters.requests = 0
  counters.failures = 0
  const cpu0 = process.cpuUsage()
  await closedLoop(options.runs, options.concurrency, run)
  const cpu = process.cpuUsage(cpu0)
  const { requests, failures, durations } = counters
  process.stdout.write(`${JSON.stringify({ requests, failures, cpuMs: (cpu.user + cpu.system) / 1000, durations })}\n`)
}
