/**
 * Run and incident history of every configured probe: in memory for the page
 * and the API, and in one append-only log per probe in the state directory,
 * so a restart keeps it (SPEC "History and the status page"). One log per
 * probe rather than one shared: compaction then rewrites one probe's 10,000
 * runs (about 1 MB), not every probe's, and a corrupt file costs one probe
 * its history. Appends are batched and not fsynced (see LogSpec.durable):
 * recording a run never waits for the disk.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Judgement } from '../judge/judge.ts'
import type { Logger } from '../log.ts'
import type { RunResult } from '../probe/result.ts'
import { setAside } from '../state/fs.ts'
import { type AppendLog, createLog } from '../state/log.ts'
import {
  type DeliveryOutcome,
  HISTORY_VERSION,
  type HistoryLine,
  HistoryLineSchema,
  MAX_AGE_MS,
  MAX_INCIDENTS,
  MAX_NOTIFICATIONS,
  MAX_RUNS,
  retainLines,
  STEP_SERIES_RUNS,
} from './records.ts'
import { type RunRecord, RunRing } from './runs.ts'
import { RunFigures, type RunStats } from './stats.ts'

export const HISTORY_DIR = 'history'
/**
 * A history file is read whole at start. A compacted one holds at most about
 * 20,000 lines of some 150 bytes; a file far bigger is not ours (or not
 * whole), and reading it could exhaust memory: it is set aside unread.
 */
export const MAX_FILE_BYTES = 16 * 1024 * 1024

export interface Incident {
  readonly id: string
  readonly openedAt: number
  resolvedAt: number | null
  readonly notifications: { channel: string; event: string; result: DeliveryOutcome; at: number }[]
}

export interface StepPoint {
  readonly at: number
  readonly steps: Readonly<Record<string, number>>
}

interface ProbeHistory {
  readonly runs: RunRing
  readonly steps: StepPoint[]
  readonly incidents: Incident[]
  readonly log: AppendLog<HistoryLine>
  readonly figures: RunFigures
  /** False while its file is read; what happens meanwhile waits in `backlog` (bounded), then follows what was read. */
  loaded: boolean
  backlog: HistoryLine[]
}

/** What the page shows of one probe's history. */
export interface HistoryView {
  /** The last runs, oldest first (at most `count`). */
  readonly recent: readonly RunRecord[]
  readonly stats: RunStats
  /** Newest first. */
  readonly incidents: readonly Incident[]
  readonly open: Incident | null
  readonly steps: readonly StepPoint[]
}

export interface HistoryQuery {
  /** Epoch ms: runs at or after it, incidents still open or resolved at or after it. */
  readonly since?: number
  /** The newest this many runs (and incidents). */
  readonly limit?: number
}

/** `GET /api/probes/<name>/history` (SPEC "History and the status page"), newest last. */
export interface HistoryDocument {
  readonly version: 1
  readonly probe: string
  readonly runs: {
    at: string
    outcome: string
    durationMs: number
    step: string | null
    reason: string | null
    muted?: true
  }[]
  readonly incidents: {
    id: string
    openedAt: string
    resolvedAt: string | null
    notifications: { channel: string; event: string; result: DeliveryOutcome; at: string }[]
  }[]
}

export interface HistoryDeps {
  readonly stateDir: string
  readonly logger: Logger
  readonly now?: () => number
  readonly onWrite?: (error: string | null) => void
}

export interface History {
  /**
   * On start and reload: starts reading the logs of probes not yet held (in
   * the background, see `whenLoaded`), forgets the removed ones (their files stay).
   */
  configure(names: readonly string[]): void
  /** Resolves once every log asked for so far is read. */
  whenLoaded(): Promise<void>
  recordRun(result: RunResult, judgement: Judgement): void
  opened(probe: string, id: string, at: number): void
  /** Resolves the probe's open incident, if any. */
  resolved(probe: string, at: number): void
  /** One delivery outcome of one notification on one channel. */
  notified(probe: string, incidentId: string, channel: string, event: string, result: DeliveryOutcome, at: number): void
  openIncident(probe: string): Incident | null
  stats(probe: string): RunStats | null
  view(probe: string, count: number): HistoryView | null
  document(probe: string, query: HistoryQuery): HistoryDocument | null
  /** Resolves once every record so far is on disk (shutdown, tests). */
  flush(): Promise<void>
  /** Bytes of run columns held in memory (bench). */
  memoryBytes(): number
}

