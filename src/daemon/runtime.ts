/**
 * The daemon's parts wired together — config → schedule → run → judge →
 * alert → expose — with start, reload and stop. No signals and no process
 * exit here, so tests drive it in-process.
 */
import { type Alerter, type AlertProbe, createAlerter } from '../alerting/alerter.ts'
import type { RetryPolicy } from '../alerting/delivery.ts'
import type { Notification } from '../alerting/notification.ts'
import { incidentId } from '../alerting/notify.ts'
import { type AlertState, consecutiveFailures, isFiring } from '../alerting/state.ts'
import path from 'node:path'
import { createJournal } from '../cleanup/journal.ts'
import { type CleanupQueue, type CleanupRetryPolicy, createCleanupQueue } from '../cleanup/queue.ts'
import { createSweeper, type Sweeper } from '../cleanup/sweeper.ts'
import { createHistory, type History } from '../history/store.ts'
import { StateUnreadableError } from '../state/fs.ts'
import type { DaemonOptions } from './options.ts'
import { type Diagnostic, formatDiagnostic, type LoadedConfig, loadConfig } from '../loader/load.ts'
import type { Probe } from '../config/probe-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import { type Mutes, NO_MUTES } from '../judge/inputs.ts'
import { createMuteStore } from '../judge/mute-store.ts'
import { combineMutes, windowMutes } from '../judge/windows.ts'
import { createJudge, type Judgement } from '../judge/judge.ts'
import type { Logger } from '../log.ts'
import { createMetrics, type Metrics } from '../metrics/registry.ts'
import type { RunResult } from '../probe/result.ts'
import { runProbe } from '../probe/run.ts'
import { createScheduler, type Scheduler } from '../scheduler/scheduler.ts'
import { type RunningServer, startServer } from '../server/http.ts'
import { type LockResult, lockStateDir } from '../state/lock.ts'
import { buildChannels, type ChannelSet, closeChannels } from './channels.ts'
import { createMuteWatch } from './mute-watch.ts'
import { createNetworkInput } from './network.ts'
import { inShard } from './shard.ts'
import { type JudgedRun, probeStatus } from './status.ts'

/**
 * Which code this daemon runs: the bundle `npm run build` wrote (dist/), or,
 * in a checkout edited since its last build, the sources (bin/startup.js
 * `entryModule`). Logged at start: the slower, larger one should not run
 * unnoticed.
 */
const RUNNING_CODE = /\/dist\/[^/]+\.js$/.test(import.meta.url) ? 'bundle' : 'sources'

export interface RuntimeDeps {
  readonly options: DaemonOptions
  readonly env: Readonly<Record<string, string | undefined>>
  readonly logger: Logger
  /** Grows with every configuration loaded, so a secret of an old configuration stays masked. */
  readonly secrets: SecretMask
  readonly cwd?: string
  /** Tests shorten delivery backoff. */
  readonly retry?: Partial<RetryPolicy>
  /** How long in-flight runs may finish at shutdown before they are aborted. @defaultValue 10s */
  readonly runGraceMs?: number
  /** How long undelivered notifications are tried at shutdown before they are saved for the next start. @defaultValue 10s */
  readonly flushMs?: number
  /** How long a canary check's answer is reused; tests shorten it. @defaultValue 30s */
  readonly canaryCacheMs?: number
  /** Tests shorten the backoff of journaled cleanups. */
  readonly cleanupRetry?: Partial<CleanupRetryPolicy>
}

export type StartResult = { readonly ok: true; readonly url: string } | { readonly ok: false; readonly errors: string[] }

export interface Runtime {
  start(): Promise<StartResult>
  /** Loads the files again; swaps them in only when entirely valid. */
  reload(): Promise<boolean>
  stop(): Promise<void>
  readonly metrics: Metrics
}

interface Active {
  readonly config: LoadedConfig
  /** This replica's probes (its shard of the configuration). */
  readonly probes: ReadonlyMap<string, Probe>
  readonly channels: ChannelSet
}

