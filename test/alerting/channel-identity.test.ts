import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Alerter, type AlertProbe, createAlerter } from '../../src/alerting/alerter.ts'
import { channelHash } from '../../src/alerting/channels/index.ts'
import { STATE_FILE } from '../../src/alerting/store.ts'
import { BUILTIN_POLICY } from '../../src/config/alert-policy.ts'
import type { RunOutcome } from '../../src/probe/result.ts'
import { loadChannel } from './channels/helpers.ts'
import { captureLogger, type FakeChannel, fakeChannel, until } from './fakes.ts'

/**
 * A channel is its name and the hash of its destination (review M2): a
 * reload that points `pager` at another routing key must not send the resolve
 * to a service that never saw the trigger.
 */
let dir: string
const open: Alerter[] = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-identity-'))
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close()))
  await rm(dir, { recursive: true, force: true })
})

const FAILURE = { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' } as const
const PROBE: AlertProbe = {
  name: 'items-crud',
  labels: {},
  policy: { ...BUILTIN_POLICY, failureThreshold: 2, reminderIntervalMs: 0, channels: ['pager'] },
}

const pager = () => fakeChannel('pager', { type: 'pagerduty', events: ['firing', 'resolved', 'test'] })

function start(channel: FakeChannel, hash: string | null): { alerter: Alerter; lines: ReturnType<typeof captureLogger>['lines'] } {
  const { logger, lines } = captureLogger()
  const alerter = createAlerter({
    stateDir: dir,
    channels: new Map([['pager', channel]]),
    ...(hash ? { channelIdentities: new Map([['pager', hash]]) } : {}),
    location: null,
    logger,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  })
  open.push(alerter)
  return { alerter, lines }
}

let runs = 0
function run(a: Alerter, outcome: RunOutcome) {
  return a.record({
    probe: 'items-crud',
    runId: `run-${++runs}`,
    startedAt: new Date(Date.parse('2026-03-01T10:00:00.000Z') + runs * 60_000).toISOString(),
    durationMs: 1,
    outcome,
    failure: outcome === 'failure' ? FAILURE : null,
    steps: [],
  })
}

/** An alerter whose probe has fired on `channel` (two failed runs, the firing delivered). */
async function paged(channel: FakeChannel, hash: string, what: string) {
  const started = start(channel, hash)
  const { alerter } = started
  await alerter.load()
  await alerter.configure([PROBE])
  await run(alerter, 'failure')
  const [firing] = (await run(alerter, 'failure')).notifications
  await until(() => channel.sent.length === 1, what)
  return { ...started, firing }
}

const quiet = () => new Promise((resolve) => setTimeout(resolve, 150))
const events = (c: FakeChannel) => c.attempts.map((n) => n.event)

describe('channel identity', () => {
  it('the hash follows the destination, not credentials or timings', () => {
    const pd = (entry: Record<string, unknown>) => channelHash(loadChannel('pagerduty', entry).config)
    expect(pd({ routingKey: 'key-one' })).toBe(pd({ routingKey: 'key-one', timeout: '3s', severity: 'warning' }))
    expect(pd({ routingKey: 'key-one' })).not.toBe(pd({ routingKey: 'key-two' }))
    const mail = (entry: Record<string, unknown>) =>
      channelHash(loadChannel('email', { from: 'a@example.com', to: ['b@example.com'], ...entry }).config)
    expect(mail({ smtp: { host: 'smtp', pass: 'one' } })).toBe(mail({ smtp: { host: 'smtp', pass: 'two' } }))
    expect(mail({ smtp: { host: 'smtp' } })).not.toBe(mail({ smtp: { host: 'smtp' }, to: ['c@example.com'] }))
    const hook = (url: string) => channelHash(loadChannel('webhook', { url }).config)
    expect(hook('http://127.0.0.1:1/a')).not.toBe(hook('http://127.0.0.1:1/b'))
  })

  it('a reload that changes the destination mid-incident: the old one is resolved, the new one paged, then resolved', async () => {
    const old = pager()
    const { alerter: a, firing } = await paged(old, 'key-one', 'the old destination paged')

    const moved = pager()
    a.setChannels(new Map([['pager', moved]]), new Map([['pager', 'key-two']]))
    await a.configure([PROBE])
    await until(() => old.sent.length === 2 && moved.sent.length === 1, 'old resolved, new paged')
    expect(events(old)).toEqual(['firing', 'resolved'])
    expect(moved.sent.map((n) => [n.event, n.id])).toEqual([['firing', firing?.id]])

    expect((await run(a, 'success')).notifications.map((n) => n.event)).toEqual(['resolved'])
    await until(() => moved.sent.length === 2, 'the new destination resolved')
    await quiet()
    expect(events(moved)).toEqual(['firing', 'resolved'])
    expect(events(old)).toEqual(['firing', 'resolved'])
  })

  it('a reload with the same destination sends nothing', async () => {
    const first = pager()
    const { alerter: a } = await paged(first, 'key-one', 'paged')
    const same = pager()
    a.setChannels(new Map([['pager', same]]), new Map([['pager', 'key-one']]))
    await a.configure([PROBE])
    await quiet()
    expect(same.attempts).toEqual([])
    expect(events(first)).toEqual(['firing'])
  })

  it('new channels given without hashes are not taken to have moved', async () => {
    const first = pager()
    const { alerter: a } = await paged(first, 'key-one', 'paged')
    const unknown = pager()
    a.setChannels(new Map([['pager', unknown]]))
    await a.configure([PROBE])
    await quiet()
    expect([events(first), events(unknown)]).toEqual([['firing'], []])
  })

  it('a destination changed while the daemon was down: the new one gets the firing before its resolve', async () => {
    const first = pager()
    const one = await paged(first, 'key-one', 'paged')
    await one.alerter.close()

    const moved = pager()
    const two = start(moved, 'key-two')
    await two.alerter.load()
    await two.alerter.configure([PROBE])
    await until(() => moved.sent.length === 1, 'the new destination paged')
    expect(two.lines.some((l) => l.msg.startsWith('channel destination changed while the daemon was down'))).toBe(true)
    await run(two.alerter, 'success')
    await until(() => moved.sent.length === 2, 'its resolve')
    expect(events(moved)).toEqual(['firing', 'resolved'])
  })

  it('a state file without hashes is taken to name the current destinations: no page again', async () => {
    const first = pager()
    const one = await paged(first, 'key-one', 'paged')
    await one.alerter.close()
    const file = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'))
    file.probes['items-crud'].paged = ['pager']
    await writeFile(join(dir, STATE_FILE), JSON.stringify(file))

    const again = pager()
    const two = start(again, 'key-one')
    await two.alerter.load()
    await two.alerter.configure([PROBE])
    await run(two.alerter, 'success')
    await until(() => again.sent.length === 1, 'the resolve')
    await quiet()
    expect(events(again)).toEqual(['resolved'])
    const saved = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'))
    expect(saved.probes['items-crud'].paged).toEqual([])
  })
})
