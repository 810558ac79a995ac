/**
 * What smokeprobe costs beside production (issue 13): start-up of the
 * one-shot commands against a bare `node -e 0`, the daemon's memory at 10
 * and 1,000 CRUD probes with the heap settings the bin applies and without,
 * and `run --once` over 400 probes, whole process, against the floor client.
 * Every comparison is made side by side in one run: the commands of one
 * repeat run one after the other, repeats interleave, and each ratio is the
 * median of the per-repeat ratios, so a busy neighbour slows both sides of
 * a ratio alike. Loading 1,000 files is load.ts, run beside these.
 */
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type CapacityPlan, type CapacityRow, measureCapacity } from './capacity.ts'
import { cli, floor, STEPS_PER_RUN } from './cpu.ts'
import { finish, NODE, ROOT, start, stop } from './proc.ts'
import { probeEnv, removeDir, writeProbeDir } from './probes.ts'
import { median, statusMiB } from './stats.ts'

const PROBE_CLI = path.join(ROOT, 'bin', 'probe.js')
/**
 * The CLI's sources, started directly: what bin/probe.js ran before it
 * started the bundle (scripts/build.js). The "before" rows run these, with
 * the old bin's thread pool and, for start-up, its compile cache.
 */
const SOURCES_CLI = path.join(ROOT, 'src', 'cli', 'main.ts')

export interface FootprintPlan {
  readonly startupRepeats: number
  /** Daemon rows: probes, and Node flags before bin/probe.js ('' is the bin as shipped, BEFORE the daemon as it was). */
  readonly daemons: readonly { readonly probes: number; readonly nodeArgs: string }[]
  readonly daemon: CapacityPlan
  readonly onceProbes: number
  readonly onceRepeats: number
}

/**
 * The daemon as it was before issue 13: the sources (SOURCES_CLI), V8's own
 * young generation on 64-bit (16 MB semi-spaces) and no compile cache
 * (BEFORE_ENV).
 */
export const V8_DEFAULTS = '--max-semi-space-size=16'
/** The heap flags of deploy/kubernetes/deployment.yaml (NODE_OPTIONS), measured so its requests and limits follow a figure. */
export const MANIFEST_HEAP =
  /- name: NODE_OPTIONS\s*\n\s*value: (.+)/.exec(readFileSync(path.join(ROOT, 'deploy', 'kubernetes', 'deployment.yaml'), 'utf8'))?.[1]?.trim() ?? ''
const BEFORE_ENV = { NODE_DISABLE_COMPILE_CACHE: '1', UV_THREADPOOL_SIZE: '64' }

export interface StartupRow {
  readonly what: string
  /** Median wall ms from spawn to exit, and the median of (this ÷ `node -e 0`) over the repeats. */
  readonly wallMs: number
  readonly ratio: number
}

export interface OnceRow {
  readonly probes: number
  readonly requests: number
  /** Whole-process CPU ms per request, medians; the ratio is the median of per-repeat ratios. */
  readonly runOnceMs: number
  readonly floorMs: number
  readonly ratio: number
}

/** A bare Node 24 process at rest: what any Node program holds before its own code. */
export interface BareNode {
  readonly rssMiB: number
  readonly fileRssMiB: number
  readonly anonRssMiB: number
}

export interface FootprintResult {
  readonly bare: BareNode
  readonly startup: readonly StartupRow[]
  readonly daemons: readonly CapacityRow[]
  readonly once: OnceRow
}

/** Wall time of one process from spawn to exit, in ms; it must exit 0. */
async function wall(args: readonly string[], env: Record<string, string>, what: string): Promise<number> {
  const t0 = performance.now()
  const child = start(NODE, args, { env, cwd: tmpdir() })
  const code = await finish(child, 60_000, what)
  const ms = performance.now() - t0
  if (code !== 0) throw new Error(`${what}: exit ${code}: ${child.stderr().slice(-500)}`)
  return ms
}

