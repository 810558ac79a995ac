/**
 * smokeprobe's engine in a closed loop, for the timing-accuracy and the
 * engine CPU measurements: loads the probe files of `--probes` and calls
 * `runProbe` `--runs` times (cycling through them), `--concurrency` runs in
 * flight, as the daemon would. Prints one JSON line like floor-client.ts:
 * requests, failures, the CPU ms of the measured loop (after the warm-up,
 * loading excluded) and each step's reported duration in ms.
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/loader/load.ts'
import { runProbe } from '../src/probe/run.ts'
import { measureAndPrint, newCounters } from './closed-loop.ts'

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
const counters = newCounters()

await measureAndPrint(
  counters,
  { warmup: Number(values.warmup), runs: Number(values.runs), concurrency: Number(values.concurrency) },
  async (index) => {
    const probe = probes[index % probes.length]!
    const result = await runProbe(probe, { secrets })
    if (result.outcome !== 'success') counters.failures++
    for (const step of result.steps) {
      if (step.status === 'skipped') continue
      counters.requests++
      counters.durations.push(step.durationMs)
    }
  },
)
