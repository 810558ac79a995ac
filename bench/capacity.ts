/**
 * Daemon capacity: N 3-step CRUD probes at a 5 s interval in a real
 * `probe run` process. After a warm-up, a window of whole intervals is
 * measured from the daemon's own /metrics: run start lateness
 * (`probe_schedule_lateness_seconds`), runs, skipped and missed slots; CPU
 * from /proc over the same window; peak RSS (VmHWM) at the end; and the
 * time and size of a /metrics scrape under that load.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { freePort } from './blackbox.ts'
import { cpuSeconds, NODE, peakRssMiB, ROOT, type Started, sleep, start, stop } from './proc.ts'
import { probeEnv, removeDir, writeProbeDir } from './probes.ts'
import { histogramAt, median, parsePrometheus, type Sample, statusMiB, sumOf } from './stats.ts'

export const INTERVAL_S = 5
const LATENESS = 'probe_schedule_lateness_seconds'
const LATENESS_BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']

export interface CapacityRow {
  readonly probes: number
  readonly nodeOptions: string
  readonly windowSeconds: number
  /** Slots in the window: probes × intervals. */
  readonly expectedRuns: number
  readonly runs: number
  readonly failedRuns: number
  /** Runs started within 1 s of their slot, over all slots that came (skipped and missed ones count as late). */
  readonly onTime: number
  readonly within100ms: number
  /** Upper bound of the bucket holding the 99th percentile of lateness, e.g. "0.01". */
  readonly p99LatenessBucket: string
  readonly cpuPerRunMs: number
  /** CPU cores busy on average over the window. */
  readonly cores: number
  readonly peakRssMiB: number
  /** Median VmRSS over the window, sampled every second. */
  readonly steadyRssMiB: number
  /** Of VmRSS at the window's end, the file-backed part (RssFile: mostly the node binary's own pages, shared with every process running it) and the private rest (RssAnon). */
  readonly fileRssMiB: number
  readonly anonRssMiB: number
  /** The heap after two full collections at the end of the window (bench/heap-report.js), and its used size just before. */
  readonly liveHeapMiB: number
  readonly heapUsedMiB: number
  /** Node flags before bin/probe.js (`node <flags> bin/probe.js run`), a variant's label; '' as shipped. */
  readonly nodeArgs: string
  readonly scrape: { readonly medianMs: number; readonly maxMs: number; readonly bytes: number }
}

export interface CapacityPlan {
  readonly warmupSeconds: number
  readonly windowSeconds: number
  readonly scrapes: number
}

const HEAP_REPORT = path.join(ROOT, 'bench', 'heap-report.js')

