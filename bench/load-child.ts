/**
 * Times `loadConfig` (read, parse, validate and compile every probe file) of
 * `--probes` in a fresh process, so the first load pays what a starting
 * daemon or `probe validate` pays. Prints `{ ms, cpuMs, probes }`: wall and CPU time (a busy machine stretches the first).
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/loader/load.ts'

const { values } = parseArgs({ options: { probes: { type: 'string' } } })
const cpu0 = process.cpuUsage()
const t0 = performance.now()
const loaded = await loadConfig({ probePaths: [values.probes ?? '.'], alertingPath: null, env: process.env, ignoreChannels: true })
const ms = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
const cpuMs = (cpu.user + cpu.system) / 1000
if (!loaded.ok) throw new Error(`probes did not load: ${JSON.stringify(loaded.diagnostics.slice(0, 3))}`)
process.stdout.write(`${JSON.stringify({ ms, cpuMs, probes: loaded.config.probes.length })}\n`)
