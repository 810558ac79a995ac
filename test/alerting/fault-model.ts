/**
 * The promise of the alerter as a small pure reference, and the oracle that
 * holds the receivers' records against it. Nothing here knows how the alerter
 * works: no state file, no outbox, no incident-id formula.
 *
 * The reference: per probe, consecutive failed runs open an incident (named by
 * probe and the start time of its first failed run) when they reach the
 * probe's failureThreshold *as configured at that run*; successThreshold
 * passes in a row close it, as does removing the probe. While it is open, each
 * receiving service (a channel name with its current config: `pd#a` is the
 * PagerDuty channel with routing key a) listed for the probe has an
 * *episode*: it begins when the incident opens or the service becomes listed
 * (a channel added, or a channel's config changed to point at it), and ends
 * when the incident closes or the service stops being listed, owing a resolve
 * iff sendResolved held then. Crashes and channel faults change nothing here:
 * they are what the promise must survive.
 */
import type { DaemonConfig } from './fault-adapter.ts'
import {
  type AmAlert,
  CHANNEL_NAMES,
  type ChannelName,
  DATA_SECRET,
  type Delivery,
  HOOK_TOKENS,
  MAX_REQUESTS,
  ROUTING_KEYS,
  type World,
} from './fault-world.ts'

export interface Episode {
  readonly service: string
  readonly channel: ChannelName
  ended: { readonly resolve: boolean } | null
  /** The step it began at. */
  readonly began: number
}

export interface Incident {
  readonly probe: string
  readonly since: string
  readonly episodes: Episode[]
  open: boolean
}

interface ProbeState {
  fails: number
  passes: number
  streakSince: string | null
  incident: Incident | null
}

export function serviceOf(channel: ChannelName, config: DaemonConfig): string {
  return channel === 'am' ? 'am' : `${channel}#${config.variants[channel]}`
}

export class Model {
  readonly incidents: Incident[] = []
  /** Steps at which the daemon was killed before the previous step's effects were persisted. */
  readonly earlyCrashes: number[] = []
  readonly #crashes: { readonly step: number; readonly services: ReadonlySet<string> }[] = []
  /** Reloads that pointed a channel at another destination. */
  readonly #moves: { readonly channel: ChannelName; readonly step: number }[] = []
  /** The step being played; the test sets it. */
  step = 0
  /** Steps at which a channel's endpoint stopped answering normally (down, throttling, rejecting). */
  readonly #faults = new Map<ChannelName, { from: number; to: number }[]>()
  readonly #probes = new Map<string, ProbeState>()
  #config: DaemonConfig

  constructor(config: DaemonConfig) {
    this.#config = config
    for (const name of config.present) this.#probes.set(name, fresh())
  }

  get config(): DaemonConfig {
    return this.#config
  }

