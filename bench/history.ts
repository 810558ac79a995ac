/**
 * `npm run bench -- --history` (or `node --expose-gc bench/history.ts [--probes N] [--runs N]`):
 * run history at its bound — 1,000 probes with 10,000 runs each, what 5-second
 * probes hold after 14 hours — written through the real history store into a
 * temp state dir, then: memory, disk, the cost of recording a run, a restart's
 * load, and the server-side render of the status page, `/api/probes` and a
 * detail page. Prints Markdown for BENCHMARKS.md "Run history".
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import os, { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createHistory, HISTORY_DIR, type History } from '../src/history/store.ts'
import type { Judgement } from '../src/judge/judge.ts'
import { silentLogger } from '../src/log.ts'
import type { RunResult } from '../src/probe/result.ts'
import { renderDetailPage } from '../src/server/detail-page.ts'
import { BAR_RUNS, renderStatusPage } from '../src/server/page.ts'
import { type ProbeStatus, publicStatus } from '../src/server/status.ts'

const INTERVAL_MS = 5_000
/** Runs appended per probe before the writer is let to drain: 100 probe intervals. */
const BATCH_TICKS = 100

export interface HistoryBench {
  readonly probes: number
  readonly runsPerProbe: number
  readonly fillSeconds: number
  readonly cpuPerRunUs: number
  readonly columnBytes: number
  readonly heapBytes: number
  readonly rssBytes: number
  readonly diskBytes: number
  readonly loadSeconds: number
  readonly loadedHeapBytes: number
  /** Median over rounds, CPU time (user + system) of this process: the machine's other load does not count. */
  readonly renderCpuMs: number
  readonly renderWallMs: number
  readonly apiMs: number
  readonly detailMs: number
  readonly pageBytes: number
}

function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

function result(probe: string, at: number, i: number): { result: RunResult; judgement: Judgement } {
  const failed = i % 50 === 0
  const steps = ['create', 'read', 'delete', 'gone'].map((name, s) => ({
    name,
    cleanup: name === 'delete',
    status: failed && name === 'read' ? ('failed' as const) : ('passed' as const),
    durationMs: 3 + ((i * 7 + s * 13) % 40),
    timings: {},
  }))
  const failure = failed
    ? { step: 'read', kind: 'status' as const, reason: 'status' as const, message: 'read: expected status 200, got 500' }
    : null
  return {
    result: {
      probe,
      runId: `${i}`,
      startedAt: new Date(at).toISOString(),
      durationMs: steps.reduce((sum, s) => sum + s.durationMs, 0),
      outcome: failed ? 'failure' : 'success',
      failure,
      steps,
    },
    judgement: { outcome: failed ? 'failure' : 'success', muted: false },
  }
}

async function diskBytes(dir: string): Promise<number> {
  const names = await readdir(dir)
  const sizes = await Promise.all(names.map((name) => stat(path.join(dir, name)).then((s) => s.size)))
  return sizes.reduce((a, b) => a + b, 0)
}

