import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Alerter, type AlertProbe, createAlerter } from '../../src/alerting/alerter.ts'
import type { Channel } from '../../src/alerting/channel.ts'
import { createChannel } from '../../src/alerting/channels/index.ts'
import { BUILTIN_POLICY } from '../../src/config/alert-policy.ts'
import type { RunOutcome } from '../../src/probe/result.ts'
import { deps, loadChannel, startServer } from './channels/helpers.ts'
import { captureLogger, fakeChannel, until } from './fakes.ts'

/**
 * `sendResolved: false` spares edge-triggered channels the resolve, but a
 * level-triggered one (Alertmanager) must still hear that the incident ended,
 * or it re-posts the alert as firing forever (review H3).
 */
let dir: string
const cleanups: (() => Promise<void>)[] = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-level-'))
})
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
  await rm(dir, { recursive: true, force: true })
})

const FAILURE = { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' } as const

function probe(name: string, channels: string[]): AlertProbe {
  return { name, labels: {}, policy: { ...BUILTIN_POLICY, failureThreshold: 2, sendResolved: false, reminderIntervalMs: 0, channels } }
}

function start(channels: Channel[]): Alerter {
  const a = createAlerter({
    stateDir: dir,
    channels: new Map(channels.map((c) => [c.name, c])),
    location: null,
    logger: captureLogger().logger,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  })
  cleanups.push(() => a.close())
  return a
}

let runs = 0
function run(a: Alerter, outcome: RunOutcome, name = 'items-crud') {
  return a.record({
    probe: name,
    runId: `run-${++runs}`,
    startedAt: new Date().toISOString(),
    durationMs: 1,
    outcome,
    failure: outcome === 'failure' ? FAILURE : null,
    steps: [],
  })
}

describe('level-triggered channels with sendResolved false', () => {
  it('the level-triggered channel gets the resolve, the edge-triggered one does not', async () => {
    const am = fakeChannel('am', { type: 'alertmanager', levelTriggered: true, events: ['firing', 'resolved', 'test'] })
    const chat = fakeChannel('chat')
    const a = start([am, chat])
    await a.load()
    await a.configure([probe('items-crud', ['am', 'chat'])])
    await run(a, 'failure')
    await run(a, 'failure')
    const { notifications } = await run(a, 'success')
    expect(notifications.map((n) => n.event)).toEqual(['resolved'])
    await until(() => am.sent.length === 2 && chat.sent.length === 1, 'firing on both, resolve on am')
    expect(am.sent.map((n) => n.event)).toEqual(['firing', 'resolved'])
    expect(chat.attempts.map((n) => n.event)).toEqual(['firing'])
  })

  it('a probe removed while firing is resolved on the level-triggered channel only', async () => {
    const am = fakeChannel('am', { type: 'alertmanager', levelTriggered: true, events: ['firing', 'resolved', 'test'] })
    const chat = fakeChannel('chat')
    const a = start([am, chat])
    await a.load()
    await a.configure([probe('items-crud', ['am', 'chat']), probe('orders', ['am'])])
    await run(a, 'failure')
    await run(a, 'failure')
    await a.configure([probe('orders', ['am'])])
    await until(() => am.sent.length === 2, 'resolve of the removed probe on am')
    expect(am.sent.map((n) => [n.probe, n.event])).toEqual([
      ['items-crud', 'firing'],
      ['items-crud', 'resolved'],
    ])
    expect(chat.attempts.map((n) => n.event)).toEqual(['firing'])
  })

  it('a real Alertmanager stops being told the alert fires once the probe passes', async () => {
    const server = await startServer((_req, res) => res.writeHead(200).end())
    cleanups.push(server.close)
    const { config, secrets } = loadChannel('alertmanager', { url: server.url, resendInterval: '1s' })
    const channel = createChannel(config, deps(secrets, { name: 'am' }))
    cleanups.push(() => channel.close?.() ?? Promise.resolve())
    const a = start([channel])
    await a.load()
    await a.configure([probe('items-crud', ['am'])])
    await run(a, 'failure')
    await run(a, 'failure')
    await until(() => server.received.length >= 1, 'the firing post')
    await run(a, 'success')
    const resolvedAt = Date.now()
    // Resolved: the latest post's alert ends by now (a firing one ends four intervals ahead).
    const endsAt = () => {
      const last = server.received.at(-1)
      const alerts = last ? (JSON.parse(last.body) as { endsAt: string }[]) : []
      return Date.parse(alerts[0]?.endsAt ?? '')
    }
    await until(() => endsAt() <= resolvedAt + 5, 'a post with the alert resolved', 3_000)
  })
})
