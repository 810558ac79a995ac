/**
 * Issue 8, "a test that hunts for the next one" (STYLE §15): random timelines
 * of target results, channel faults, reloads and crashes, in fake time, run
 * through the real alerter, store, delivery and channel code; the oracle
 * (fault-model.ts) states the promise. Replay a failure with
 * `FAULT_SEED=<seed> [FAULT_PATH=<path>]`; `FAULT_RUNS=<n>` sets the count;
 * `FAULT_KNOWN=off` (or `FAULT_SKIP=item3,item6`) stops generating the
 * faults of the known, not yet fixed defects (see KNOWN below).
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createStore, STATE_FILE } from '../../src/alerting/store.ts'
import { copyStateFile, type Daemon, type DaemonConfig, type ProbeConfig, startDaemon } from './fault-adapter.ts'
import { checkClosed, checkDeliveries, checkOpen, Model } from './fault-model.ts'
import { CHANNEL_NAMES, type ChannelName, type Mode, memFs, type Variant, World } from './fault-world.ts'

vi.mock('node:fs/promises', async () => {
  const { memFs: fs } = await import('./fault-world.ts')
  const api = {
    lstat: fs.lstat.bind(fs),
    mkdir: fs.mkdir.bind(fs),
    open: fs.open.bind(fs),
    readdir: fs.readdir.bind(fs),
    readFile: fs.readFile.bind(fs),
    rename: fs.rename.bind(fs),
    rm: fs.rm.bind(fs),
  }
  return { ...api, default: api }
})

// ------------------------------------------------------------- known faults

/**
 * Fault kinds that today's code is known to mishandle (issue 8's list), each
 * with what the generator stops producing when it is disabled.
 */
const KNOWN = {
  /** Item 3: Alertmanager with sendResolved false never clears: no sendResolved false on a probe routed to `am`. */
  item3: 'sendResolved: false together with the Alertmanager channel',
  /** Item 4: Retry-After uncapped / holds / age limit: Retry-After at most 60 s. */
  item4: 'Retry-After longer than a minute',
  /** Item 5: a 4xx-dropped firing still counts as paged: no 4xx answers (a down channel instead). */
  item5: '4xx (non-retryable) answers',
  /** Item 6: channels identified by name only: no routingKey/url changes. */
  item6: "changes of a channel's routingKey or url",
  /** Item 7: the incident id is recomputed from the new location: no --location change across restarts. */
  item7: '--location changes across a restart',
  /**
   * NEW (found by this test): Alertmanager keeps one alert per probe, and
   * lanes are per incident, so after an outage an older incident's firing
   * or resolve can be delivered after the newer incident's firing and replace
   * it: Alertmanager shows the probe resolved while it fires. Disabled: the
   * Alertmanager channel never fails.
   */
  amOrder: 'faults on the Alertmanager channel',
} as const
type Known = keyof typeof KNOWN

function enabledKnown(): Set<Known> {
  const all = Object.keys(KNOWN) as Known[]
  if (process.env.FAULT_KNOWN === 'off') return new Set()
  const skip = new Set((process.env.FAULT_SKIP ?? '').split(',').map((s) => s.trim()))
  return new Set(all.filter((item) => !skip.has(item)))
}

// ---------------------------------------------------------------- timelines

type Step =
  | { readonly kind: 'run'; readonly probe: string; readonly pass: boolean; readonly times: number }
  | { readonly kind: 'mode'; readonly channel: ChannelName; readonly mode: Mode }
  | { readonly kind: 'advance'; readonly ms: number }
  | {
      readonly kind: 'thresholds'
      readonly probe: string
      readonly failureThreshold: number
      readonly successThreshold: number
      readonly sendResolved: boolean
    }
  | { readonly kind: 'route'; readonly probe: string; readonly channels: readonly ChannelName[] }
  | { readonly kind: 'rekey'; readonly channel: 'pd' | 'hook'; readonly variant: Variant }
  | { readonly kind: 'presence'; readonly probe: string; readonly present: boolean }
  /** SIGKILL and restart from the state file alone; `early`: before the previous step's delivery outcomes were written. */
  | { readonly kind: 'crash'; readonly early: boolean; readonly location: string | null }

interface Timeline {
  readonly config: DaemonConfig
  readonly steps: readonly Step[]
  readonly jitterSeed: number
}

const PROBES = ['alpha', 'beta', 'gamma']
const LOCATIONS = ['eu-1', 'us-2']
const MINUTE = 60_000

const channelList = fc.subarray([...CHANNEL_NAMES])
const probeConfig: fc.Arbitrary<ProbeConfig> = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 4 }),
  successThreshold: fc.integer({ min: 1, max: 3 }),
  sendResolved: fc.boolean(),
  reminderIntervalMs: fc.constantFrom(0, 20 * MINUTE),
  channels: channelList,
})

