import type { Logger } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { AlertmanagerAlert } from '../../../src/alerting/channels/alertmanager-alert.ts'
import { type AlertmanagerChannel, alertmanager } from '../../../src/alerting/channels/alertmanager.ts'
import { deps, loadChannel, noSignal, notification } from './helpers.ts'

const T0 = Date.parse('2026-01-01T10:05:00.000Z')
const MINUTE = 60_000

/**
 * The re-send schedule under fake timers. Requests go to a stub fetch (no
 * socket: fake timers and real loopback I/O do not mix), which records each
 * request as it is made; bodies are read afterwards.
 */
let requests: Request[]
let answer: () => Promise<Response>
let channel: AlertmanagerChannel

function stubFetch(input: RequestInfo | URL): Promise<Response> {
  requests.push(input as Request)
  return answer()
}

async function batches(): Promise<AlertmanagerAlert[][]> {
  return Promise.all(requests.map((r) => r.clone().json() as Promise<AlertmanagerAlert[]>))
}

function create(logger?: Logger) {
  const { config, secrets } = loadChannel('alertmanager', { url: ['http://am-1:9093', 'http://am-2:9093'], resendInterval: '1m' })
  channel = alertmanager.create(config, deps(secrets, { fetch: stubFetch, ...(logger ? { logger } : {}) })) as AlertmanagerChannel
  return channel
}

const probeA = notification({ probe: 'a', incidentId: 'ia', since: '2026-01-01T10:00:00.000Z' })
const probeB = notification({ probe: 'b', incidentId: 'ib', since: '2026-01-01T10:01:00.000Z' })

beforeEach(() => {
  vi.useFakeTimers({ now: T0 })
  requests = []
  answer = async () => new Response(null, { status: 200 })
})
afterEach(async () => {
  await channel.close()
  vi.useRealTimers()
})

describe('alertmanager re-sending', () => {
  it('re-sends every firing alert to every member each interval, endsAt always four intervals ahead', async () => {
    const c = create()
    await c.send(probeA, noSignal())
    expect(requests.map((r) => r.url)).toEqual(['http://am-1:9093/api/v2/alerts', 'http://am-2:9093/api/v2/alerts'])
    await vi.advanceTimersByTimeAsync(MINUTE)
    await c.send(probeB, noSignal())
    await vi.advanceTimersByTimeAsync(MINUTE)
    const sent = await batches()
    // per round, two members: send A, tick [A], send B, tick [A, B]
    expect(sent.map((batch) => batch.map((alert) => alert.labels.probe))).toEqual([
      ['a'],
      ['a'],
      ['a'],
      ['a'],
      ['b'],
      ['b'],
      ['a', 'b'],
      ['a', 'b'],
    ])
    expect(sent[2]?.[0]?.endsAt).toBe(new Date(T0 + MINUTE + 4 * MINUTE).toISOString())
    expect(sent[6]?.map((alert) => alert.endsAt)).toEqual([
      new Date(T0 + 6 * MINUTE).toISOString(),
      new Date(T0 + 6 * MINUTE).toISOString(),
    ])
    expect(sent[6]?.map((alert) => alert.startsAt)).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-01T10:01:00.000Z'])
  })

  it('keeps re-sending a resolved alert for 15 minutes, then forgets it and stops its timer', async () => {
    const c = create()
    await c.send(probeA, noSignal())
    const resolvedAt = new Date(T0 + 30_000).toISOString()
    await c.send({ ...probeA, event: 'resolved', id: 'ia-resolved', at: resolvedAt, error: null }, noSignal())
    requests = []
    await vi.advanceTimersByTimeAsync(14 * MINUTE)
    const sent = await batches()
    expect(sent).toHaveLength(28)
    expect(new Set(sent.map((batch) => batch[0]?.endsAt))).toEqual(new Set([resolvedAt]))
    requests = []
    await vi.advanceTimersByTimeAsync(2 * MINUTE)
    expect(requests).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('resume() re-sends what was firing before a restart at once, then every interval', async () => {
    const c = create()
    c.resume([probeA, { ...probeB, event: 'resolved' }])
    await vi.advanceTimersByTimeAsync(0)
    expect((await batches()).map((batch) => batch.map((alert) => alert.labels.probe))).toEqual([['a'], ['a']])
    await vi.advanceTimersByTimeAsync(MINUTE)
    expect(requests).toHaveLength(4)
  })

  it('close() stops re-sending', async () => {
    const c = create()
    await c.send(probeA, noSignal())
    await c.close()
    requests = []
    await vi.advanceTimersByTimeAsync(5 * MINUTE)
    expect(requests).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('does not start a second round while one is still waiting for an answer', async () => {
    const c = create()
    await c.send(probeA, noSignal())
    const pending: (() => void)[] = []
    answer = () => new Promise((resolve) => pending.push(() => resolve(new Response(null, { status: 200 }))))
    requests = []
    await vi.advanceTimersByTimeAsync(3 * MINUTE)
    // one round, two members, both still pending
    expect(requests).toHaveLength(2)
    answer = async () => new Response(null, { status: 200 })
    for (const release of pending) release()
    await vi.advanceTimersByTimeAsync(MINUTE)
    expect(requests).toHaveLength(4)
  })

  it('logs a member failure when it starts and when it ends, not at every re-send', async () => {
    const logger = { warn: vi.fn(), info: vi.fn(), error: vi.fn(), debug: vi.fn() }
    const c = create(logger as unknown as Logger)
    answer = async () => new Response('down for maintenance', { status: 503 })
    expect(await c.send(probeA, noSignal())).toMatchObject({ ok: false, retryable: true })
    await vi.advanceTimersByTimeAsync(3 * MINUTE)
    expect(logger.warn).toHaveBeenCalledTimes(2)
    expect(logger.warn).toHaveBeenCalledWith(
      { channel: 'test-channel', alertmanager: 'http://am-1:9093', reason: 'HTTP 503: down for maintenance' },
      'alertmanager post failed',
    )
    answer = async () => new Response(null, { status: 200 })
    await vi.advanceTimersByTimeAsync(2 * MINUTE)
    expect(logger.warn).toHaveBeenCalledTimes(2)
    expect(logger.info).toHaveBeenCalledTimes(2)
    expect(logger.info).toHaveBeenCalledWith(
      { channel: 'test-channel', alertmanager: 'http://am-1:9093' },
      'alertmanager accepts alerts again',
    )
  })
})