  run(probe: string, pass: boolean, at: string): void {
    const state = this.#probes.get(probe)
    const policy = this.#config.probes[probe]
    if (!state || !policy || !this.#config.present.includes(probe)) return
    if (pass) {
      state.fails = 0
      state.streakSince = null
      if (!state.incident) return
      state.passes++
      if (state.passes >= policy.successThreshold) this.#close(state, policy.sendResolved)
      return
    }
    state.passes = 0
    state.fails++
    if (state.incident) return
    state.streakSince ??= at
    if (state.fails < policy.failureThreshold) return
    const incident: Incident = { probe, since: state.streakSince, episodes: [], open: true }
    for (const channel of policy.channels) incident.episodes.push({ service: serviceOf(channel, this.#config), channel, ended: null, began: this.step })
    state.incident = incident
    this.incidents.push(incident)
  }

  /** A channel's endpoint answers as `up` says from `step` on. */
  mode(channel: ChannelName, up: boolean, step: number): void {
    const spans = this.#faults.get(channel) ?? []
    const open = spans.at(-1)
    if (open && open.to === Number.POSITIVE_INFINITY) {
      if (up) open.to = step
    } else if (!up) spans.push({ from: step, to: Number.POSITIVE_INFINITY })
    this.#faults.set(channel, spans)
  }

  /**
   * An episode on a destination that a reload replaced, whose notifications
   * may not have left before a crash: only the process that loaded the old
   * destination's routing key or URL can reach it (the state file keeps just
   * its hash, by design), so after the restart whatever is still queued for
   * it is lost ("the old destination gets the resolve when reachable").
   * Something can be still queued only if the channel was faulty between the
   * episode's start and the crash, or the crash came right after the move,
   * before that step's notifications were sent.
   */
  stranded(episode: Episode): boolean {
    const { channel, service, began } = episode
    const faulty = (until: number) => (this.#faults.get(channel) ?? []).some((span) => span.from <= until && span.to > began)
    const movedJustBefore = (step: number) => this.#moves.some((move) => move.channel === channel && move.step === step - 1)
    return this.#crashes.some(
      (crash) =>
        crash.step > began &&
        !crash.services.has(service) &&
        (faulty(crash.step) || (this.earlyCrashes.includes(crash.step) && movedJustBefore(crash.step))),
    )
  }

  reload(next: DaemonConfig): void {
    const before = this.#config
    for (const channel of ['pd', 'hook'] as const)
      if (next.variants[channel] !== before.variants[channel]) this.#moves.push({ channel, step: this.step })
    for (const name of before.present) {
      const state = this.#probes.get(name)
      if (!next.present.includes(name)) {
        if (state) this.#close(state, before.probes[name]?.sendResolved ?? true)
        this.#probes.delete(name)
      }
    }
    for (const name of next.present) {
      if (!this.#probes.has(name)) this.#probes.set(name, fresh())
      const incident = this.#probes.get(name)?.incident
      const policy = next.probes[name]
      if (!incident || !policy) continue
      const wanted = new Map(policy.channels.map((channel) => [serviceOf(channel, next), channel]))
      for (const episode of incident.episodes) {
        if (episode.ended || wanted.has(episode.service)) continue
        // A dropped channel is resolved under the policy it was paged by.
        episode.ended = { resolve: before.probes[name]?.sendResolved ?? true }
      }
      for (const [service, channel] of wanted) {
        if (!incident.episodes.some((episode) => episode.service === service && !episode.ended)) {
          incident.episodes.push({ service, channel, ended: null, began: this.step })
        }
      }
    }
    this.#config = next
  }

  crash(step: number, early: boolean, location: string | null): void {
    this.#crashes.push({ step, services: new Set(CHANNEL_NAMES.map((channel) => serviceOf(channel, this.#config))) })
    if (early) this.earlyCrashes.push(step)
    this.#config = { ...this.#config, location }
  }

  openIncidents(): Incident[] {
    return this.incidents.filter((incident) => incident.open)
  }

  #close(state: ProbeState, sendResolved: boolean): void {
    const incident = state.incident
    if (incident) {
      incident.open = false
      for (const episode of incident.episodes) episode.ended ??= { resolve: sendResolved }
    }
    Object.assign(state, fresh())
  }
}

function fresh(): ProbeState {
  return { fails: 0, passes: 0, streakSince: null, incident: null }
}

// --------------------------------------------------------------------- oracle

const name = (incident: Incident) => `${incident.probe}@${incident.since}`

/**
 * Checkpoint A, once every channel is healthy again and the configuration
 * was reloaded: every service with an open episode currently has the
 * incident firing (its last delivered event for it is a firing; for
 * Alertmanager, the alert is active).
 */
export function checkOpen(model: Model, world: World, now: number): string[] {
  const violations: string[] = []
  const sequences = attribute(model, world, [])
  for (const incident of model.openIncidents()) {
    for (const episode of incident.episodes) {
      if (episode.ended) continue
      if (episode.channel === 'am') {
        const active = [...world.am.values()].some(
          (alert) => alert.probe === incident.probe && alert.startsAt === incident.since && Date.parse(alert.endsAt) > now,
        )
        if (!active) violations.push(`am: incident ${name(incident)} is open but its alert is not active in Alertmanager`)
        continue
      }
      const events = sequences.get(`${episode.service} ${name(incident)}`) ?? []
      const last = events.filter((event) => event.event !== 'reminder').at(-1)
      if (last?.event !== 'firing') {
        violations.push(
          `${episode.service}: incident ${name(incident)} is open and the channel healthy, but its last delivered event is ${last?.event ?? 'nothing'}`,
        )
      }
    }
  }
  return violations
}

/** Checkpoint B, a while after every incident ended: Alertmanager holds no active alert. */
export function checkClosed(world: World, now: number): string[] {
  return [...world.am.values()]
    .filter((alert) => Date.parse(alert.endsAt) > now)
    .map((alert) => `am: alert for ${alert.probe}@${alert.startsAt} still active after every incident ended (endsAt ${alert.endsAt})`)
}

/** The rules on everything delivered, after the final drain. */
export function checkDeliveries(model: Model, world: World): string[] {
  const violations: string[] = []
  const sequences = attribute(model, world, violations)
  checkAmIdentity(model, world, violations)
  for (const incident of model.incidents) {
    const services = new Set([...incident.episodes.map((episode) => episode.service)])
    for (const key of sequences.keys()) if (key.endsWith(` ${name(incident)}`)) services.add(key.split(' ')[0] ?? '')
    services.delete('am')
    for (const service of services)
      checkSequence(model, world, incident, service, sequences.get(`${service} ${name(incident)}`) ?? [], violations)
  }
  checkSecrets(world, violations)
  if (world.requests > MAX_REQUESTS) violations.push(`runaway delivery: more than ${MAX_REQUESTS} requests in one timeline`)
  return violations
}

/**
 * Each delivery to the incident it belongs to: by probe and incident start
 * where the payload says them, else (a PagerDuty resolve) by its dedup_key
 * as delivered with a trigger. Reports deliveries that belong to no incident
 * and incidents delivered under more than one key.
 */
function attribute(model: Model, world: World, violations: string[]): Map<string, Delivery[]> {
  const byStart = new Map(model.incidents.map((incident) => [name(incident), incident]))
  const keyOf = new Map<Incident, string>()
  const incidentOfKey = new Map<string, Incident>()
  const sequences = new Map<string, Delivery[]>()
  for (const delivery of world.deliveries) {
    let incident: Incident | undefined
    if (delivery.probe !== null && delivery.since !== null) {
      incident = byStart.get(`${delivery.probe}@${delivery.since}`)
      if (!incident) {
        violations.push(
          `${delivery.service}: ${delivery.event} for ${delivery.probe}@${delivery.since} (step ${delivery.step}), but no incident of that probe started then (threshold never reached)`,
        )
        continue
      }
      const known = keyOf.get(incident)
      if (known === undefined) keyOf.set(incident, delivery.key)
      else if (known !== delivery.key) {
        violations.push(
          `${delivery.service}: ${delivery.event} of ${name(incident)} (step ${delivery.step}) carries id ${delivery.key}, earlier deliveries carried ${known}`,
        )
      }
      incidentOfKey.set(delivery.key, incident)
    } else {
      incident = incidentOfKey.get(delivery.key)
      if (!incident) {
        violations.push(
          `${delivery.service}: ${delivery.event} with id ${delivery.key} (step ${delivery.step}) for an incident no service was ever paged for`,
        )
        continue
      }
    }
    const key = `${delivery.service} ${name(incident)}`
    sequences.set(key, [...(sequences.get(key) ?? []), delivery])
  }
  return sequences
}

/** One service, one incident: firing, (reminders,) resolve, and again only if the service was listed again. */
function checkSequence(model: Model, world: World, incident: Incident, service: string, events: Delivery[], violations: string[]): void {
  const episodes = incident.episodes.filter((episode) => episode.service === service)
  const owedResolves = episodes.filter((episode) => episode.ended?.resolve).length
  const refused = (event: string) =>
    world.rejected.some(
      (r) =>
        r.service === service &&
        r.event === event &&
        (r.key === events[0]?.key || (r.probe === incident.probe && r.since === incident.since)),
    )
  const where = `${service}: incident ${name(incident)}`
  let state: 'none' | 'firing' | 'resolved' = 'none'
  let last: Delivery | null = null
  let firings = 0
  let resolves = 0
  for (const event of events) {
    if (event.event === 'reminder') {
      if (state !== 'firing') violations.push(`${where}: reminder at step ${event.step} while the service has it ${state}`)
      continue
    }
    const target = event.event === 'firing' ? 'firing' : 'resolved'
    // A service dropped without a resolve (sendResolved off, or the resolve refused with a 4xx) and
    // listed again is paged again: a second episode, not a duplicate.
    const repaged =
      target === 'firing' &&
      state === 'firing' &&
      firings < episodes.length &&
      (episodes.some((e) => e.ended && !e.ended.resolve) || refused('resolved'))
    if (state === target && !repaged) {
      // The same event twice: at-least-once delivery allows it only across a
      // crash that came before the first delivery's outcome was persisted.
      const excused = last !== null && model.earlyCrashes.some((step) => step >= (last as Delivery).step && step <= event.step)
      if (!excused) violations.push(`${where}: ${target} delivered twice in a row (steps ${last?.step} and ${event.step})`)
      last = event
      continue
    }
    if (target === 'resolved' && state === 'none')
      violations.push(`${where}: resolve at step ${event.step}, but this service never got the firing`)
    if (target === 'firing') firings++
    else resolves++
    state = target
    last = event
  }
  const stranded = episodes.some((episode) => model.stranded(episode))
  const excused = refused('firing') || refused('resolved') || stranded
  // Each listing may page again, but need not: a resolve and a re-page still
  // queued together cancel out (both carry the incident's ids, which an
  // idempotent receiver would drop as repeats anyway), and the receiver sees
  // one firing and one resolve for that stretch. So the episodes bound the
  // counts from above, and the last episode decides how the service ends.
  if (firings > episodes.length || (firings === 0 && episodes.length > 0 && !excused)) {
    violations.push(
      `${where}: ${firings} firing(s) delivered, ${episodes.length} owed (the service was listed ${episodes.length} time(s) while it was open)`,
    )
  }
  if (resolves > owedResolves) violations.push(`${where}: ${resolves} resolve(s) delivered, at most ${owedResolves} owed`)
  const ending = episodes.at(-1)?.ended
  if (ending?.resolve && state !== 'resolved' && !excused)
    violations.push(`${where}: its last episode owes a resolve, but the service has it ${state} (${resolves} of ${owedResolves} delivered)`)
}

/** Alertmanager: an incident is one label set; no alert for a streak that never reached its threshold. */
function checkAmIdentity(model: Model, world: World, violations: string[]): void {
  const byStart = new Map(model.incidents.map((incident) => [name(incident), incident]))
  const labelSets = new Map<string, Set<string>>()
  for (const alert of world.am.values() as Iterable<AmAlert>) {
    const key = `${alert.probe}@${alert.startsAt}`
    if (!byStart.has(key)) {
      violations.push(`am: alert for ${key}, but no incident of that probe started then (threshold never reached)`)
      continue
    }
    labelSets.set(key, (labelSets.get(key) ?? new Set()).add(alert.labels))
  }
  for (const [key, sets] of labelSets)
    if (sets.size > 1) violations.push(`am: incident ${key} was sent as ${sets.size} different alerts: ${[...sets].join(' / ')}`)
}

function checkSecrets(world: World, violations: string[]): void {
  const secrets = [DATA_SECRET, ...Object.values(HOOK_TOKENS)]
  for (const { service, body } of world.bodies) {
    // The routing key must travel in its own field, and nowhere else.
    const rest = body.replace(/"routing_key":"[^"]*"/, '')
    for (const secret of [...secrets, ...Object.values(ROUTING_KEYS)]) {
      if (rest.includes(secret) || rest.includes(encodeURIComponent(secret))) {
        violations.push(`${service}: a payload contains the secret ${secret.slice(0, 6)}…`)
        return
      }
    }
  }
}
