/**
 * `npm run bench [-- --quick] [-- --only footprint]`: measures smokeprobe side by side with a
 * floor node:http client and Prometheus blackbox_exporter against one local
 * target, prints the results as Markdown and (full run only) writes them to
 * BENCHMARKS.md. `--only footprint` measures the footprint section alone
 * (issue 13) and replaces just that section of BENCHMARKS.md. Every child
 * is ended by pid; every loop is bounded.
 * `npm run bench -- --history` measures only the run history (bench/history.ts,
 * in a child with `--expose-gc`) and prints its table for BENCHMARKS.md
 * "Run history", a section written by hand that a full run keeps.
 */
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { measureAccuracy } from './accuracy.ts'
import { measureBlackbox } from './blackbox.ts'
import { type CapacityRow, measureCapacity } from './capacity.ts'
import { measureCpu, probesFor } from './cpu.ts'
import { type FootprintPlan, MANIFEST_HEAP, measureFootprint, V8_DEFAULTS } from './footprint.ts'
import { renderFootprint, replaceSection } from './footprint-report.ts'
import { buildBundle } from '../scripts/build.js'
import { measureLoad } from './load.ts'
import { finish, killAll, NODE, ROOT, type Started, start, stop, waitForOutput } from './proc.ts'
import { renderReport } from './report.ts'
import type { BenchPlan, BenchResults } from './results.ts'

/**
 * Heap settings measured beside the default: a smaller young generation,
 * and that plus a capped old generation (a hard limit: sized for about
 * 1,000 probes of this shape, whose live heap is ~47 MB).
 */
export const RSS_VARIANTS = ['--max-semi-space-size=4', '--max-semi-space-size=2 --max-old-space-size=96']

const FOOTPRINT: FootprintPlan = {
  startupRepeats: 9,
  daemons: [
    { probes: 10, nodeArgs: '' },
    { probes: 10, nodeArgs: V8_DEFAULTS },
    { probes: 1_000, nodeArgs: '' },
    { probes: 1_000, nodeArgs: V8_DEFAULTS },
    // deploy/kubernetes/deployment.yaml's NODE_OPTIONS, if it has any: the operator's choice, which the bin keeps.
    ...(MANIFEST_HEAP ? [{ probes: 1_000, nodeArgs: MANIFEST_HEAP }] : []),
  ],
  daemon: { warmupSeconds: 10, windowSeconds: 30, scrapes: 3 },
  onceProbes: 400,
  onceRepeats: 3,
}

const FULL: BenchPlan = {
  quick: false,
  cpuRequests: [1_000, 10_000],
  cpuRepeats: 3,
  capacitySteps: [250, 500, 1_000, 2_000, 3_000, 4_000],
  capacity: { warmupSeconds: 10, windowSeconds: 30, scrapes: 5 },
  rssVariants: RSS_VARIANTS,
  accuracy: [
    { inFlight: 10, runs: 300 },
    { inFlight: 200, runs: 2_000 },
  ],
  accuracyRepeats: 3,
  delayMs: 100,
  loadFiles: 1_000,
  loadRepeats: 3,
  footprint: FOOTPRINT,
}

const QUICK: BenchPlan = {
  ...FULL,
  quick: true,
  cpuRequests: [1_000],
  cpuRepeats: 1,
  capacitySteps: [1_000],
  capacity: { warmupSeconds: 5, windowSeconds: 10, scrapes: 3 },
  rssVariants: [],
  accuracy: [
    { inFlight: 10, runs: 100 },
    { inFlight: 200, runs: 600 },
  ],
  accuracyRepeats: 1,
  loadRepeats: 1,
  footprint: {
    ...FOOTPRINT,
    startupRepeats: 3,
    daemons: [
      { probes: 10, nodeArgs: '' },
      { probes: 1_000, nodeArgs: '' },
    ],
    daemon: { warmupSeconds: 5, windowSeconds: 10, scrapes: 1 },
    onceRepeats: 1,
  },
}

