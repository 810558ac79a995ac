import { readFileSync } from 'node:fs'
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Alerter, type AlerterDeps, type AlertProbe, createAlerter } from '../../src/alerting/alerter.ts'
import type { Notification } from '../../src/alerting/notification.ts'
import { incidentId } from '../../src/alerting/notify.ts'
import { STATE_FILE } from '../../src/alerting/store.ts'
import { type AlertPolicy, BUILTIN_POLICY } from '../../src/config/alert-policy.ts'
import type { Failure, RunOutcome, RunResult } from '../../src/probe/result.ts'
import { BLACK_HOLE, captureLogger, DOWN, type FakeChannel, fakeChannel, HANG, OK, until } from './fakes.ts'

const T0 = Date.parse('2026-03-01T10:00:00.000Z')
const MINUTE = 60_000
const FAILURE: Failure = { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' }

/** Wall clock that moves with real time, plus jumps: timers stay real, runs a minute apart take no minute. */
function testClock() {
  const base = Date.now()
  let offset = 0
  return {
    now: () => new Date(T0 + (Date.now() - base) + offset),
    advance(ms: number) {
      offset += ms
    },
  }
}

let dir: string
let clock: ReturnType<typeof testClock>
const open: Alerter[] = []
const cleanup: string[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-alerter-'))
  clock = testClock()
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((alerter) => alerter.close()))
  await Promise.all([dir, ...cleanup.splice(0)].map((path) => rm(path, { recursive: true, force: true })))
})

function policy(overrides: Partial<AlertPolicy> = {}): AlertPolicy {
  return { ...BUILTIN_POLICY, channels: ['oncall', 'pager'], ...overrides }
}

function probe(name = 'items-crud', overrides: Partial<AlertPolicy> = {}): AlertProbe {
  return { name, labels: { team: 'storefront' }, policy: policy(overrides) }
}

function alerter(channels: FakeChannel[], overrides: Partial<AlerterDeps> = {}) {
  const { logger, lines } = captureLogger()
  const results: [string, string, string][] = []
  const instance = createAlerter({
    stateDir: dir,
    channels: new Map(channels.map((c) => [c.name, c])),
    location: null,
    logger,
    now: clock.now,
    random: () => 0.5,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    onNotification: (channel, event, result) => void results.push([channel, event, result]),
    ...overrides,
  })
  open.push(instance)
  return { alerter: instance, lines, results }
}

/** Email-like: takes everything. Pager-like: no reminders. */
function channels(oncall = OK, pager = OK): [FakeChannel, FakeChannel] {
  return [
    fakeChannel('oncall', { respond: oncall }),
    fakeChannel('pager', { type: 'pagerduty', respond: pager, events: ['firing', 'resolved', 'test'] }),
  ]
}

let runs = 0
/** startedAt of every run, in order. */
const starts: string[] = []
/** One run a minute later than the last. */
async function run(target: Alerter, outcome: RunOutcome, name = 'items-crud') {
  clock.advance(MINUTE)
  const startedAt = clock.now().toISOString()
  starts.push(startedAt)
  const result: RunResult = {
    probe: name,
    runId: `run-${++runs}`,
    startedAt,
    durationMs: 12,
    outcome,
    failure: outcome === 'failure' ? FAILURE : null,
    steps: [],
  }
  return target.record(result)
}

async function fail(target: Alerter, times: number, name?: string): Promise<Notification[]> {
  const all: Notification[] = []
  for (let i = 0; i < times; i++) all.push(...(await run(target, 'failure', name)).notifications)
  return all
}

/** Long enough for any stray retry (5–20 ms backoff) to have happened. */
const quiet = () => new Promise((resolve) => setTimeout(resolve, 150))