function timelineArb(probeCount: number): fc.Arbitrary<Timeline> {
  const probes = PROBES.slice(0, probeCount)
  const probe = fc.constantFrom(...probes)
  const mode: fc.Arbitrary<Mode> = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ kind: 'up' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'down' as const }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(1, 30, 600, 7_200, 172_800).map((retryAfterS) => ({ kind: 'throttle' as const, retryAfterS })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'reject' as const }) },
  )
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        kind: fc.constant('run' as const),
        probe,
        pass: fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
        times: fc.integer({ min: 1, max: 5 }),
      }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('mode' as const), channel: fc.constantFrom(...CHANNEL_NAMES), mode }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1_000, max: 20 * MINUTE }) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('thresholds' as const),
        probe,
        failureThreshold: fc.integer({ min: 1, max: 4 }),
        successThreshold: fc.integer({ min: 1, max: 3 }),
        sendResolved: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('route' as const), probe, channels: channelList }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('rekey' as const),
        channel: fc.constantFrom('pd' as const, 'hook' as const),
        variant: fc.constantFrom<Variant>('a', 'b'),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('presence' as const), probe, present: fc.boolean() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('crash' as const),
        early: fc.boolean(),
        location: fc.constantFrom<string | null>(null, ...LOCATIONS),
      }),
    },
  )
  return fc.record({
    config: fc.record({
      probes: fc.tuple(...probes.map(() => probeConfig)).map((list) => Object.fromEntries(list.map((config, i) => [probes[i], config]))),
      present: fc.constant(probes),
      variants: fc.constant({ pd: 'a' as Variant, hook: 'a' as Variant }),
      location: fc.constantFrom<string | null>(null, ...LOCATIONS),
    }),
    steps: fc.array(step, { minLength: 1, maxLength: 40, size: 'max' }),
    jitterSeed: fc.integer(),
  })
}

/**
 * The timeline without the fault kinds that are switched off: steps are
 * rewritten rather than dropped, so shrinking stays meaningful.
 */
function sanitize(timeline: Timeline, known: Set<Known>): Timeline {
  const noAmWithoutResolve = (config: ProbeConfig): ProbeConfig =>
    known.has('item3') || config.sendResolved || !config.channels.includes('am') ? config : { ...config, sendResolved: true }
  const probes = Object.fromEntries(Object.entries(timeline.config.probes).map(([name, config]) => [name, noAmWithoutResolve(config)]))
  const config = { ...timeline.config, probes }
  const current = new Map(Object.entries(probes))
  const steps: Step[] = []
  for (const step of timeline.steps) {
    if (step.kind === 'mode' && step.channel === 'am' && !known.has('amOrder')) steps.push({ ...step, mode: { kind: 'up' } })
    else if (step.kind === 'mode' && step.mode.kind === 'reject' && !known.has('item5')) steps.push({ ...step, mode: { kind: 'down' } })
    else if (step.kind === 'mode' && step.mode.kind === 'throttle' && step.mode.retryAfterS > 60 && !known.has('item4')) {
      steps.push({ ...step, mode: { kind: 'throttle', retryAfterS: 60 } })
    } else if (step.kind === 'rekey' && !known.has('item6')) continue
    else if (step.kind === 'crash' && !known.has('item7')) steps.push({ ...step, location: config.location })
    else if (step.kind === 'thresholds' || step.kind === 'route') {
      const before = current.get(step.probe) as ProbeConfig
      if (step.kind === 'thresholds') {
        const after = noAmWithoutResolve({ ...before, ...withoutKind(step) })
        current.set(step.probe, after)
        steps.push({ ...step, sendResolved: after.sendResolved })
      } else {
        // A route that would add Alertmanager to a probe without resolves leaves it out instead.
        const channels = known.has('item3') || before.sendResolved ? step.channels : step.channels.filter((channel) => channel !== 'am')
        current.set(step.probe, { ...before, channels })
        steps.push({ ...step, channels })
      }
    } else steps.push(step)
  }
  return { ...timeline, config, steps }
}

function withoutKind(step: Extract<Step, { kind: 'thresholds' }>) {
  const { failureThreshold, successThreshold, sendResolved } = step
  return { failureThreshold, successThreshold, sendResolved }
}

// ------------------------------------------------------------------- runner

const T0 = Date.parse('2026-03-01T10:00:00.000Z')
const dirOf = (generation: number) => `/state/gen-${generation}`

