/**
 * What the daemon calls: the state machine per probe, the state file, and
 * the delivery outbox, wired so that a decision is on disk before anything
 * is sent (SIGKILL between the fifth failure and delivery still delivers
 * after restart, once) and a restart never repeats a page.
 */
import type { AlertPolicy } from '../config/alert-policy.ts'
import type { Judgement } from '../judge/judge.ts'
import type { Logger } from '../log.ts'
import type { RunResult } from '../probe/result.ts'
import type { Channel } from './channel.ts'
import { createDelivery, type DeliveryResult, type OutboxEntry, type RetryPolicy } from './delivery.ts'
import type { Notification, NotificationEvent } from './notification.ts'
import { buildNotification, incidentId, type NotificationSubject } from './notify.ts'
import { type AlertEvent, type AlertState, firingEvent, INITIAL_STATE, isFiring, next, resolve, type Transition, unmuted } from './state.ts'
import { createStore, type PagedChannel, type ProbeRecord, policyHash, type StoredAlerts } from './store.ts'

export interface AlerterDeps {
  readonly stateDir: string
  readonly channels: ReadonlyMap<string, Channel>
  /**
   * Each channel's destination hash (`channelHash` of its config): with its
   * name, the channel's identity for open incidents. Without it channels are
   * told apart by name only.
   */
  readonly channelIdentities?: ReadonlyMap<string, string>
  readonly location: string | null
  readonly logger: Logger
  readonly now?: () => Date
  readonly random?: () => number
  /**
   * Each delivered notification, each failed attempt and each notification given up, per channel:
   * feeds `probe_notifications_total` and the incident's history (who was told).
   */
  readonly onNotification?: (channel: string, event: NotificationEvent, result: DeliveryResult, notification: Notification) => void
  /** The number of undelivered notifications per channel, after every change of the outbox: feeds `probe_notifications_pending`. */
  readonly onPending?: (pending: ReadonlyMap<string, number>) => void
  /** Backoff and give-up bounds; the defaults suit production (tests shorten them). */
  readonly retry?: Partial<RetryPolicy>
  /** After every write of the state file, with its error or null: feeds `probe_state_write_failures_total` and `/readyz`. */
  readonly onStateWrite?: (error: string | null) => void
}

export interface AlertProbe {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly policy: AlertPolicy
  /** What the probe checks and what to do when it fails: told to the person paged. */
  readonly description?: string
  readonly runbook?: string
}

export interface Alerter {
  /** Restores state and outbox from the state dir, tells level-triggered channels what still fires, resumes delivery. Call before `configure`. */
  load(): Promise<{ warnings: string[] }>
  /** On start and on reload. A probe removed while firing is resolved; a channel added to a firing probe is paged. */
  configure(probes: readonly AlertProbe[]): Promise<void>
  /**
   * On reload, before `configure`: the caller closes the channels it replaced.
   * A channel whose destination changed (another routing key or URL) resolves
   * its open incidents on the old destination now; `configure` then pages the
   * new one.
   */
  setChannels(channels: ReadonlyMap<string, Channel>, channelIdentities?: ReadonlyMap<string, string>): void
  /**
   * One finished run: decides, persists, then hands the notifications (one
   * per event) to delivery. `judgement` is the judge stage's verdict on the
   * run (src/judge/); without one the run counts as its raw outcome, unmuted,
   * which is what the judge decides when no canaries, windows or mutes are
   * configured.
   *
   * `slot` is the scheduled slot the run was started for. A failed run's
   * slot, not its start on this process's clock, opens the incident and so
   * names it: two replicas of one location run the same slots, so they open
   * the same incident id (and PagerDuty `dedup_key`, webhook
   * `Idempotency-Key`) and the receiver deduplicates. Without a slot (a
   * caller outside the scheduler), the run's start.
   */
  record(result: RunResult, judgement?: Judgement, slot?: Date): Promise<{ state: AlertState; notifications: Notification[] }>
  /**
   * The mute over `probe` ended: decides what it held back (a firing with
   * the real count, a resolve, a due reminder) now, not at the next run.
   */
  release(probe: string): Promise<{ state: AlertState | undefined; notifications: Notification[] }>
  status(probe: string): AlertState | undefined
  /** For shutdown: deliver what falls due within `deadlineMs`, persist the rest. */
  flush(deadlineMs: number): Promise<void>
  close(): Promise<void>
}

/** The description and runbook, each only when given (the state file has no `undefined`). */
function about(from: { readonly description?: string; readonly runbook?: string }): { description?: string; runbook?: string } {
  return {
    ...(from.description === undefined ? {} : { description: from.description }),
    ...(from.runbook === undefined ? {} : { runbook: from.runbook }),
  }
}

