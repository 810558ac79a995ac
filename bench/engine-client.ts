/**
 * smokeprobe's engine in a closed loop, for the timing-accuracy and the
 * engine CPU measurements: loads the probe files of `--probes` and calls
 * `runProbe` `--runs` times (cycling through them), `--concurrency` runs in
 * flight, as the daemon would. Prints one JSON line like floor-client.ts:
 * requests, failures, the CPU ms of the measured loop (after the warm-up,
 * loading excluded) and each step's reported duration in ms.
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config/load.ts'
import { runProbe } from '../src/probe/run.ts'

const { values } = parseArgs({
  options: {
    probes: { type: 'string' },
    runs: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '0' },
  },
})
const loaded = await loadConfig({ probePaths: [values.probes ?? '.'], alertingPath: null, env: process.env, ignoreChannels: true })
if (!loaded.ok) throw new Error(`probes did not load: ${JSON.stringify(loaded.diagnostics.slice(0, 3))}`)
const { probes, secrets } = loaded.config
const runs = Number(values.runs)
const durations: number[] = []
let requests = 0
let failures = 0

async function loop(count: number): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) {
      const probe = probes[next++ % probes.length]!
      const result = await runProbe(probe, { secrets })
      if (result.outcome !== 'success') failures++
      for (const step of result.steps) {
        if (step.status === 'skipped') continue
        requests++
        durations.push(step.durationMs)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(Number(values.concurrency), count) }, worker))
}
// Warm-up runs (JIT, first connections) are made and forgotten: a daemon runs warm.
await loop(Number(values.warmup))
durations.length = 0
requests = 0
failures = 0
const cpu0 = process.cpuUsage()
await loop(runs)
const cpu = process.cpuUsage(cpu0)
const cpuMs = (cpu.user + cpu.system) / 1000
process.stdout.write(`${JSON.stringify({ requests, failures, cpuMs, durations })}\n`)