function statuses(names: readonly string[], history: History): ProbeStatus[] {
  return names.map((name, i) => {
    const stats = history.stats(name)
    return publicStatus({
      name,
      schedule: 'every 5s',
      labels: {},
      lastRun: null,
      consecutiveFailures: i % 10 === 0 ? 3 : 0,
      alert: { state: i % 10 === 0 ? 'failing' : 'ok', since: null },
      channels: ['oncall'],
      ...(stats ? { uptime: stats.uptime, p50Ms: stats.p50Ms, p95Ms: stats.p95Ms } : {}),
    })
  })
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

export async function measureHistory(probes: number, runs: number): Promise<HistoryBench> {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-bench-history-'))
  const start = Date.parse('2026-01-01T00:00:00Z')
  let clock = start
  const names = Array.from({ length: probes }, (_, i) => `probe-${String(i).padStart(4, '0')}`)
  try {
    gc()
    const before = process.memoryUsage()
    const history = createHistory({ stateDir, logger: silentLogger(), now: () => clock })
    history.configure(names)
    await history.whenLoaded()
    const cpu = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < runs; i++) {
      clock = start + i * INTERVAL_MS
      for (const name of names) {
        const { result: r, judgement } = result(name, clock, i)
        history.recordRun(r, judgement)
      }
      if ((i + 1) % BATCH_TICKS === 0) await history.flush()
    }
    await history.flush()
    const fillSeconds = (performance.now() - t0) / 1000
    const used = process.cpuUsage(cpu)
    gc()
    const filled = process.memoryUsage()
    const disk = await diskBytes(path.join(stateDir, HISTORY_DIR))

    // The page as a browser gets it, one probe interval after the last: every probe has a new run.
    const access = { view: (name: string, count: number) => history.view(name, count), document: () => null }
    const render = () => renderStatusPage(statuses(names, history), { now: new Date(clock), location: null, history: access })
    const cpuMs: number[] = []
    const wallMs: number[] = []
    let page = ''
    for (let round = 0; round < 7; round++) {
      clock += INTERVAL_MS
      for (const name of names) {
        const { result: r, judgement } = result(name, clock, runs + round)
        history.recordRun(r, judgement)
      }
      await history.flush()
      const c = process.cpuUsage()
      const t = performance.now()
      page = render()
      wallMs.push(performance.now() - t)
      const used = process.cpuUsage(c)
      cpuMs.push((used.user + used.system) / 1000)
    }
    const api: number[] = []
    const detail: number[] = []
    for (let round = 0; round < 5; round++) {
      let t = performance.now()
      JSON.stringify({ version: 1, probes: statuses(names, history) })
      api.push(performance.now() - t)
      t = performance.now()
      const [status] = statuses([names[0]!], history)
      renderDetailPage(status!, history.view(names[0]!, 120)!, { now: new Date(clock) })
      detail.push(performance.now() - t)
    }

    // A restart: every probe's log read back.
    gc()
    const beforeLoad = process.memoryUsage()
    const t1 = performance.now()
    const reloaded = createHistory({ stateDir, logger: silentLogger(), now: () => clock })
    reloaded.configure(names)
    await reloaded.whenLoaded()
    const loadSeconds = (performance.now() - t1) / 1000
    gc()
    const loaded = process.memoryUsage()
    if (reloaded.document(names[0]!, {})?.runs.length !== Math.min(runs + 7, 10_000)) throw new Error('bench: the restart lost runs')
    return {
      probes,
      runsPerProbe: runs,
      fillSeconds,
      cpuPerRunUs: (used.user + used.system) / (probes * runs),
      columnBytes: history.memoryBytes(),
      heapBytes: filled.heapUsed + filled.arrayBuffers - before.heapUsed - before.arrayBuffers,
      rssBytes: filled.rss - before.rss,
      diskBytes: disk,
      loadSeconds,
      loadedHeapBytes: loaded.heapUsed + loaded.arrayBuffers - beforeLoad.heapUsed - beforeLoad.arrayBuffers,
      renderCpuMs: median(cpuMs),
      renderWallMs: median(wallMs),
      apiMs: median(api),
      detailMs: median(detail),
      pageBytes: Buffer.byteLength(page),
    }
  } finally {
    await rm(stateDir, { recursive: true, force: true })
  }
}

const MB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

export function renderHistory(r: HistoryBench): string {
  return [
    `| ${r.probes.toLocaleString('en')} probes × ${r.runsPerProbe.toLocaleString('en')} runs | |`,
    '|---|---|',
    `| run columns in memory (16 bytes a run) | ${MB(r.columnBytes)} |`,
    `| heap + array buffers after filling (incl. step series, incidents, log buffers) | ${MB(r.heapBytes)} |`,
    `| RSS growth while filling | ${MB(r.rssBytes)} |`,
    `| disk (\`state/history/*.log\`, between compactions) | ${MB(r.diskBytes)} |`,
    `| CPU per run recorded (append, write, compaction) | ${r.cpuPerRunUs.toFixed(1)} µs, i.e. ${((r.cpuPerRunUs * r.probes) / (INTERVAL_MS * 10)).toFixed(2)} % of a core at ${r.probes} probes every 5 s |`,
    `| filling (${(r.probes * r.runsPerProbe).toLocaleString('en')} runs) | ${r.fillSeconds.toFixed(1)} s |`,
    `| restart: loading every log | ${r.loadSeconds.toFixed(1)} s, ${MB(r.loadedHeapBytes)} held |`,
    `| load average while measuring (2 cores) | ${os.loadavg()[0]!.toFixed(1)} |`,
    `| status page render, server side (median of 7) | ${r.renderCpuMs.toFixed(0)} ms CPU, ${r.renderWallMs.toFixed(0)} ms wall (${MB(r.pageBytes)} of HTML, ${BAR_RUNS} cells a probe) |`,
    `| \`/api/probes\` body | ${r.apiMs.toFixed(1)} ms |`,
    `| one detail page | ${r.detailMs.toFixed(1)} ms |`,
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { probes: { type: 'string', default: '1000' }, runs: { type: 'string', default: '10000' } } })
  const measured = await measureHistory(Number(values.probes), Number(values.runs))
  process.stdout.write(`${renderHistory(measured)}\n`)
}