export function createRuntime(deps: RuntimeDeps): Runtime {
  const { options, logger, secrets } = deps
  const metrics = createMetrics({ location: options.location })
  const lastResults = new Map<string, JudgedRun>()
  // The canaries of the configuration running now (none: every failure is the target's).
  const network = createNetworkInput({ metrics, mask: (text) => secrets.mask(text), cacheMs: deps.canaryCacheMs })
  // Mutes are the windows of the active configuration and the ad-hoc mutes of the API.
  const muteStore = createMuteStore({
    stateDir: options.stateDir,
    logger: logger.child({ component: 'mutes' }),
    onChange: () => muteWatch.check(),
  })
  let windows: Mutes = NO_MUTES
  const mutes = combineMutes((probe, labels, at) => windows(probe, labels, at), muteStore.mutes)
  const judge = createJudge({ network: network.network, mutes })
  const muteWatch = createMuteWatch({ probes: () => active?.probes.values() ?? [], mutes, onChange: onMuteChange })
  let active: Active | null = null
  let alerter: Alerter | null = null
  let scheduler: Scheduler | null = null
  let server: RunningServer | null = null
  let lock: LockResult | null = null
  let cleanups: CleanupQueue | null = null
  let sweeper: Sweeper | null = null
  let history: History | null = null
  let ready = false
  /** The last write of the state file failed, with this cause: shown on `/readyz` until a write succeeds. */
  let stateWriteError: string | null = null

  async function load(): Promise<{ ok: true; config: LoadedConfig } | { ok: false; diagnostics: Diagnostic[] }> {
    try {
      return await loadConfig({
        probePaths: options.probes,
        alertingPath: options.alerting,
        env: deps.env,
        cwd: deps.cwd,
        secretsDir: options.secretsDir,
      })
    } catch (error) {
      // The loader turns every file problem into a diagnostic; a throw is a bug, but it must still
      // refuse the reload (and say so in probe_config_last_reload_successful), not crash or pass.
      return {
        ok: false,
        diagnostics: [{ file: '', path: '', message: `bug: loading threw: ${(error as Error)?.message ?? String(error)}` }],
      }
    }
  }

  /** `previous`: on reload, the channels whose entry did not change are kept. */
  function activate(config: LoadedConfig, previous?: Active): Active {
    secrets.absorb(config.secrets)
    const probes = new Map(config.probes.filter((p) => inShard(p.name, options.shard)).map((p) => [p.name, p]))
    network.configure(config.alerting?.canaries ?? [])
    windows = windowMutes(config.alerting?.maintenance ?? [])
    return { config, probes, channels: buildChannels(config.alerting, { logger, secrets }, previous?.channels) }
  }

  function alertProbes(next: Active) {
    return [...next.probes.values()].map(
      (p): AlertProbe => ({
        name: p.name,
        labels: p.labels,
        policy: policyOf(next, p.name),
        ...(p.description === undefined ? {} : { description: p.description }),
        ...(p.runbook === undefined ? {} : { runbook: p.runbook }),
      }),
    )
  }

  async function runSlot(probe: Probe, slot: Date, signal: AbortSignal): Promise<void> {
    metrics.recordLateness(Date.now() - slot.getTime())
    try {
      const result = await runProbe(probe, { secrets, signal, logger, ...(cleanups ? { cleanups: cleanups.hooks } : {}) })
      const judgement = await judge(result, probe)
      network.observe(result, new Date())
      // A reload removed the probe while it ran: it is retired, its result belongs nowhere.
      if (!active?.probes.has(probe.name)) return
      lastResults.set(probe.name, { result, judgement })
      history?.recordRun(result, judgement)
      metrics.recordRun(result, judgement.outcome)
      logRun(result, judgement)
      // A run cut short by shutdown says nothing, muted or not: it leaves every gauge as it was.
      // (probe_muted is the mute watch's: it says "muted now", which a run judged a moment ago may no longer be.)
      if (judgement.outcome === 'aborted') return
      if (!alerter) return
      // The slot, shared by every replica running this configuration, names an incident this run opens.
      alerted(probe.name, await alerter.record(result, judgement, slot))
    } catch (error) {
      logger.error({ err: error, probe: probe.name }, 'bug: a probe run threw')
    }
  }

  /** A window opened or closed, a mute began or ended: the gauge follows, and the end decides what was held. */
  function onMuteChange(name: string, muted: boolean): void {
    metrics.setMuted(name, muted)
    if (muted || !alerter) return
    alerter.release(name).then(
      (decided) => alerted(name, decided),
      (error: unknown) => logger.error({ err: error, probe: name }, 'bug: releasing a mute threw'),
    )
  }

  /** What the alerter decided for a probe (after a run, or at a mute's end): the history and the gauges follow. */
  function alerted(name: string, decided: { state: AlertState | undefined; notifications: readonly Notification[] }): void {
    const { state, notifications } = decided
    if (!state) return
    trackIncident(name, state, notifications.find((n) => n.event === 'firing')?.incidentId)
    metrics.setAlertState(name, isFiring(state), consecutiveFailures(state))
  }

  /** The alert state's edges are the incident's: firing opens it in the history, ok again resolves it. */
  function trackIncident(name: string, after: AlertState, id?: string): void {
    if (!history) return
    const open = history.openIncident(name)
    // A new incident while the history still holds an old one open (its resolve was never seen): that one ended.
    if (open && (!isFiring(after) || (id !== undefined && id !== open.id))) history.resolved(name, Date.now())
    if (isFiring(after) && (!open || (id !== undefined && id !== open.id)))
      history.opened(name, id ?? incidentId(name, options.location, after.since), Date.parse(after.since))
  }

  function logRun(result: RunResult, judgement: Judgement): void {
    const fields = {
      probe: result.probe,
      runId: result.runId,
      outcome: judgement.outcome,
      ...(judgement.muted ? { muted: true } : {}),
      durationMs: Math.round(result.durationMs),
    }
    // A pass is logged by the engine at debug; a failure is worth a line at the default level.
    if (result.failure)
      logger.warn(
        { ...fields, step: result.failure.step, reason: result.failure.reason, error: result.failure.message },
        'probe run failed',
      )
  }

  function syncMetrics(next: Active, previous: Active | null): void {
    for (const name of previous?.probes.keys() ?? []) {
      if (!next.probes.has(name)) {
        metrics.removeProbe(name)
        metrics.cleanup.removeProbe(name)
        lastResults.delete(name)
      }
    }
    for (const probe of next.probes.values()) {
      metrics.initProbe(probe)
      metrics.cleanup.initProbe(probe.name, probe.sweep !== undefined)
      const state = alerter?.status(probe.name)
      if (state) metrics.setAlertState(probe.name, isFiring(state), consecutiveFailures(state))
    }
  }

  function statuses() {
    if (!active) return []
    const current = active
    const now = new Date()
    return [...current.probes.values()].map((p) =>
      probeStatus(
        p,
        policyOf(current, p.name),
        lastResults.get(p.name),
        alerter?.status(p.name),
        history?.stats(p.name),
        mutes(p.name, p.labels, now),
      ),
    )
  }

  return {
    metrics,

    async start() {
      const loaded = await load()
      if (!loaded.ok) return { ok: false, errors: loaded.diagnostics.map(formatDiagnostic) }
      const next = activate(loaded.config)
      try {
        server = await startServer({
          ...options.listen,
          registry: metrics.registry,
          isReady: () => ready,
          problems: () => (stateWriteError ? [`alert state not written: ${stateWriteError}`] : []),
          probes: statuses,
          network: network.status,
          history: {
            document: (name, query) => (active?.probes.has(name) ? (history?.document(name, query) ?? null) : null),
            view: (name, count) => (active?.probes.has(name) ? (history?.view(name, count) ?? null) : null),
          },
          logger,
          location: options.location,
          mutes: {
            token: () => active?.config.alerting?.api?.token ?? null,
            store: muteStore,
            probes: () => new Set(active?.config.probes.map((p) => p.name) ?? []),
          },
        })
      } catch (error) {
        await closeChannels(next.channels)
        return { ok: false, errors: [(error as Error).message] }
      }
      // Taken once the address is bound, so that a refused start leaves no state directory behind.
      lock = await lockStateDir(options.stateDir)
      if (lock.kind === 'held') return refuse(next, lock.message)
      if (lock.kind === 'unavailable')
        logger.warn(
          { stateDir: options.stateDir, lockFile: lock.path, reason: lock.reason },
          'cannot lock the state directory; running without the lock',
        )
      const restored = await muteStore.load()
      if (restored.warning)
        logger.warn({ stateDir: options.stateDir, reason: restored.warning }, 'mutes could not be restored; starting without them')
      alerter = createAlerter({
        stateDir: options.stateDir,
        channels: next.channels.channels,
        channelIdentities: next.channels.identities,
        location: options.location,
        logger: logger.child({ component: 'alerting' }),
        onNotification: (channel, event, result, notification) => {
          metrics.recordNotification(channel, event, result)
          history?.notified(notification.probe, notification.incidentId, channel, event, result, Date.now())
        },
        onPending: (pending) => {
          for (const name of active?.channels.channels.keys() ?? next.channels.channels.keys())
            metrics.setPending(name, pending.get(name) ?? 0)
        },
        retry: deps.retry,
        onStateWrite: (error) => {
          if (error) metrics.recordStateWriteFailure()
          stateWriteError = error
        },
      })
      let warnings: string[]
      try {
        ;({ warnings } = await alerter.load())
      } catch (error) {
        if (error instanceof StateUnreadableError) return refuse(next, error.message)
        throw error
      }
      for (const warning of warnings)
        logger.warn({ stateDir: options.stateDir, reason: warning }, 'alert state could not be restored; starting fresh')
      cleanups = createCleanupQueue({
        journal: createJournal({
          stateDir: options.stateDir,
          logger,
          onWrite: (error) => {
            if (error) metrics.recordStateWriteFailure()
          },
        }),
        secrets,
        env: deps.env,
        secretsDir: options.secretsDir === null ? null : path.resolve(deps.cwd ?? process.cwd(), options.secretsDir),
        secretEnv: () => [...(active ?? next).config.secretNames.keys()],
        logger: logger.child({ component: 'cleanup' }),
        retry: deps.cleanupRetry,
        onPending: (counts) => metrics.cleanup.setPending(counts, new Set((active ?? next).probes.keys())),
        onAbandoned: (probe) => metrics.cleanup.recordAbandoned(probe),
      })
      try {
        for (const warning of await cleanups.load())
          logger.warn({ stateDir: options.stateDir, reason: warning }, 'cleanup journal could not be fully restored')
      } catch (error) {
        if (error instanceof StateUnreadableError) return refuse(next, error.message)
        throw error
      }
      await alerter.configure(alertProbes(next))
      history = createHistory({ stateDir: options.stateDir, logger: logger.child({ component: 'history' }) })
      history.configure([...next.probes.keys()])
      // Once read: a history lost or older than the alert state, the incident the state says is open is open.
      void history.whenLoaded().then(() => {
        for (const name of active?.probes.keys() ?? []) {
          const state = alerter?.status(name)
          if (state) trackIncident(name, state)
        }
      })
      active = next
      syncMetrics(next, null)
      cleanups.start()
      metrics.setConfig(next.config.sha256, true)
      scheduler = createScheduler({
        run: runSlot,
        logger,
        onSkipped: (name) => metrics.recordSkipped(name),
        onMissed: (name) => metrics.recordMissed(name),
      })
      scheduler.schedule([...next.probes.values()])
      muteWatch.start()
      sweeper = createSweeper({
        secrets,
        logger,
        onSweep: (report) => {
          metrics.cleanup.recordSweep(report.probe, report.found, report.deleted)
          if (report.error) metrics.cleanup.recordSweepFailure(report.probe)
        },
      })
      sweeper.schedule([...next.probes.values()])
      ready = true
      logger.info(
        {
          probes: next.probes.size,
          channels: next.channels.channels.size,
          sha256: next.config.sha256,
          url: server.url,
          location: options.location,
          shard: options.shard,
          code: RUNNING_CODE,
        },
        'smokeprobe started',
      )
      return { ok: true, url: server.url }
    },

    async reload() {
      const previous = active
      if (!previous || !alerter || !scheduler) return false
      const loaded = await load()
      if (!loaded.ok) {
        for (const d of loaded.diagnostics)
          logger.error({ file: d.file, field: d.path, reason: d.message }, 'configuration rejected; keeping the last good one')
        metrics.setConfig(previous.config.sha256, false)
        return false
      }
      const next = activate(loaded.config, previous)
      // A kept channel is the same object: the alerter neither resumes it nor re-posts its alerts.
      alerter.setChannels(next.channels.channels, next.channels.identities)
      await alerter.configure(alertProbes(next))
      history?.configure([...next.probes.keys()])
      active = next
      syncMetrics(next, previous)
      scheduler.schedule([...next.probes.values()])
      sweeper?.schedule([...next.probes.values()])
      metrics.setConfig(next.config.sha256, true)
      muteWatch.check()
      await closeChannels(previous.channels, next.channels)
      logger.info({ probes: next.probes.size, sha256: next.config.sha256 }, 'configuration reloaded')
      return true
    },

    async stop() {
      ready = false
      muteWatch.stop()
      await scheduler?.stop(deps.runGraceMs ?? 10_000)
      await Promise.all([cleanups?.stop(), sweeper?.stop()])
      if (alerter) {
        await alerter.flush(deps.flushMs ?? 10_000)
        await alerter.close()
      }
      // What is read by now is flushed; a read still going has nothing of its own to write.
      await history?.flush()
      if (active) await closeChannels(active.channels)
      await network.close()
      await server?.close()
      if (lock?.kind === 'locked') await lock.release()
      logger.info('smokeprobe stopped')
    },
  }

  /** Start refused after the server was bound: undo what was set up. The alerter, if any, is dropped unsaved. */
  async function refuse(next: Active, message: string): Promise<StartResult> {
    alerter = null
    cleanups = null
    await closeChannels(next.channels)
    await network.close()
    await server?.close()
    server = null
    if (lock?.kind === 'locked') await lock.release()
    return { ok: false, errors: [message] }
  }
}

function policyOf(active: Active, name: string) {
  const policy = active.config.policies.get(name)
  if (!policy) throw new Error(`bug: no alert policy for probe ${name}`)
  return policy
}