export function createHistory(deps: HistoryDeps): History {
  const now = deps.now ?? Date.now
  const dir = join(deps.stateDir, HISTORY_DIR)
  const probes = new Map<string, ProbeHistory>()

  function apply(history: ProbeHistory, line: HistoryLine): void {
    switch (line.k) {
      case 'run':
        history.runs.push({
          at: line.at,
          outcome: line.o,
          muted: line.m === true,
          durationMs: line.d,
          step: line.s ?? null,
          reason: line.r ?? null,
        })
        history.figures.added()
        if (line.sd) {
          history.steps.push({ at: line.at, steps: line.sd })
          if (history.steps.length > STEP_SERIES_RUNS) history.steps.shift()
        }
        return
      case 'open':
        if (history.incidents.some((incident) => incident.id === line.id)) return
        history.incidents.push({ id: line.id, openedAt: line.at, resolvedAt: null, notifications: [] })
        if (history.incidents.length > MAX_INCIDENTS) history.incidents.shift()
        return
      case 'close': {
        const incident = history.incidents.find((i) => i.id === line.id)
        if (incident && incident.resolvedAt === null) incident.resolvedAt = line.at
        return
      }
      case 'note': {
        const incident = history.incidents.find((i) => i.id === line.id)
        if (!incident || incident.notifications.length >= MAX_NOTIFICATIONS) return
        incident.notifications.push({ channel: line.ch, event: line.ev, result: line.res, at: line.at })
        return
      }
    }
  }

  function write(probe: string, line: HistoryLine): void {
    const history = probes.get(probe)
    if (!history) return
    if (!history.loaded) {
      if (history.backlog.length < MAX_RUNS) history.backlog.push(line)
      return
    }
    apply(history, line)
    history.log.append(line)
  }

  function blank(name: string): ProbeHistory {
    const log = createLog<HistoryLine>(dir, {
      name: `${name}.log`,
      label: 'run history',
      version: HISTORY_VERSION,
      schema: HistoryLineSchema,
      unreadable: 'set-aside',
      maxRecords: MAX_RUNS + 2 * MAX_INCIDENTS,
      retain: (lines) => retainLines(lines, now()),
      durable: false,
      logger: deps.logger,
      onWrite: deps.onWrite,
    })
    const runs = new RunRing(MAX_RUNS)
    return { runs, steps: [], incidents: [], log, figures: new RunFigures(runs), loaded: false, backlog: [] }
  }

  async function fill(name: string, history: ProbeHistory): Promise<void> {
    const { log } = history
    const size = await stat(log.path).then(
      (s) => s.size,
      () => 0,
    )
    if (size > MAX_FILE_BYTES) {
      const moved = await setAside(log.path, 'too-large')
      deps.logger.warn({ path: log.path, bytes: size }, `run history file larger than ${MAX_FILE_BYTES} bytes, not read${moved}`)
    }
    const { records, warnings } = await log.load()
    for (const warning of warnings) deps.logger.warn({ probe: name, reason: warning }, 'run history could not be fully restored')
    for (const line of retainLines(records, now())) apply(history, line)
    history.loaded = true
    for (const line of history.backlog.splice(0)) {
      apply(history, line)
      log.append(line)
    }
  }

  /**
   * Files are read one after another, behind the daemon's start: 1,000
   * probes' history takes tens of seconds to read (BENCHMARKS.md), and the
   * probes must not wait for their past to begin running.
   */
  let loading: Promise<void> = Promise.resolve()
  function queueLoad(name: string, history: ProbeHistory): void {
    loading = loading.then(async () => {
      if (probes.get(name) !== history) return // removed (or replaced) before its turn
      await fill(name, history).catch((error: unknown) => {
        deps.logger.error({ err: error, probe: name }, 'run history could not be read; starting empty')
        history.loaded = true
      })
      await new Promise((resolve) => setImmediate(resolve))
    })
  }

  function trimmed(history: ProbeHistory): ProbeHistory {
    history.runs.dropBefore(now() - MAX_AGE_MS)
    return history
  }

  return {
    configure(names) {
      const wanted = new Set(names)
      for (const name of probes.keys()) if (!wanted.has(name)) probes.delete(name)
      for (const name of names) {
        if (probes.has(name)) continue
        const history = blank(name)
        probes.set(name, history)
        queueLoad(name, history)
      }
    },

    whenLoaded: () => loading,

    recordRun(result, judgement) {
      const at = Date.parse(result.startedAt)
      const steps = Object.fromEntries(
        result.steps.filter((s) => s.status !== 'skipped').map((s) => [s.name, Math.round(s.durationMs * 10) / 10]),
      )
      write(result.probe, {
        k: 'run',
        at: Number.isNaN(at) ? now() : at,
        o: judgement.outcome,
        ...(judgement.muted ? { m: true as const } : {}),
        d: Math.round(result.durationMs * 10) / 10,
        ...(result.failure ? { s: result.failure.step, r: result.failure.reason } : {}),
        ...(Object.keys(steps).length > 0 ? { sd: steps } : {}),
      })
    },

    opened: (probe, id, at) => write(probe, { k: 'open', id, at }),

    resolved(probe, at) {
      const open = this.openIncident(probe)
      if (open) write(probe, { k: 'close', id: open.id, at })
    },

    notified: (probe, id, ch, ev, res, at) => write(probe, { k: 'note', id, ch, ev, res, at }),

    openIncident(probe) {
      const incidents = probes.get(probe)?.incidents ?? []
      const last = incidents[incidents.length - 1]
      return last && last.resolvedAt === null ? last : null
    },

    stats(probe) {
      const history = probes.get(probe)
      if (!history) return null
      return trimmed(history).figures.stats(now())
    },

    view(probe, count) {
      const history = probes.get(probe)
      const stats = this.stats(probe)
      if (!history || !stats) return null
      const recent: RunRecord[] = []
      for (let i = Math.max(0, history.runs.length - count); i < history.runs.length; i++) recent.push(history.runs.get(i))
      return { recent, stats, incidents: [...history.incidents].reverse(), open: this.openIncident(probe), steps: history.steps }
    },

    document(probe, query) {
      const history = probes.get(probe)
      if (!history) return null
      const { runs } = trimmed(history)
      const since = query.since ?? Number.NEGATIVE_INFINITY
      const limit = query.limit ?? MAX_RUNS
      const from = Math.max(runs.firstAtOrAfter(since), runs.length - limit)
      const iso = (ms: number) => new Date(ms).toISOString()
      const out: HistoryDocument['runs'] = []
      for (let i = from; i < runs.length; i++) {
        const run = runs.get(i)
        out.push({
          at: iso(run.at),
          outcome: run.outcome,
          durationMs: run.durationMs,
          step: run.step,
          reason: run.reason,
          ...(run.muted ? { muted: true as const } : {}),
        })
      }
      const incidents = history.incidents.filter((i) => i.resolvedAt === null || i.resolvedAt >= since).slice(-limit)
      return {
        version: 1,
        probe,
        runs: out,
        incidents: incidents.map((i) => ({
          id: i.id,
          openedAt: iso(i.openedAt),
          resolvedAt: i.resolvedAt === null ? null : iso(i.resolvedAt),
          notifications: i.notifications.map((n) => ({ channel: n.channel, event: n.event, result: n.result, at: iso(n.at) })),
        })),
      }
    },

    async flush() {
      await Promise.all([...probes.values()].map((h) => h.log.flush()))
    },

    memoryBytes: () => [...probes.values()].reduce((sum, h) => sum + h.runs.bytes, 0),
  }
}
