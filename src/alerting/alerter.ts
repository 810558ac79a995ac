/**
 * What the daemon calls: the state machine per probe, the state file, and
 * the delivery outbox, wired so that a decision is on disk before anything
 * is sent (SIGKILL between the fifth failure and delivery still delivers
 * after restart, once) and a restart never repeats a page.
 */
import type { AlertPolicy } from '../config/alert-policy.ts'
import type { Logger } from '../log.ts'
import type { RunResult } from '../probe/result.ts'
import type { Channel } from './channel.ts'
import { createDelivery, type DeliveryResult, type OutboxEntry, type RetryPolicy } from './delivery.ts'
import type { Notification, NotificationEvent } from './notification.ts'
import { buildNotification, incidentId, type NotificationSubject } from './notify.ts'
import { type AlertEvent, type AlertState, firingEvent, INITIAL_STATE, isFiring, next, resolve } from './state.ts'
import { createStore, type ProbeRecord, policyHash, type StoredAlerts } from './store.ts'

export interface AlerterDeps {
  readonly stateDir: string
  readonly channels: ReadonlyMap<string, Channel>
  /** Per-attempt timeout of each channel in ms (its `timeout` in alerting.yaml). */
  readonly channelTimeouts: ReadonlyMap<string, number>
  readonly location: string | null
  readonly logger: Logger
  readonly now?: () => Date
  readonly random?: () => number
  /** Each delivered notification, each failed attempt and each notification given up, per channel: feeds `probe_notifications_total`. */
  readonly onNotification?: (channel: string, event: NotificationEvent, result: DeliveryResult) => void
  /** The number of undelivered notifications per channel, after every change of the outbox: feeds `probe_notifications_pending`. */
  readonly onPending?: (pending: ReadonlyMap<string, number>) => void
  /** Backoff and give-up bounds; the defaults suit production (tests shorten them). */
  readonly retry?: Partial<RetryPolicy>
}

export interface AlertProbe {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly policy: AlertPolicy
}

export interface Alerter {
  /** Restores state and outbox from the state dir, tells level-triggered channels what still fires, resumes delivery. Call before `configure`. */
  load(): Promise<{ warnings: string[] }>
  /** On start and on reload. A probe removed while firing is resolved; a channel added to a firing probe is paged. */
  configure(probes: readonly AlertProbe[]): Promise<void>
  /** On reload: the caller closes the channels it replaced. */
  setChannels(channels: ReadonlyMap<string, Channel>, channelTimeouts: ReadonlyMap<string, number>): void
  /** One finished run: decides, persists, then hands the notifications (one per event) to delivery. */
  record(result: RunResult): Promise<{ state: AlertState; notifications: Notification[] }>
  status(probe: string): AlertState | undefined
  /** For shutdown: deliver what falls due within `deadlineMs`, persist the rest. */
  flush(deadlineMs: number): Promise<void>
  close(): Promise<void>
}