describe('alerter', () => {
  it('pages each channel exactly once on the 5th failure, with the SPEC summary', async () => {
    const [oncall, pager] = channels()
    const { alerter: a, results } = alerter([oncall, pager])
    await a.load()
    await a.configure([probe()])
    expect(await fail(a, 4)).toEqual([])
    expect(a.status('items-crud')).toMatchObject({ kind: 'failing', failures: 4 })
    const since = starts.at(-4) ?? ''
    const [firing, ...more] = await fail(a, 1)
    expect(more).toEqual([])
    expect(firing).toMatchObject({
      id: `${incidentId('items-crud', null, since)}-firing`,
      event: 'firing',
      probe: 'items-crud',
      incidentId: incidentId('items-crud', null, since),
      since,
      consecutiveFailures: 5,
      summary: `FIRING items-crud: read: expected status 200, got 500 (5 consecutive failures since ${since})`,
      error: { step: 'read', message: 'read: expected status 200, got 500' },
      labels: { team: 'storefront' },
    })
    await until(() => oncall.sent.length === 1 && pager.sent.length === 1, 'both channels paged')
    expect(await fail(a, 10)).toEqual([])
    await quiet()
    expect([oncall.attempts, pager.attempts]).toEqual([[firing], [firing]])
    expect(results.sort()).toEqual([
      ['oncall', 'firing', 'sent'],
      ['pager', 'firing', 'sent'],
    ])
  })

  it('tells the probe’s description and runbook with its firing and resolve; a reload that changes them tells the new ones', async () => {
    const [oncall, pager] = channels()
    const { alerter: a } = alerter([oncall, pager])
    await a.load()
    const about = { description: 'Create, read and delete an item', runbook: 'https://wiki.example.test/runbooks/items-crud' }
    await a.configure([{ ...probe(), ...about }])
    const [firing] = await fail(a, 5)
    expect(firing).toMatchObject(about)
    const moved = { runbook: 'https://wiki.example.test/runbooks/items-v2' }
    await a.configure([{ ...probe(), ...moved }])
    const { notifications } = await run(a, 'success')
    expect(notifications[0]).toMatchObject({ event: 'resolved', ...moved })
    expect(notifications[0]).not.toHaveProperty('description')
  })

  it('keeps the failure count across a restart', async () => {
    const first = alerter(channels())
    await first.alerter.load()
    await first.alerter.configure([probe()])
    await fail(first.alerter, 3)
    await first.alerter.close()
    const [oncall, pager] = channels()
    const second = alerter([oncall, pager])
    await second.alerter.load()
    await second.alerter.configure([probe()])
    expect(second.alerter.status('items-crud')).toMatchObject({ kind: 'failing', failures: 3 })
    expect((await fail(second.alerter, 2)).map((n) => n.event)).toEqual(['firing'])
    await until(() => oncall.sent.length === 1 && pager.sent.length === 1, 'firing after restart')
  })

  it('sends no second firing across a restart, and the resolve afterwards, once', async () => {
    const [oncall1, pager1] = channels()
    const first = alerter([oncall1, pager1])
    await first.alerter.load()
    await first.alerter.configure([probe()])
    const [firing] = await fail(first.alerter, 5)
    await until(() => oncall1.sent.length === 1 && pager1.sent.length === 1, 'first page')
    await first.alerter.close()

    const [oncall2, pager2] = channels()
    const second = alerter([oncall2, pager2])
    expect(await second.alerter.load()).toEqual({ warnings: [] })
    await second.alerter.configure([probe()])
    expect(second.alerter.status('items-crud')?.kind).toBe('firing')
    expect(await fail(second.alerter, 3)).toEqual([])
    const [resolved] = (await run(second.alerter, 'success')).notifications
    expect(resolved).toMatchObject({ event: 'resolved', incidentId: firing?.incidentId, error: null })
    await until(() => oncall2.sent.length === 1 && pager2.sent.length === 1, 'resolve after restart')
    await quiet()
    expect([...oncall2.attempts, ...pager2.attempts].map((n) => n.event)).toEqual(['resolved', 'resolved'])
    await second.alerter.close()

    const [oncall3, pager3] = channels()
    const third = alerter([oncall3, pager3])
    await third.alerter.load()
    await third.alerter.configure([probe()])
    await quiet()
    expect(third.alerter.status('items-crud')).toEqual({ kind: 'ok' })
    expect([...oncall3.attempts, ...pager3.attempts]).toEqual([])
  })

  it('persists the decision before the first delivery attempt', async () => {
    const onDisk: boolean[] = []
    const oncall = fakeChannel('oncall', {
      respond: (n) => {
        const file = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8'))
        onDisk.push(
          file.probes['items-crud'].state.kind === 'firing' &&
            file.outbox.some((e: { notification: Notification }) => e.notification.id === n.id),
        )
        return { ok: true }
      },
    })
    const { alerter: a } = alerter([oncall], {})
    await a.load()
    await a.configure([probe('items-crud', { channels: ['oncall'] })])
    await fail(a, 5)
    await until(() => oncall.sent.length === 1, 'page')
    expect(onDisk).toEqual([true])
  })

  for (const [name, respond] of [
    ['hangs', BLACK_HOLE],
    ['throws', DOWN],
  ] as const) {
    it(`SIGKILL after the decision while the channel ${name}: the next process delivers it, once`, async () => {
      const dead = fakeChannel('oncall', { respond, timeoutMs: 60_000 })
      const doomed = alerter([dead])
      await doomed.alerter.load()
      await doomed.alerter.configure([probe('items-crud', { channels: ['oncall'] })])
      const [firing] = await fail(doomed.alerter, 5)
      await until(() => dead.attempts.length >= 1, 'an attempt in the doomed process')
      // The process dies here: no flush, no close. Only what is on disk
      // survives, so the next process starts on a copy of the directory as it
      // is now (the doomed instance keeps retrying in the original).
      const afterDeath = await mkdtemp(join(tmpdir(), 'smokeprobe-alerter-reborn-'))
      cleanup.push(afterDeath)
      // Only the state file: the doomed instance keeps saving, and its temp
      // file may vanish mid-copy; the rename makes the state file itself whole at any instant.
      await copyFile(join(dir, STATE_FILE), join(afterDeath, STATE_FILE))
      const saved = JSON.parse(await readFile(join(afterDeath, STATE_FILE), 'utf8'))
      expect(saved.outbox.map((e: { notification: Notification }) => e.notification.id)).toEqual([firing?.id])

      const oncall = fakeChannel('oncall')
      const reborn = alerter([oncall], { stateDir: afterDeath })
      await reborn.alerter.load()
      await reborn.alerter.configure([probe('items-crud', { channels: ['oncall'] })])
      await until(() => oncall.sent.length === 1, 'redelivery')
      await quiet()
      expect(oncall.attempts).toEqual([firing])
      expect(dead.sent).toEqual([])
      expect(reborn.alerter.status('items-crud')?.kind).toBe('firing')
    })
  }

  it('delivers exactly once after a channel was down for many attempts', async () => {
    const [oncall, pager] = channels(DOWN)
    const { alerter: a, lines } = alerter([oncall, pager])
    await a.load()
    await a.configure([probe()])
    await fail(a, 5)
    await until(() => oncall.attempts.length >= 10, 'ten failed attempts')
    expect(pager.sent).toHaveLength(1)
    oncall.respond = OK
    await until(() => oncall.sent.length === 1, 'delivery once the channel is back')
    const attempts = oncall.attempts.length
    await quiet()
    expect(oncall.attempts).toHaveLength(attempts)
    expect(oncall.sent).toHaveLength(1)
    expect(lines.filter((l) => l.msg === 'notification delivery failed; will retry')).toHaveLength(1)
  })

  it('two probes failing at once on one channel: two notifications; a hanging channel delays nothing else', async () => {
    const slow = fakeChannel('slow', { respond: HANG, timeoutMs: 60_000 })
    const fast = fakeChannel('fast')
    const { alerter: a } = alerter([slow, fast])
    await a.load()
    await a.configure([probe('items-crud', { channels: ['slow', 'fast'] }), probe('orders', { channels: ['slow', 'fast'] })])
    for (let i = 0; i < 5; i++) await Promise.all([run(a, 'failure', 'items-crud'), run(a, 'failure', 'orders')])
    await until(() => fast.sent.length === 2 && slow.attempts.length === 2, 'both probes on both channels')
    expect(fast.sent.map((n) => n.probe).sort()).toEqual(['items-crud', 'orders'])
    expect(new Set(fast.sent.map((n) => n.incidentId)).size).toBe(2)
    expect(slow.sent).toEqual([])
  })

  for (const [name, text] of [
    ['truncated', '{"version":1,"probes":{"items-crud":{"state":{"kind":"fir'],
    ['garbage', 'PK\u0003\u0004\u0000\u0000 not json at all'],
  ] as const) {
    it(`a ${name} state file is a warning and a fresh start`, async () => {
      await writeFile(join(dir, STATE_FILE), text)
      const [oncall, pager] = channels()
      const { alerter: a } = alerter([oncall, pager])
      const { warnings } = await a.load()
      expect(warnings).toEqual([expect.stringMatching(/is corrupt .*starting with empty alert state/)])
      await a.configure([probe()])
      await fail(a, 5)
      await until(() => oncall.sent.length === 1 && pager.sent.length === 1, 'paging after a fresh start')
      await a.close()
      expect((await readdir(dir)).sort()).toEqual([STATE_FILE, `${STATE_FILE}.corrupt`])
    })
  }

  it('resolves a probe removed while firing, also after a restart', async () => {
    const first = alerter(channels())
    await first.alerter.load()
    await first.alerter.configure([probe(), probe('orders')])
    await fail(first.alerter, 5)
    await first.alerter.close()
    const [oncall, pager] = channels()
    const second = alerter([oncall, pager])
    await second.alerter.load()
    await second.alerter.configure([probe('orders')])
    expect(second.alerter.status('items-crud')).toBeUndefined()
    await until(() => oncall.sent.length === 1 && pager.sent.length === 1, 'resolve of the removed probe')
    expect([...oncall.sent, ...pager.sent].map((n) => [n.probe, n.event])).toEqual([
      ['items-crud', 'resolved'],
      ['items-crud', 'resolved'],
    ])
    expect((await run(second.alerter, 'failure')).notifications).toEqual([])
  })

  it('reminds only channels that take reminders, and only the channels it paged', async () => {
    const [oncall, pager] = channels()
    const extra = fakeChannel('extra')
    const { alerter: a } = alerter([oncall, pager, extra])
    await a.load()
    await a.configure([probe('items-crud', { reminderIntervalMs: 10 * MINUTE })])
    await fail(a, 15)
    await until(() => oncall.sent.length === 2, 'firing and reminder')
    expect(oncall.sent.map((n) => n.event)).toEqual(['firing', 'reminder'])
    expect(oncall.sent[1]?.summary).toMatch(
      /^REMINDER items-crud: still failing: read: expected status 200, got 500 \(15 failed runs since /,
    )
    await quiet()
    expect(pager.attempts.map((n) => n.event)).toEqual(['firing'])
    expect(extra.attempts).toEqual([])
  })

  it('with sendResolved false the incident ends without a resolve', async () => {
    const [oncall, pager] = channels()
    const { alerter: a } = alerter([oncall, pager])
    await a.load()
    await a.configure([probe('items-crud', { sendResolved: false })])
    await fail(a, 5)
    expect((await run(a, 'success')).notifications).toEqual([])
    await quiet()
    expect([...oncall.attempts, ...pager.attempts].map((n) => n.event)).toEqual(['firing', 'firing'])
    expect(a.status('items-crud')).toEqual({ kind: 'ok' })
  })

  it('a policy change mid-incident keeps it: an added channel is paged, a dropped one resolved, the rest left alone', async () => {
    const [oncall, pager] = channels()
    const chat = fakeChannel('chat')
    const { alerter: a, lines } = alerter([oncall, pager, chat])
    await a.load()
    await a.configure([probe()])
    const [firing] = await fail(a, 5)
    await until(() => oncall.sent.length === 1 && pager.sent.length === 1, 'first page')
    await a.configure([probe('items-crud', { channels: ['oncall', 'chat'], successThreshold: 2 })])
    await a.configure([probe('items-crud', { channels: ['oncall', 'chat'], successThreshold: 2 })])
    await until(() => chat.sent.length === 1 && pager.sent.length === 2, 'chat paged, pager resolved')
    expect(chat.sent[0]?.id).toBe(firing?.id)
    expect(pager.sent.map((n) => n.event)).toEqual(['firing', 'resolved'])
    expect(lines.filter((l) => l.msg === 'alert policy changed mid-incident; keeping the incident')).toHaveLength(1)
    expect(a.status('items-crud')?.kind).toBe('firing')
    expect((await run(a, 'success')).notifications).toEqual([])
    expect((await run(a, 'success')).notifications.map((n) => n.event)).toEqual(['resolved'])
    await until(() => chat.sent.length === 2 && oncall.sent.length === 2, 'resolve to the channels now paged')
    await quiet()
    expect(oncall.sent.map((n) => n.event)).toEqual(['firing', 'resolved'])
    expect(pager.sent).toHaveLength(2)
  })

  it('tells level-triggered channels what still fires, at load and when they are replaced', async () => {
    const am1 = fakeChannel('am', { type: 'alertmanager', levelTriggered: true, events: ['firing', 'resolved', 'test'] })
    const first = alerter([am1])
    await first.alerter.load()
    expect(am1.resumed).toEqual([[]])
    await first.alerter.configure([probe('items-crud', { channels: ['am'] }), probe('orders', { channels: ['am'] })])
    const [firing] = await fail(first.alerter, 5)
    await first.alerter.close()

    const am2 = fakeChannel('am', { type: 'alertmanager', levelTriggered: true, events: ['firing', 'resolved', 'test'] })
    const second = alerter([am2])
    await second.alerter.load()
    expect(am2.resumed.map((list) => list.map((n) => [n.id, n.event, n.since]))).toEqual([[[firing?.id, 'firing', firing?.since]]])
    const am3 = fakeChannel('am', { type: 'alertmanager', levelTriggered: true, events: ['firing', 'resolved', 'test'] })
    second.alerter.setChannels(new Map([['am', am3]]))
    expect(am3.resumed.map((list) => list.map((n) => n.id))).toEqual([[firing?.id]])
    second.alerter.setChannels(new Map([['am', am3]]))
    expect(am3.resumed).toHaveLength(1)
  })

  it('flush at shutdown stops at the deadline and keeps what is undelivered for the next start', async () => {
    const stuck = fakeChannel('oncall', { respond: HANG, timeoutMs: 60_000 })
    const { alerter: a } = alerter([stuck])
    await a.load()
    await a.configure([probe('items-crud', { channels: ['oncall'] })])
    const [firing] = await fail(a, 5)
    await until(() => stuck.attempts.length === 1, 'attempt')
    const started = Date.now()
    await a.flush(100)
    expect(Date.now() - started).toBeLessThan(5_000)
    await a.close()
    const oncall = fakeChannel('oncall')
    const next = alerter([oncall])
    await next.alerter.load()
    await until(() => oncall.sent.length === 1, 'delivery after restart')
    expect(oncall.sent).toEqual([firing])
  })

  it('names the location in the notification and the incident id', async () => {
    const oncall = fakeChannel('oncall')
    const { alerter: a } = alerter([oncall], { location: 'eu-1' })
    await a.load()
    await a.configure([probe('items-crud', { channels: ['oncall'], failureThreshold: 1 })])
    const [firing] = await fail(a, 1)
    expect(firing).toMatchObject({ location: 'eu-1', incidentId: incidentId('items-crud', 'eu-1', firing?.since ?? '') })
    expect(firing?.incidentId).not.toBe(incidentId('items-crud', null, firing?.since ?? ''))
    expect(firing?.summary).toMatch(/^FIRING items-crud from eu-1: /)
  })

  it('names the incident by the scheduled slot that opened it: replicas starting the run at different times agree', async () => {
    const slot = new Date(T0 + 7 * MINUTE)
    const ids: string[] = []
    cleanup.push(dir)
    for (const [index, lateMs] of [3, 41].entries()) {
      dir = await mkdtemp(join(tmpdir(), `smokeprobe-replica-${index}-`))
      cleanup.push(dir)
      const { alerter: replica } = alerter([fakeChannel('oncall')], { location: 'eu-1' })
      await replica.load()
      await replica.configure([probe('items-crud', { channels: ['oncall'], failureThreshold: 1 })])
      const result: RunResult = {
        probe: 'items-crud',
        runId: `replica-${index}`,
        // Each process starts the run a little after the slot, by its own load.
        startedAt: new Date(slot.getTime() + lateMs).toISOString(),
        durationMs: 12,
        outcome: 'failure',
        failure: FAILURE,
        steps: [],
      }
      const { notifications } = await replica.record(result, { outcome: 'failure', muted: false }, slot)
      expect(notifications[0]?.since).toBe(slot.toISOString())
      ids.push(notifications[0]?.incidentId ?? '')
    }
    expect(ids[0]).toBe(incidentId('items-crud', 'eu-1', slot.toISOString()))
    expect(ids[1]).toBe(ids[0])
  })

  it('keeps the incident id of the firing when --location is renamed across a restart', async () => {
    const first = alerter(channels(), { location: 'eu-1' })
    await first.alerter.load()
    await first.alerter.configure([probe('items-crud', { reminderIntervalMs: 2 * MINUTE })])
    const [firing] = await fail(first.alerter, 5)
    expect(firing?.incidentId).toBe(incidentId('items-crud', 'eu-1', firing?.since ?? ''))
    await first.alerter.close()

    const [oncall, pager] = channels()
    const second = alerter([oncall, pager], { location: 'eu-west-1' })
    await second.alerter.load()
    await second.alerter.configure([probe('items-crud', { reminderIntervalMs: 2 * MINUTE })])
    const [reminder] = await fail(second.alerter, 2)
    const [resolved] = (await run(second.alerter, 'success')).notifications
    expect([reminder?.event, resolved?.event]).toEqual(['reminder', 'resolved'])
    expect([reminder?.incidentId, resolved?.incidentId]).toEqual([firing?.incidentId, firing?.incidentId])
    await until(() => pager.sent.length === 1, 'resolve on the pager')
    expect(pager.sent[0]?.incidentId).toBe(firing?.incidentId)
    // Told under the location it fired under: Alertmanager's label set (location included) is the alert.
    expect([reminder?.location, resolved?.location, pager.sent[0]?.location]).toEqual(['eu-1', 'eu-1', 'eu-1'])
    // The next incident is named under the new location.
    const [next] = await fail(second.alerter, 5)
    expect(next?.incidentId).toBe(incidentId('items-crud', 'eu-west-1', next?.since ?? ''))
    expect(next?.location).toBe('eu-west-1')
  })

  it('a state file without a stored incident id resolves under the id derived as at the firing', async () => {
    const first = alerter(channels())
    await first.alerter.load()
    await first.alerter.configure([probe()])
    const [firing] = await fail(first.alerter, 5)
    await first.alerter.close()
    const file = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'))
    delete file.probes['items-crud'].incidentId
    await writeFile(join(dir, STATE_FILE), JSON.stringify(file))

    const second = alerter(channels())
    await second.alerter.load()
    await second.alerter.configure([probe()])
    const [resolved] = (await run(second.alerter, 'success')).notifications
    expect(resolved?.incidentId).toBe(firing?.incidentId)
  })

  it('a firing dropped as not retryable is paged again on the next failed run, once delivered', async () => {
    const BAD_KEY = () => ({ ok: false as const, retryable: false, reason: 'HTTP 400: invalid routing key' })
    const [oncall, pager] = channels(OK, BAD_KEY)
    const { alerter: a, lines, results } = alerter([oncall, pager])
    await a.load()
    await a.configure([probe('items-crud', { reminderIntervalMs: 0 })])
    const [firing] = await fail(a, 5)
    await until(() => results.some(([channel, , result]) => channel === 'pager' && result === 'dropped'), 'the firing dropped')
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([
      'notification dropped',
      'firing not delivered; the channel is paged again on the next failed run or reload',
    ])
    // The key is fixed (the endpoint accepts now): the next failed run pages the pager, with the incident's id.
    pager.respond = OK
    const again = await fail(a, 1)
    expect(again.map((n) => [n.event, n.id])).toEqual([['firing', firing?.id]])
    await until(() => pager.sent.length === 1, 'the pager paged')
    await fail(a, 3)
    await quiet()
    expect(pager.attempts.map((n) => n.event)).toEqual(['firing', 'firing'])
    expect(oncall.attempts.map((n) => n.event)).toEqual(['firing'])
    await run(a, 'success')
    await until(() => pager.sent.length === 2, 'the resolve')
    expect(pager.sent.map((n) => n.event)).toEqual(['firing', 'resolved'])
  })

  it('a firing dropped as not retryable is paged again by a reload that fixes the channel', async () => {
    const [oncall, pager] = channels(OK, () => ({ ok: false, retryable: false, reason: 'HTTP 400: invalid routing key' }))
    const { alerter: a, results } = alerter([oncall, pager])
    await a.load()
    await a.configure([probe()])
    const [firing] = await fail(a, 5)
    await until(() => results.some(([, , result]) => result === 'dropped'), 'the firing dropped')
    const fixed = fakeChannel('pager', { type: 'pagerduty', events: ['firing', 'resolved', 'test'] })
    a.setChannels(new Map([oncall, fixed].map((c) => [c.name, c])))
    await a.configure([probe()])
    await until(() => fixed.sent.length === 1, 'the fixed pager paged')
    expect(fixed.sent[0]?.id).toBe(firing?.id)
  })

  it('ignores a run of a probe it does not know, and leaves no temp files', async () => {
    const { alerter: a } = alerter(channels())
    await a.load()
    await a.configure([probe()])
    expect(await run(a, 'failure', 'gone')).toEqual({ state: { kind: 'ok' }, notifications: [] })
    await fail(a, 7)
    await run(a, 'success')
    await a.close()
    expect(await readdir(dir)).toEqual([STATE_FILE])
  })
})