async function startTarget(delayMs: number): Promise<{ target: Started; url: string }> {
  const target = start(NODE, [path.join(ROOT, 'bench', 'target.ts'), '--delay', String(delayMs)])
  const match = await waitForOutput(target, /listening (\d+)/, 10_000)
  return { target, url: `http://127.0.0.1:${match[1]}` }
}

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`)
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, history: { type: 'boolean', default: false }, only: { type: 'string' } },
  })
  if (values.history) {
    progress('run history: 1,000 probes × 10,000 runs (a few minutes)')
    const child = start(NODE, ['--expose-gc', path.join(ROOT, 'bench', 'history.ts')])
    const code = await finish(child, 1_800_000, 'the run history bench')
    if (code !== 0) throw new Error(`the run history bench exited with ${code}: ${child.stderr().slice(-2_000)}`)
    process.stdout.write(child.stdout())
    return
  }
  const plan = values.quick ? QUICK : FULL
  // What users start is the bundle (bin/probe.js → dist/): built from this tree, or the bin would run the sources.
  if (!(await buildBundle()))
    throw new Error('esbuild is not installed (npm ci installs it): the bench measures the bundle bin/probe.js starts')
  if (values.only !== undefined && values.only !== 'footprint')
    throw new Error(`--only: unknown benchmark "${values.only}" (known: footprint)`)
  if (values.only === 'footprint') return footprintOnly(plan)
  const startedAt = new Date()
  const fast = await startTarget(0)
  const slow = await startTarget(plan.delayMs)
  try {
    progress(`CPU per request: run --once and the floor client (${plan.cpuRequests.join(', ')} requests, ${plan.cpuRepeats} repeats)`)
    const cpu = await measureCpu(fast.url, plan.cpuRequests, plan.cpuRepeats)
    progress('CPU per probe: blackbox_exporter')
    const blackbox = await measureBlackbox(
      fast.url,
      plan.cpuRequests.map(probesFor).map((n) => n * 3),
      cpu.concurrency,
    )
    const capacity: CapacityRow[] = []
    for (const probes of plan.capacitySteps) {
      progress(`daemon capacity: ${probes} probes at 5 s`)
      const row = await measureCapacity(fast.url, probes, plan.capacity)
      capacity.push(row)
      // Steps above the first that fails would only fail worse.
      if (row.onTime < 0.99) break
    }
    for (const variant of plan.rssVariants) {
      progress(`daemon at 1000 probes with NODE_OPTIONS=${variant}`)
      capacity.push(await measureCapacity(fast.url, 1_000, plan.capacity, variant))
    }
    progress(`timing accuracy: ${plan.delayMs} ms injected delay`)
    const accuracy = await measureAccuracy(slow.url, plan.delayMs, plan.accuracy, plan.accuracyRepeats)
    progress(`loading and validating ${plan.loadFiles} probe files`)
    const load = await measureLoad(plan.loadFiles, plan.loadRepeats)
    const footprint = await measureFootprint(fast.url, plan.footprint, progress)
    const results: BenchResults = {
      plan,
      startedAt,
      seconds: (Date.now() - startedAt.getTime()) / 1000,
      cpu,
      blackbox,
      capacity,
      accuracy,
      load,
      footprint,
    }
    const report = renderReport(results)
    process.stdout.write(`${report}\n`)
    if (!plan.quick) {
      const file = path.join(ROOT, 'BENCHMARKS.md')
      await writeFile(file, report + (await handWritten(file)))
      progress('wrote BENCHMARKS.md')
    } else progress('quick run: BENCHMARKS.md left as it is')
  } finally {
    await stop(fast.target)
    await stop(slow.target)
  }
}

/** The footprint benchmark alone: its section of BENCHMARKS.md is replaced (full plan) and the rest kept. */
async function footprintOnly(plan: BenchPlan): Promise<void> {
  const startedAt = new Date()
  const fast = await startTarget(0)
  try {
    progress(`loading and validating ${plan.loadFiles} probe files`)
    const load = await measureLoad(plan.loadFiles, plan.loadRepeats)
    const section = renderFootprint(await measureFootprint(fast.url, plan.footprint, progress), load, startedAt)
    process.stdout.write(`${section}\n`)
    if (plan.quick) return progress('quick run: BENCHMARKS.md left as it is')
    const file = path.join(ROOT, 'BENCHMARKS.md')
    await writeFile(file, replaceSection(await readFile(file, 'utf8'), section))
    progress('wrote the footprint section of BENCHMARKS.md')
  } finally {
    await stop(fast.target)
  }
}

try {
  await main()
} catch (error) {
  killAll()
  process.stderr.write(`bench: failed: ${(error as Error).stack ?? String(error)}\n`)
  process.exitCode = 1
}

/** Sections headed "(written by hand …)" hold figures no bench step measures (the image's): a rewrite keeps them. */
async function handWritten(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  const start = text.search(/^## .*\(written by hand/m)
  return start < 0 ? '' : `\n${text.slice(start)}`
}