export function createAlerter(deps: AlerterDeps): Alerter {
  const now = deps.now ?? (() => new Date())
  const { logger, location } = deps
  const store = createStore(deps.stateDir)
  const records = new Map<string, ProbeRecord>()
  let channels = deps.channels
  let lastSaveError: string | null = null

  const delivery = createDelivery({
    channels,
    timeouts: deps.channelTimeouts,
    logger,
    persist: () => void save(),
    onResult: deps.onNotification,
    onDrop: (entry, reason) => unpage(entry, reason),
    now: () => now().getTime(),
    random: deps.random,
    retry: deps.retry,
  })

  /**
   * A firing given up (a 4xx such as a bad routing key, or 24 h undelivered)
   * did not page that channel: if it still counted as paged, fixing the key
   * and reloading would never page the incident (PagerDuty gets no
   * reminders). So the channel is un-marked, and the next failed run or
   * reload pages it again.
   */
  function unpage(entry: OutboxEntry, reason: string): void {
    const { notification, channel } = entry
    if (notification.event !== 'firing') return
    const record = records.get(notification.probe)
    if (!record || !isFiring(record.state) || !record.paged.includes(channel)) return
    if (incidentOf(notification.probe, record) !== notification.incidentId) return
    records.set(notification.probe, { ...record, paged: record.paged.filter((name) => name !== channel) })
    logger.error(
      { channel, probe: notification.probe, incidentId: notification.incidentId, reason },
      'firing not delivered; the channel is paged again on the next failed run or reload',
    )
  }

  function incidentOf(name: string, record: ProbeRecord): string | null {
    if (!isFiring(record.state)) return null
    return record.incidentId ?? incidentId(name, location, record.state.since)
  }

  function snapshot(): StoredAlerts {
    return { probes: Object.fromEntries(records), outbox: delivery.entries() }
  }

  /** A failed write is logged once per distinct error; the state stays in memory and the next change retries. */
  async function save(): Promise<void> {
    const data = snapshot()
    if (deps.onPending) {
      const pending = new Map<string, number>()
      for (const entry of data.outbox) pending.set(entry.channel, (pending.get(entry.channel) ?? 0) + 1)
      deps.onPending(pending)
    }
    const { error } = await store.save(data)
    if (error === lastSaveError) return
    if (error) logger.error({ path: store.path, reason: error }, 'cannot write alert state')
    else logger.info({ path: store.path }, 'alert state written again')
    lastSaveError = error
  }

  function subject(name: string, record: ProbeRecord): NotificationSubject {
    return { probe: name, location, labels: record.labels }
  }

  /**
   * Queues the event for the channels `to`, and returns its notification, or
   * null when `sendResolved: false` leaves nobody to tell of a resolve.
   */
  function send(event: AlertEvent, name: string, record: ProbeRecord, to: readonly string[]): Notification | null {
    const recipients = event.event === 'resolved' ? resolveRecipients(record.policy, to) : to
    if (event.event === 'resolved' && recipients.length === 0 && to.length > 0) return null
    const notification = buildNotification(event, subject(name, record), record.incidentId)
    for (const channel of recipients) delivery.enqueue(channel, notification)
    return notification
  }

  /**
   * Level-triggered channels are always told an incident ended, or they keep
   * it firing; `sendResolved` decides for the edge-triggered ones only
   * (README "Alerting").
   */
  function resolveRecipients(policy: AlertPolicy, to: readonly string[]): readonly string[] {
    if (policy.sendResolved) return to
    return to.filter((channel) => channels.get(channel)?.levelTriggered === true)
  }

  /** Level-triggered channels re-send what fires on their own; at start they must be told what that is. */
  function resume(name: string, channel: Channel): void {
    if (!channel.resume) return
    const firing: Notification[] = []
    for (const [probe, record] of records) {
      const event = firingEvent(record.state, now())
      if (event && record.paged.includes(name)) firing.push(buildNotification(event, subject(probe, record), record.incidentId))
    }
    channel.resume(firing)
  }

  /** The probe left the configuration: its open incident must not stay open on the channels forever. */
  function retire(name: string, record: ProbeRecord): void {
    if (isFiring(record.state)) logger.info({ probe: name }, 'probe removed while firing; resolving its alert')
    for (const event of resolve(record.state, now()).events) send(event, name, record, record.paged)
    records.delete(name)
  }

  /**
   * The policy changed (or the file did, across a restart). The incident is
   * kept and the new thresholds apply from the next run; only the channel
   * list needs action, so that every channel that gets a resolve got the
   * firing: a newly listed channel is paged now, a dropped one is resolved.
   */
  function reconfigure(probe: AlertProbe, record: ProbeRecord): ProbeRecord {
    const hash = policyHash(probe.policy)
    const updated: ProbeRecord = { ...record, policy: probe.policy, policyHash: hash, labels: { ...probe.labels } }
    if (hash !== record.policyHash && record.state.kind !== 'ok') {
      logger.info({ probe: probe.name, state: record.state.kind }, 'alert policy changed mid-incident; keeping the incident')
    }
    const firing = firingEvent(record.state, now())
    if (!firing) return updated
    const added = probe.policy.channels.filter((channel) => !record.paged.includes(channel))
    const dropped = record.paged.filter((channel) => !probe.policy.channels.includes(channel))
    if (added.length > 0) send(firing, probe.name, updated, added)
    if (dropped.length > 0) for (const event of resolve(record.state, now()).events) send(event, probe.name, updated, dropped)
    return { ...updated, paged: [...probe.policy.channels] }
  }

  return {
    async load() {
      const { data, warning } = await store.load()
      for (const [name, record] of Object.entries(data.probes)) {
        // A state file from before the incident id was stored: derive it once, as at the
        // firing, and keep it from now on.
        const since = isFiring(record.state) ? record.state.since : null
        records.set(name, since && !record.incidentId ? { ...record, incidentId: incidentId(name, location, since) } : record)
      }
      delivery.restore(data.outbox)
      for (const [name, channel] of channels) resume(name, channel)
      delivery.kick()
      return { warnings: warning ? [warning] : [] }
    },

    async configure(probes) {
      const wanted = new Set(probes.map((probe) => probe.name))
      for (const [name, record] of records) if (!wanted.has(name)) retire(name, record)
      for (const probe of probes) {
        const record = records.get(probe.name)
        records.set(
          probe.name,
          record
            ? reconfigure(probe, record)
            : {
                policy: probe.policy,
                policyHash: policyHash(probe.policy),
                labels: { ...probe.labels },
                paged: [],
                state: INITIAL_STATE,
                incidentId: null,
              },
        )
      }
      await save()
      delivery.kick()
    },

    setChannels(nextChannels, channelTimeouts) {
      const previous = channels
      channels = nextChannels
      delivery.setChannels(nextChannels, channelTimeouts)
      for (const [name, channel] of nextChannels) if (previous.get(name) !== channel) resume(name, channel)
    },

    async record(result) {
      const record = records.get(result.probe)
      // A run that finishes after a reload removed its probe: the probe is already retired.
      if (!record) return { state: INITIAL_STATE, notifications: [] }
      const at = now()
      const started = new Date(result.startedAt)
      const run = { outcome: result.outcome, failure: result.failure, at: Number.isNaN(started.getTime()) ? at : started }
      const { state, events } = next(record.state, run, record.policy, at)
      if (state === record.state && events.length === 0) return { state, notifications: [] }
      // The firing pages the policy's channels; reminders and the resolve go to exactly those.
      const opened = events.find((event) => event.event === 'firing')
      let paged = opened ? [...record.policy.channels] : record.paged
      // The id is fixed when the incident opens: its reminders and resolve carry it unchanged.
      const incident = opened ? incidentId(result.probe, location, opened.since) : record.incidentId
      const current = { ...record, incidentId: incident }
      const notifications = events.flatMap((event) => send(event, result.probe, current, paged) ?? [])
      // Still failing, and a channel of the policy lost its page (its firing was dropped): page it again.
      const unpaged = state.kind === 'firing' && !opened ? record.policy.channels.filter((name) => !paged.includes(name)) : []
      const again = unpaged.length > 0 ? firingEvent(state, at) : null
      if (again) {
        logger.info({ probe: result.probe, channels: unpaged }, 'paging again the channels whose firing was not delivered')
        const notification = send(again, result.probe, current, unpaged)
        if (notification) notifications.push(notification)
        paged = [...paged, ...unpaged]
      }
      const open = isFiring(state)
      records.set(result.probe, { ...record, state, paged: open ? paged : [], incidentId: open ? incident : null })
      // On disk before any attempt: a crash from here on redelivers after restart.
      await save()
      delivery.kick()
      return { state, notifications }
    },

    status: (probe) => records.get(probe)?.state,

    async flush(deadlineMs) {
      await delivery.flush(deadlineMs)
      await save()
    },

    async close() {
      await delivery.close()
      await save()
    },
  }
}
