import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Alerter, createAlerter } from '../../src/alerting/alerter.ts'
import type { Notification } from '../../src/alerting/notification.ts'
import { BUILTIN_POLICY } from '../../src/config/alert-policy.ts'
import type { Judgement } from '../../src/judge/judge.ts'
import type { Failure, RunResult } from '../../src/probe/result.ts'
import { captureLogger, type FakeChannel, fakeChannel, OK, until } from './fakes.ts'

/*
 * The alerter fed judged runs, as the daemon feeds it: what reaches the
 * channels (the state machine's own timelines are in state.test.ts).
 */
const T0 = Date.parse('2026-03-01T10:00:00.000Z')
const MINUTE = 60_000
const FAILURE: Failure = { step: 'read', kind: 'transport', reason: 'connect', message: 'read: connect ECONNREFUSED' }
const BAD_KEY = () => ({ ok: false as const, retryable: false, reason: 'HTTP 400: invalid routing key' })

let dir: string
let offset: number
let runs: number
let alerter: Alerter | null = null

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-judged-'))
  offset = 0
  runs = 0
})
afterEach(async () => {
  await alerter?.close()
  alerter = null
  await rm(dir, { recursive: true, force: true })
})

async function start(channel: FakeChannel) {
  const results: [string, string, string][] = []
  const base = Date.now()
  alerter = createAlerter({
    stateDir: dir,
    channels: new Map([[channel.name, channel]]),
    location: null,
    logger: captureLogger().logger,
    now: () => new Date(T0 + (Date.now() - base) + offset),
    random: () => 0.5,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    onNotification: (name, event, result) => void results.push([name, event, result]),
  })
  await alerter.load()
  await alerter.configure([{ name: 'items-crud', labels: {}, policy: { ...BUILTIN_POLICY, reminderIntervalMs: 0, channels: ['pager'] } }])
  return { alerter, results }
}

/** Runs coded as in state.test.ts: F failed, P passed, N inconclusive, T retried; lower case muted. */
async function play(target: Alerter, codes: string): Promise<Notification[]> {
  const outcomes: Record<string, Judgement['outcome']> = { F: 'failure', P: 'success', N: 'inconclusive', T: 'retried' }
  const sent: Notification[] = []
  for (const code of codes.split(' ')) {
    const outcome = outcomes[code.toUpperCase()]
    if (!outcome) throw new Error(`bad run code ${code}`)
    offset += MINUTE
    const failed = outcome === 'failure' || outcome === 'inconclusive'
    const result: RunResult = {
      probe: 'items-crud',
      runId: `run-${++runs}`,
      startedAt: new Date(T0 + offset).toISOString(),
      durationMs: 12,
      outcome: failed ? 'failure' : 'success',
      failure: failed ? FAILURE : null,
      steps: [],
    }
    sent.push(...(await target.record(result, { outcome, muted: code !== code.toUpperCase() })).notifications)
  }
  return sent
}

describe('alerter: judged runs', () => {
  it('inconclusive runs page nobody; failures once the network is back page once, after the threshold', async () => {
    const { alerter: a } = await start(fakeChannel('pager'))
    expect(await play(a, 'N N N N N N N N N N')).toEqual([])
    expect(a.status('items-crud')).toEqual({ kind: 'ok' })
    const sent = await play(a, 'F F F F F F')
    expect(sent.map((n) => [n.event, n.consecutiveFailures])).toEqual([['firing', 5]])
  })

  it('an outage inside a mute pages nobody; one that outlasts it pages once, with its real count, on the next run', async () => {
    const { alerter: a } = await start(fakeChannel('pager'))
    expect(await play(a, 'f f f f f f f')).toEqual([])
    expect(a.status('items-crud')).toMatchObject({ kind: 'failing', failures: 7 })
    const sent = await play(a, 'F F')
    // The incident starts at the streak's first failed run, inside the mute.
    expect(sent.map((n) => [n.event, n.consecutiveFailures, n.since])).toEqual([['firing', 8, new Date(T0 + MINUTE).toISOString()]])
  })

  it('an outage that recovers inside a mute sends nothing, before or after', async () => {
    const { alerter: a } = await start(fakeChannel('pager'))
    expect(await play(a, 'f f f f f f t P F')).toEqual([])
  })

  it('a channel whose firing was dropped is not paged again while muted, but on the first failure after', async () => {
    const pager = fakeChannel('pager', { respond: BAD_KEY })
    const { alerter: a, results } = await start(pager)
    const [firing] = await play(a, 'F F F F F')
    await until(() => results.some(([, , result]) => result === 'dropped'), 'the firing dropped')
    pager.respond = OK
    expect(await play(a, 'f f')).toEqual([])
    const again = await play(a, 'F')
    expect(again.map((n) => [n.event, n.id])).toEqual([['firing', firing?.id]])
    await until(() => pager.sent.length === 1, 'the pager paged')
  })
})