export function createAlerter(deps: AlerterDeps): Alerter {
  const now = deps.now ?? (() => new Date())
  const { logger, location } = deps
  const store = createStore(deps.stateDir, { onWrite: deps.onStateWrite, logger })
  const records = new Map<string, ProbeRecord>()
  let channels = deps.channels
  let identities: ReadonlyMap<string, string> = deps.channelIdentities ?? new Map()

  const delivery = createDelivery({
    channels,
    identities,
    logger,
    persist: () => void save(),
    onResult: deps.onNotification,
    onDrop: (entry, reason) => unpage(entry, reason),
    // The outbox's owner counts what is pending, on every change of it.
    onPending: deps.onPending,
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
    if (!record || incidentOf(notification.probe, record) !== notification.incidentId) return
    const paged = record.paged.filter(
      (p) => !(p.name === channel && (p.hash === null || entry.identity === null || p.hash === entry.identity)),
    )
    if (paged.length === record.paged.length) return
    records.set(notification.probe, { ...record, paged })
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

  /**
   * A failed write is logged once per distinct cause (by the store); the
   * state stays in memory and the next change retries.
   */
  async function save(): Promise<void> {
    const data = snapshot()
    await store.save(data)
  }

  /** An open incident is told under the location it fired under, even if `--location` changed since. */
  function subject(name: string, record: ProbeRecord): NotificationSubject {
    return {
      probe: name,
      location: record.incidentLocation === undefined ? location : record.incidentLocation,
      labels: record.labels,
      ...about(record),
    }
  }

  /**
   * Queues the event for the channels `to`, and returns its notification, or
   * null when `sendResolved: false` leaves nobody to tell of a resolve.
   */
  function send(event: AlertEvent, name: string, record: ProbeRecord, to: readonly PagedChannel[]): Notification | null {
    const recipients = event.event === 'resolved' ? resolveRecipients(record.policy, to) : to
    if (event.event === 'resolved' && recipients.length === 0 && to.length > 0) return null
    const notification = buildNotification(event, subject(name, record), record.incidentId)
    // Each to the destination it paged: never to another one configured under the same name since.
    for (const channel of recipients) delivery.enqueue(channel.name, notification, channel.hash)
    return notification
  }

  /** The channels named, each at its current destination. */
  function atCurrent(names: readonly string[]): PagedChannel[] {
    return names.map((name) => ({ name, hash: identities.get(name) ?? null }))
  }

  /**
   * Level-triggered channels are always told an incident ended, or they keep
   * it firing; `sendResolved` decides for the edge-triggered ones only
   * (README "Alerting").
   */
  function resolveRecipients(policy: AlertPolicy, to: readonly PagedChannel[]): readonly PagedChannel[] {
    if (policy.sendResolved) return to
    return to.filter((channel) => channels.get(channel.name)?.levelTriggered === true)
  }

  /** Level-triggered channels re-send what fires on their own; at start they must be told what that is. */
  function resume(name: string, channel: Channel): void {
    if (!channel.resume) return
    const firing: Notification[] = []
    for (const [probe, record] of records) {
      const event = firingEvent(record.state, now())
      if (event && record.paged.some((p) => p.name === name))
        firing.push(buildNotification(event, subject(probe, record), record.incidentId))
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
    const { description: _d, runbook: _r, ...kept } = record
    const updated: ProbeRecord = { ...kept, policy: probe.policy, policyHash: hash, labels: { ...probe.labels }, ...about(probe) }
    if (hash !== record.policyHash && record.state.kind !== 'ok') {
      logger.info({ probe: probe.name, state: record.state.kind }, 'alert policy changed mid-incident; keeping the incident')
    }
    const firing = firingEvent(record.state, now())
    if (!firing) return updated
    const paged = reachable(probe.name, record.paged)
    const added = atCurrent(probe.policy.channels.filter((name) => !paged.some((p) => p.name === name)))
    const dropped = paged.filter((p) => !probe.policy.channels.includes(p.name))
    if (added.length > 0) send(firing, probe.name, updated, added)
    if (dropped.length > 0) for (const event of resolve(record.state, now()).events) send(event, probe.name, updated, dropped)
    return { ...updated, paged: [...paged.filter((p) => probe.policy.channels.includes(p.name)), ...added] }
  }

  /**
   * The paged channels whose destination is still the one paged. An unknown
   * hash (a state file from before hashes were stored) is taken to be the
   * current destination: re-paging every open incident on upgrade would be a
   * duplicate page, and a destination changed exactly then is unlikely. A
   * destination that changed while the daemon was down can no longer be
   * reached to be told the incident ended; the channel counts as not paged,
   * so its new destination gets the firing.
   */
  function reachable(probe: string, paged: readonly PagedChannel[]): PagedChannel[] {
    const kept: PagedChannel[] = []
    for (const p of paged) {
      const hash = identities.get(p.name) ?? null
      if (p.hash === null || hash === null || p.hash === hash) kept.push({ name: p.name, hash: hash ?? p.hash })
      else
        logger.warn(
          { probe, channel: p.name },
          'channel destination changed while the daemon was down; the old one is not told the incident ended, the new one is paged',
        )
    }
    return kept
  }

  /**
   * Before a reload swaps channels: every open incident paged on a channel
   * whose destination changes (or that goes away) is resolved on the old
   * destination while it can still be reached, and stops counting as paged
   * there, so `configure` pages the new destination with the firing. The
   * resolve follows sendResolved like any other.
   */
  function moveDestinations(nextChannels: ReadonlyMap<string, Channel>, next: ReadonlyMap<string, string>): boolean {
    // A channel still configured whose new destination is unknown (no hash given) is not taken to have moved.
    const moves = (p: PagedChannel) =>
      p.hash !== null && identities.get(p.name) === p.hash && next.get(p.name) !== p.hash && (next.has(p.name) || !nextChannels.has(p.name))
    let moved = false
    for (const [name, record] of records) {
      if (!isFiring(record.state)) continue
      const leaving = record.paged.filter(moves)
      if (leaving.length === 0) continue
      logger.info(
        { probe: name, channels: leaving.map((p) => p.name) },
        'channel destination changed mid-incident; resolving it on the old one',
      )
      for (const event of resolve(record.state, now()).events) send(event, name, record, leaving)
      records.set(name, { ...record, paged: record.paged.filter((p) => !leaving.includes(p)) })
      moved = true
    }
    return moved
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
                ...about(probe),
                paged: [],
                state: INITIAL_STATE,
                incidentId: null,
              },
        )
      }
      await save()
      delivery.kick()
    },

    setChannels(nextChannels, channelIdentities) {
      const previous = channels
      const nextIdentities = channelIdentities ?? new Map<string, string>()
      // Queued while the old destinations are still the current ones; delivery keeps them reachable for it.
      const moved = moveDestinations(nextChannels, nextIdentities)
      channels = nextChannels
      identities = nextIdentities
      delivery.setChannels(nextChannels, nextIdentities)
      for (const [name, channel] of nextChannels) if (previous.get(name) !== channel) resume(name, channel)
      // On disk before any attempt, as every decision.
      if (moved) void save().then(() => delivery.kick())
    },

    async record(result, judgement = { outcome: result.outcome, muted: false }, slot) {
      const record = records.get(result.probe)
      // A run that finishes after a reload removed its probe: the probe is already retired.
      if (!record) return { state: INITIAL_STATE, notifications: [] }
      const at = now()
      const started = new Date(result.startedAt)
      const run = {
        outcome: judgement.outcome,
        muted: judgement.muted,
        failure: result.failure,
        at: slot ?? (Number.isNaN(started.getTime()) ? at : started),
      }
      return apply(result.probe, record, next(record.state, run, record.policy, at), at, judgement.muted)
    },

    async release(probe) {
      const record = records.get(probe)
      if (!record) return { state: undefined, notifications: [] }
      const at = now()
      return apply(probe, record, unmuted(record.state, record.policy, at), at, false)
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

  /** A decision of the state machine: recorded, on disk, then handed to delivery. */
  async function apply(
    probe: string,
    record: ProbeRecord,
    { state, events }: Transition,
    at: Date,
    muted: boolean,
  ): Promise<{ state: AlertState; notifications: Notification[] }> {
    if (state === record.state && events.length === 0) return { state, notifications: [] }
    // The firing pages the policy's channels; reminders and the resolve go to exactly those.
    const opened = events.find((event) => event.event === 'firing')
    let paged = opened ? atCurrent(record.policy.channels) : record.paged
    // The id is fixed when the incident opens: its reminders and resolve carry it unchanged.
    const incident = opened ? incidentId(probe, location, opened.since) : record.incidentId
    const incidentLocation = opened ? location : record.incidentLocation
    const deciding = { ...record, incidentId: incident, incidentLocation }
    const notifications = events.flatMap((event) => send(event, probe, deciding, paged) ?? [])
    // Still failing, and a channel of the policy lost its page (its firing was dropped): page it again,
    // unless muted (that page waits for the first failure after the mute, as every other).
    const unpaged =
      state.kind === 'firing' && !opened && !muted
        ? atCurrent(record.policy.channels.filter((name) => !paged.some((p) => p.name === name)))
        : []
    const again = unpaged.length > 0 ? firingEvent(state, at) : null
    if (again) {
      logger.info({ probe: probe, channels: unpaged.map((p) => p.name) }, 'paging again the channels whose firing was not delivered')
      const notification = send(again, probe, deciding, unpaged)
      if (notification) notifications.push(notification)
      paged = [...paged, ...unpaged]
    }
    const open = isFiring(state)
    const { incidentLocation: _closed, ...rest } = record
    records.set(
      probe,
      open ? { ...rest, state, paged, incidentId: incident, incidentLocation } : { ...rest, state, paged: [], incidentId: null },
    )
    // On disk before any attempt: a crash from here on redelivers after restart.
    await save()
    delivery.kick()
    return { state, notifications }
  }
}