export async function measureStartup(targetUrl: string, repeats: number): Promise<StartupRow[]> {
  const dir = await writeProbeDir(1, '1m')
  const env = probeEnv(targetUrl)
  const noCache = { ...env, NODE_DISABLE_COMPILE_CACHE: '1' }
  // The previous bin: the sources, with its compile cache (a directory of this run's own) and thread pool.
  const sources = { ...env, NODE_COMPILE_CACHE: path.join(dir, '.compile-cache'), UV_THREADPOOL_SIZE: '64' }
  const validate = ['validate', '--probes', dir]
  const once = ['run', '--once', '--json', '--probes', dir]
  const commands: [string, string[], Record<string, string>][] = [
    ['`node -e 0`', ['-e', '0'], env],
    ['`probe validate`, 1 file', [PROBE_CLI, ...validate], env],
    ['`probe validate`, 1 file, no compile cache', [PROBE_CLI, ...validate], noCache],
    ['`probe validate`, 1 file, the sources (before the bundle)', [SOURCES_CLI, ...validate], sources],
    ['`probe run --once`, 1 probe', [PROBE_CLI, ...once], env],
    ['`probe run --once`, 1 probe, no compile cache', [PROBE_CLI, ...once], noCache],
    ['`probe run --once`, 1 probe, the sources (before the bundle)', [SOURCES_CLI, ...once], sources],
  ]
  try {
    // One unmeasured pass fills the compile cache (and the page cache), as any earlier start of the bin would have.
    for (const [what, args, e] of commands) await wall(args, e, what)
    const samples: number[][] = commands.map(() => [])
    for (let i = 0; i < repeats; i++) {
      for (const [index, [what, args, e]] of commands.entries()) samples[index]!.push(await wall(args, e, what))
    }
    const bare = samples[0]!
    return commands.map(([what], index) => {
      const own = samples[index]!
      return { what, wallMs: median(own), ratio: median(own.map((ms, i) => ms / bare[i]!)) }
    })
  } finally {
    await removeDir(dir)
  }
}

export async function measureOnce(targetUrl: string, probes: number, repeats: number): Promise<OnceRow> {
  const dir = await writeProbeDir(probes, '1m')
  const requests = probes * STEPS_PER_RUN
  const env = probeEnv(targetUrl)
  const timeoutMs = 60_000 + probes * 60
  try {
    const engine: number[] = []
    const base: number[] = []
    for (let i = 0; i < repeats; i++) {
      const run = await cli(['run', '--once', '--json', '--probes', dir], env, timeoutMs, `run --once (${probes} probes)`, [0])
      const raw = await floor(targetUrl, probes, 'request', timeoutMs)
      engine.push((run.cpuSeconds * 1000) / requests)
      base.push((raw.cpuSeconds * 1000) / requests)
    }
    return { probes, requests, runOnceMs: median(engine), floorMs: median(base), ratio: median(engine.map((ms, i) => ms / base[i]!)) }
  } finally {
    await removeDir(dir)
  }
}

/** `node -e` that waits a moment, read from /proc while it waits. */
export async function measureBareNode(): Promise<BareNode> {
  const child = start(NODE, ['-e', "process.stdout.write('up\\n'); setTimeout(() => {}, 10_000)"])
  try {
    const deadline = Date.now() + 10_000
    while (!child.stdout().includes('up') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    await new Promise((resolve) => setTimeout(resolve, 500))
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
    return { rssMiB: statusMiB(status, 'VmRSS'), fileRssMiB: statusMiB(status, 'RssFile'), anonRssMiB: statusMiB(status, 'RssAnon') }
  } finally {
    await stop(child, 5_000)
  }
}

export async function measureFootprint(targetUrl: string, plan: FootprintPlan, progress: (text: string) => void): Promise<FootprintResult> {
  const bare = await measureBareNode()
  progress(`start-up: node -e 0, validate and run --once of one probe, ${plan.startupRepeats} interleaved repeats`)
  const startup = await measureStartup(targetUrl, plan.startupRepeats)
  progress(`run --once over ${plan.onceProbes} probes and the floor, whole process, ${plan.onceRepeats} repeats`)
  const once = await measureOnce(targetUrl, plan.onceProbes, plan.onceRepeats)
  // A short daemon first fills the compile cache with the daemon's own modules (validate and run --once do not load
  // them), as any earlier start of this version would have: otherwise the first row measures a cold cache.
  await measureCapacity(targetUrl, 1, { warmupSeconds: 0, windowSeconds: 1, scrapes: 1 })
  const daemons: CapacityRow[] = []
  for (const { probes, nodeArgs } of plan.daemons) {
    progress(
      `daemon memory: ${probes} probes at 5 s, ${nodeArgs === V8_DEFAULTS ? 'as before (V8 default heap, no compile cache)' : nodeArgs || 'as shipped'}`,
    )
    const before = nodeArgs === V8_DEFAULTS
    daemons.push(
      await measureCapacity(targetUrl, probes, plan.daemon, '', nodeArgs, before ? BEFORE_ENV : {}, before ? SOURCES_CLI : PROBE_CLI),
    )
  }
  return { bare, startup, daemons, once }
}