/** Lets every microtask chain and every timer due now run; no I/O is real, so this is exact. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await vi.advanceTimersByTimeAsync(0)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms)
  await settle()
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** The state file is loadable by the store after every step (checked on a copy: a load tidies its directory). */
async function loadable(dir: string, step: number): Promise<string[]> {
  memFs.files.delete(`/state/check/${STATE_FILE}`)
  copyStateFile(dir, '/state/check')
  const { warning } = await createStore('/state/check').load()
  return warning ? [`state file not loadable after step ${step}: ${warning}`] : []
}

function reconfigured(config: DaemonConfig, step: Step): DaemonConfig {
  switch (step.kind) {
    case 'thresholds': {
      const probe = config.probes[step.probe] as ProbeConfig
      return { ...config, probes: { ...config.probes, [step.probe]: { ...probe, ...withoutKind(step) } } }
    }
    case 'route': {
      const probe = config.probes[step.probe] as ProbeConfig
      return { ...config, probes: { ...config.probes, [step.probe]: { ...probe, channels: [...step.channels] } } }
    }
    case 'rekey':
      return { ...config, variants: { ...config.variants, [step.channel]: step.variant } }
    case 'presence': {
      const present = PROBES.filter((name) => (name === step.probe ? step.present : config.present.includes(name)))
      return { ...config, present: present.filter((name) => name in config.probes) }
    }
    default:
      return config
  }
}

/** Drives one timeline through the daemon and the model side by side; returns the violations. */
async function runTimeline(timeline: Timeline): Promise<string[]> {
  memFs.files.clear()
  vi.setSystemTime(T0)
  const world = new World()
  const random = mulberry32(timeline.jitterSeed)
  let config = timeline.config
  const model = new Model(config)
  let generation = 0
  let daemon: Daemon = await startDaemon(world, dirOf(generation), config, random)
  const violations: string[] = []
  let epilogueStart = 0
  const started = performance.now()
  try {
    await settle()
    const { steps } = timeline
    for (const [index, step] of steps.entries()) {
      world.step = index + 1
      model.step = world.step
      switch (step.kind) {
        case 'run':
          for (let i = 0; i < step.times; i++) {
            await vi.advanceTimersByTimeAsync(MINUTE)
            model.run(step.probe, step.pass, new Date(Date.now()).toISOString())
            await daemon.record(step.probe, step.pass)
          }
          break
        case 'mode':
          world.modes.set(step.channel, step.mode)
          model.mode(step.channel, step.mode.kind === 'up', world.step)
          break
        case 'advance':
          await vi.advanceTimersByTimeAsync(step.ms)
          break
        case 'crash': {
          copyStateFile(daemon.dir, dirOf(generation + 1))
          await daemon.kill()
          generation++
          config = { ...config, location: step.location }
          model.crash(world.step, step.early, step.location)
          daemon = await startDaemon(world, dirOf(generation), config, random)
          break
        }
        default: {
          config = reconfigured(config, step)
          model.reload(config)
          await daemon.reload(config)
        }
      }
      const following = steps[index + 1]
      if (following?.kind === 'crash' && following.early) continue
      await settle()
      violations.push(...(await loadable(daemon.dir, world.step)))
    }

    epilogueStart = performance.now()
    // Epilogue: every channel healthy, a reload (the chance to re-page), time to drain.
    world.step = steps.length + 1
    model.step = world.step
    for (const name of CHANNEL_NAMES) {
      world.modes.set(name, { kind: 'up' })
      model.mode(name, true, world.step)
    }
    model.reload(config)
    await daemon.reload(config)
    await advance(2 * 60 * MINUTE)
    violations.push(...checkOpen(model, world, Date.now()))
    // Then every incident recovers, and everything settles.
    world.step = steps.length + 2
    model.step = world.step
    for (let i = 0; i < 3; i++) {
      for (const probe of config.present) {
        await vi.advanceTimersByTimeAsync(MINUTE)
        model.run(probe, true, new Date(Date.now()).toISOString())
        await daemon.record(probe, true)
      }
    }
    await advance(2 * 60 * MINUTE)
    violations.push(...(await loadable(daemon.dir, world.step)))
    violations.push(...checkClosed(world, Date.now()))
    violations.push(...checkDeliveries(model, world))
    stats.epilogueMs += performance.now() - epilogueStart
    tally(model, world, steps)
  } finally {
    await daemon.close()
    vi.clearAllTimers()
    stats.totalMs += performance.now() - started
  }
  return [...new Set(violations)]
}