export async function measureCapacity(
  targetUrl: string,
  probes: number,
  plan: CapacityPlan,
  nodeOptions = '',
  nodeArgs = '',
  extraEnv: Record<string, string> = {},
  entry = path.join(ROOT, 'bin', 'probe.js'),
): Promise<CapacityRow> {
  const dir = await writeProbeDir(probes, `${INTERVAL_S}s`)
  const stateDir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-bench-state-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const heapFile = path.join(stateDir, 'heap-report.json')
  const env = { ...probeEnv(targetUrl), NODE_OPTIONS: nodeOptions, BENCH_HEAP_REPORT: heapFile, ...extraEnv }
  const flags = nodeArgs.split(' ').filter(Boolean)
  const args = [...flags, '--import', HEAP_REPORT, entry, 'run', '--listen', `127.0.0.1:${port}`, '--probes', dir, '--state-dir', stateDir]
  const daemon = start(NODE, args, { env, cwd: tmpdir() })
  try {
    await waitReady(daemon, `${base}/readyz`, 60_000 + probes * 30)
    await sleep(plan.warmupSeconds * 1000)
    const before = { samples: await scrapeSamples(base), cpu: await cpuSeconds(daemon.pid) }
    const rss: number[] = []
    for (let s = 0; s < plan.windowSeconds; s++) {
      await sleep(1000)
      rss.push(statusMiB(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'), 'VmRSS'))
    }
    const after = { samples: await scrapeSamples(base), cpu: await cpuSeconds(daemon.pid) }
    const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8')
    const split = { fileRssMiB: statusMiB(status, 'RssFile'), anonRssMiB: statusMiB(status, 'RssAnon') }
    const scrape = await timeScrapes(base, plan.scrapes)
    const peak = peakRssMiB(daemon.pid)
    const heap = await heapReport(daemon.pid, heapFile)
    const row = summarize(probes, nodeOptions, plan.windowSeconds, before, after, scrape, peak)
    return { ...row, nodeArgs, steadyRssMiB: median(rss), ...split, ...heap }
  } finally {
    await stop(daemon, 20_000)
    await removeDir(dir)
    await removeDir(stateDir)
  }
}

interface Snapshot {
  readonly samples: Sample[]
  readonly cpu: number
}

function summarize(
  probes: number,
  nodeOptions: string,
  windowSeconds: number,
  before: Snapshot,
  after: Snapshot,
  scrape: CapacityRow['scrape'],
  peakRss: number,
): Omit<CapacityRow, 'steadyRssMiB' | 'fileRssMiB' | 'anonRssMiB' | 'liveHeapMiB' | 'heapUsedMiB' | 'nodeArgs'> {
  const delta = (pick: (samples: Sample[]) => number) => pick(after.samples) - pick(before.samples)
  const at = (le: string) => delta((s) => histogramAt(s, LATENESS, le).below)
  const started = delta((s) => histogramAt(s, LATENESS, '+Inf').count)
  const notStarted = delta((s) => sumOf(s, 'probe_runs_skipped_total') + sumOf(s, 'probe_runs_missed_total'))
  const slots = started + notStarted
  const runs = delta((s) => sumOf(s, 'probe_runs_total'))
  const failedRuns = delta((s) =>
    s.filter((x) => x.name === 'probe_runs_total' && x.labels.result === 'failure').reduce((a, x) => a + x.value, 0),
  )
  const cpu = after.cpu - before.cpu
  return {
    probes,
    nodeOptions,
    windowSeconds,
    expectedRuns: (probes * windowSeconds) / INTERVAL_S,
    runs,
    failedRuns,
    onTime: slots > 0 ? at('1') / slots : 0,
    within100ms: slots > 0 ? at('0.1') / slots : 0,
    p99LatenessBucket: LATENESS_BUCKETS.find((le) => at(le) >= 0.99 * slots) ?? '+Inf',
    cpuPerRunMs: runs > 0 ? (cpu * 1000) / runs : Number.NaN,
    cores: cpu / windowSeconds,
    peakRssMiB: peakRss,
    scrape,
  }
}

/** Asks the daemon's heap-report preload for its live heap (SIGUSR2) and waits, bounded, for the file. */
async function heapReport(pid: number, file: string): Promise<{ liveHeapMiB: number; heapUsedMiB: number }> {
  process.kill(pid, 'SIGUSR2')
  for (let i = 0; i < 100; i++) {
    await sleep(100)
    const text = await readFile(file, 'utf8').catch(() => '')
    if (text) {
      await rm(file, { force: true })
      const report = JSON.parse(text) as { liveHeapMiB: number; heapUsedMiB: number }
      return { liveHeapMiB: report.liveHeapMiB, heapUsedMiB: report.heapUsedMiB }
    }
  }
  return { liveHeapMiB: Number.NaN, heapUsedMiB: Number.NaN }
}

async function waitReady(daemon: Started, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (daemon.child.exitCode !== null) throw new Error(`daemon exited ${daemon.child.exitCode}: ${daemon.stderr().slice(-800)}`)
    const ready = await fetch(url).then(
      (res) => res.status === 200,
      () => false,
    )
    if (ready) return
    await sleep(100)
  }
  throw new Error(`daemon not ready within ${timeoutMs} ms: ${daemon.stderr().slice(-800)}`)
}

async function scrapeSamples(base: string): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`)
  return parsePrometheus(await res.text())
}

/** `count` scrapes half a second apart: client-side time to the end of the body, and its size. */
async function timeScrapes(base: string, count: number): Promise<CapacityRow['scrape']> {
  const times: number[] = []
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    const res = await fetch(`${base}/metrics`)
    const body = await res.arrayBuffer()
    times.push(performance.now() - t0)
    bytes = body.byteLength
    await sleep(500)
  }
  return { medianMs: median(times), maxMs: Math.max(...times), bytes }
}