/** With FAULT_STATS=1: how much the timelines exercised, so a green run can be judged. */
const stats = {
  timelines: 0,
  incidents: 0,
  episodes: 0,
  deliveries: 0,
  rejected: 0,
  crashes: 0,
  earlyCrashes: 0,
  reloads: 0,
  amAlerts: 0,
  totalMs: 0,
  epilogueMs: 0,
}
function tally(model: Model, world: World, steps: readonly Step[]): void {
  stats.timelines++
  stats.incidents += model.incidents.length
  stats.episodes += model.incidents.reduce((sum, incident) => sum + incident.episodes.length, 0)
  stats.deliveries += world.deliveries.length
  stats.rejected += world.rejected.length
  stats.amAlerts += world.am.size
  stats.crashes += steps.filter((step) => step.kind === 'crash').length
  stats.earlyCrashes += model.earlyCrashes.length
  stats.reloads += steps.filter((step) => ['thresholds', 'route', 'rekey', 'presence'].includes(step.kind)).length
}

function render(timeline: Timeline): string {
  const probes = Object.entries(timeline.config.probes)
    .map(
      ([name, p]) =>
        `${name}{fail ${p.failureThreshold}, pass ${p.successThreshold}, resolved ${p.sendResolved}, remind ${p.reminderIntervalMs / MINUTE}m, [${p.channels.join(',')}]}`,
    )
    .join(' ')
  const steps = timeline.steps.map((step, i) => {
    const { kind, ...rest } = step
    return `  ${i + 1}. ${kind} ${JSON.stringify(rest)}`
  })
  return [`config: ${probes} location ${timeline.config.location}`, ...steps].join('\n')
}

// --------------------------------------------------------------------- test

const known = enabledKnown()
// 300 timelines take ~12-30 s on an idle 2-core machine, 147 s with both cores busy;
// 100 keeps the default run under a minute on a loaded CI machine. Hunt with FAULT_RUNS.
const numRuns = Number(process.env.FAULT_RUNS ?? 100)
const seed = process.env.FAULT_SEED === undefined ? undefined : Number(process.env.FAULT_SEED)
const path = process.env.FAULT_PATH

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: T0 })
})
afterAll(() => {
  vi.useRealTimers()
  if (process.env.FAULT_STATS) process.stderr.write(`fault-timeline stats: ${JSON.stringify(stats)}\n`)
})

/**
 * Timelines the random search once found, replayed on every run whatever the seed: each was a bug,
 * fixed with a focused test of its own; here the whole timeline keeps it fixed.
 */
const FOUND: Record<string, Timeline> = {
  // Seed 263229: hook moved b → a (b down, its resolve queued) → crash → moved back to b. The
  // restarted daemon dropped b's resolve as unroutable, then paged b again: a second firing in a row.
  'a destination moved away and back across a crash is not paged twice': JSON.parse(
    '{"config": {"probes": {"alpha": {"failureThreshold": 1, "successThreshold": 1, "sendResolved": false, "reminderIntervalMs": 0, "channels": []}, "beta": {"failureThreshold": 1, "successThreshold": 1, "sendResolved": true, "reminderIntervalMs": 0, "channels": ["hook"]}, "gamma": {"failureThreshold": 1, "successThreshold": 1, "sendResolved": false, "reminderIntervalMs": 0, "channels": []}}, "present": ["alpha", "beta", "gamma"], "variants": {"pd": "a", "hook": "a"}, "location": null}, "steps": [{"kind": "rekey", "channel": "hook", "variant": "b"}, {"kind": "run", "probe": "beta", "pass": false, "times": 1}, {"kind": "mode", "channel": "hook", "mode": {"kind": "down"}}, {"kind": "rekey", "channel": "hook", "variant": "a"}, {"kind": "crash", "early": false, "location": null}, {"kind": "rekey", "channel": "hook", "variant": "b"}, {"kind": "run", "probe": "alpha", "pass": true, "times": 1}], "jitterSeed": 0}',
  ) as Timeline,
}

describe('fault timelines (model-based)', () => {
  for (const [name, timeline] of Object.entries(FOUND))
    it(`found before: ${name}`, async () => {
      expect(await runTimeline(timeline)).toEqual([])
    })

  it(`keeps the promise over ${numRuns} random timelines (known faults generated: ${[...known].join(', ') || 'none'})`, async () => {
    const arbitrary = fc
      .integer({ min: 2, max: 3 })
      .chain(timelineArb)
      .map((timeline) => sanitize(timeline, known))
    await fc.assert(
      fc.asyncProperty(arbitrary, async (timeline) => {
        const violations = await runTimeline(timeline)
        if (violations.length > 0 && !process.env.FAULT_NOFAIL)
          throw new Error(`${violations.join('\n')}\n--- timeline ---\n${render(timeline)}`)
      }),
      { numRuns, ...(seed === undefined ? {} : { seed }), ...(path === undefined ? {} : { path }) },
    )
  }, 240_000)
})
