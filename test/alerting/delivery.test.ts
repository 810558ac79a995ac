import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { backoffDelay, createDelivery, type DeliveryDeps, type OutboxEntry } from '../../src/alerting/delivery.ts'
import type { NotificationEvent } from '../../src/alerting/notification.ts'
import { BLACK_HOLE, captureLogger, DOWN, type FakeChannel, fakeChannel, HANG, notification, OK } from './fakes.ts'

const T0 = Date.parse('2026-03-01T10:00:00.000Z')
const FIRING = notification()
const RESOLVED = notification({ id: 'inc1-resolved', event: 'resolved', error: null })

interface Harness {
  readonly delivery: ReturnType<typeof createDelivery>
  readonly results: [string, NotificationEvent, string][]
  readonly lines: ReturnType<typeof captureLogger>['lines']
  persisted: number
}

function harness(channels: FakeChannel[], overrides: Partial<DeliveryDeps> = {}): Harness {
  const { logger, lines } = captureLogger()
  const results: Harness['results'] = []
  const h: Harness = {
    results,
    lines,
    persisted: 0,
    delivery: createDelivery({
      // This file's channels allow 5s per attempt.
      channels: new Map(channels.map((c) => [c.name, Object.assign(c, { timeoutMs: 5_000 })])),
      logger,
      persist: () => void h.persisted++,
      onResult: (channel, event, result) => void results.push([channel, event, result]),
      random: () => 0.5,
      ...overrides,
    }),
  }
  return h
}

/** Lets promise chains run and timers due by then fire. */
const advance = (ms = 0) => vi.advanceTimersByTimeAsync(ms)

beforeEach(() => {
  vi.useFakeTimers({ now: T0 })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, scaled by the jitter draw', () => {
    const policy = { baseDelayMs: 1_000, maxDelayMs: 300_000 }
    expect([1, 2, 3, 4, 9, 10, 30].map((n) => backoffDelay(n, policy, () => 0.999_999))).toEqual([
      999, 1_999, 3_999, 7_999, 255_999, 299_999, 299_999,
    ])
    expect(backoffDelay(5, policy, () => 0)).toBe(0)
    expect(backoffDelay(3, policy, () => 0.5)).toBe(2_000)
  })
})

describe('delivery', () => {
  it('reports the pending count per channel on every change of the outbox', async () => {
    const chat = fakeChannel('chat', { respond: DOWN })
    const mail = fakeChannel('mail')
    const pending: Record<string, number>[] = []
    const h = harness([chat, mail], { onPending: (counts) => void pending.push(Object.fromEntries(counts)) })
    h.delivery.restore([])
    h.delivery.enqueue('chat', FIRING)
    h.delivery.enqueue('chat', RESOLVED)
    h.delivery.enqueue('mail', FIRING)
    h.delivery.kick()
    await advance()
    // The failed attempt changes chat's entry (its next attempt), not the counts; mail's delivery does.
    expect(pending).toEqual([{}, { chat: 1 }, { chat: 2 }, { chat: 2, mail: 1 }, { chat: 2, mail: 1 }, { chat: 2 }])
    chat.respond = OK
    await advance(60_000)
    expect(pending.at(-1)).toEqual({})
  })

  it('delivers an entry once, counts it sent, and empties the outbox', async () => {
    const chat = fakeChannel('chat')
    const h = harness([chat])
    expect(h.delivery.enqueue('chat', FIRING)).toBe(true)
    h.delivery.kick()
    await advance()
    expect(chat.sent).toEqual([FIRING])
    expect(h.results).toEqual([['chat', 'firing', 'sent']])
    expect(h.delivery.entries()).toEqual([])
    expect(h.persisted).toBeGreaterThan(0)
  })

  it('an event queued again behind a newer one of its incident undoes the newer one (resolve, re-page, resolve while down)', async () => {
    const pager = fakeChannel('pager')
    const h = harness([pager])
    h.delivery.enqueue('pager', FIRING)
    h.delivery.kick()
    await advance()
    pager.respond = DOWN
    // Dropped from the probe, listed again, then recovered: all while the channel is down.
    h.delivery.enqueue('pager', RESOLVED)
    h.delivery.enqueue('pager', FIRING)
    h.delivery.enqueue('pager', RESOLVED)
    h.delivery.kick()
    expect(h.delivery.entries().map((e) => e.notification.event)).toEqual(['resolved'])
    pager.respond = OK
    await advance(60_000)
    expect(pager.sent.map((n) => n.event)).toEqual(['firing', 'resolved'])
  })

  it('holds enqueued entries until kick, so the caller can persist them first', async () => {
    const chat = fakeChannel('chat')
    const h = harness([chat])
    h.delivery.enqueue('chat', FIRING)
    await advance(60_000)
    expect(chat.attempts).toEqual([])
    expect(h.delivery.entries().map((e) => e.notification.id)).toEqual(['inc1-firing'])
    h.delivery.kick()
    await advance()
    expect(chat.sent).toHaveLength(1)
  })

  it('skips a channel that takes no such event, and a notification already queued', () => {
    const pager = fakeChannel('pager', { events: ['firing', 'resolved', 'test'] })
    const h = harness([pager])
    expect(h.delivery.enqueue('pager', notification({ id: 'inc1-reminder-1', event: 'reminder' }))).toBe(false)
    expect(h.delivery.enqueue('nowhere', FIRING)).toBe(false)
    expect(h.delivery.enqueue('pager', FIRING)).toBe(true)
    expect(h.delivery.enqueue('pager', FIRING)).toBe(false)
    expect(h.delivery.entries()).toHaveLength(1)
  })

  it('retries a channel that is down with growing backoff, then delivers exactly once', async () => {
    const chat = fakeChannel('chat', { respond: DOWN })
    const h = harness([chat], { random: () => 0.999_999 })
    h.delivery.enqueue('chat', FIRING)
    h.delivery.kick()
    await advance()
    const times: number[] = [Date.now()]
    for (let i = 0; i < 8; i++) {
      const before = chat.attempts.length
      await advance(1_000)
      let guard = 0
      while (chat.attempts.length === before && guard++ < 400) await advance(1_000)
      times.push(Date.now())
    }
    const gaps = times.slice(1).map((t, i) => Math.round((t - (times[i] ?? 0)) / 1_000))
    expect(gaps).toEqual([1, 2, 4, 8, 16, 32, 64, 128])
    expect(h.delivery.entries()[0]).toMatchObject({
      attempts: 9,
      lastError: 'connect ECONNREFUSED 127.0.0.1:9',
      firstAttemptAt: new Date(T0).toISOString(),
    })
    chat.respond = OK
    await advance(300_000)
    await advance(300_000)
    expect(chat.sent).toEqual([FIRING])
    // Every failed attempt is counted, then the one delivery.
    expect(h.results).toEqual([...Array.from({ length: 9 }, () => ['chat', 'firing', 'failed']), ['chat', 'firing', 'sent']])
    expect(h.delivery.entries()).toEqual([])
  })

  it('honours Retry-After from a 429', async () => {
    let calls = 0
    const pager = fakeChannel('pager', {
      respond: () => (++calls === 1 ? { ok: false, retryable: true, reason: 'HTTP 429', retryAfterMs: 30_000 } : { ok: true }),
    })
    const h = harness([pager], { random: () => 0 })
    h.delivery.enqueue('pager', FIRING)
    h.delivery.kick()
    await advance()
    expect(pager.attempts).toHaveLength(1)
    await advance(29_990)
    expect(pager.attempts).toHaveLength(1)
    await advance(20)
    expect(pager.sent).toEqual([FIRING])
  })

  it('Retry-After pauses every incident on that channel, not only the one that got it', async () => {
    const pager = fakeChannel('pager', { respond: () => ({ ok: false, retryable: true, reason: 'HTTP 429', retryAfterMs: 10_000 }) })
    const h = harness([pager], { random: () => 0 })
    h.delivery.enqueue('pager', FIRING)
    h.delivery.kick()
    await advance()
    pager.respond = OK
    h.delivery.enqueue('pager', notification({ id: 'inc2-firing', incidentId: 'inc2' }))
    h.delivery.kick()
    await advance(9_000)
    expect(pager.sent).toEqual([])
    await advance(1_100)
    expect(pager.sent.map((n) => n.id).sort()).toEqual(['inc1-firing', 'inc2-firing'])
  })

  it('a Retry-After beyond its bound is cut to it, and the pause ends', async () => {
    let calls = 0
    const chat = fakeChannel('chat', {
      respond: () => (++calls === 1 ? { ok: false, retryable: true, reason: 'HTTP 503', retryAfterMs: 99_999_999_000 } : { ok: true }),
    })
    const h = harness([chat], { random: () => 0 })
    h.delivery.enqueue('chat', FIRING)
    h.delivery.kick()
    await advance()
    expect(chat.attempts).toHaveLength(1)
    await advance(59_990)
    expect(chat.attempts).toHaveLength(1)
    await advance(20)
    expect(chat.sent).toEqual([FIRING])
    // The pause is over: a later incident goes at once.
    h.delivery.enqueue('chat', notification({ id: 'inc2-firing', incidentId: 'inc2' }))
    h.delivery.kick()
    await advance(1)
    expect(chat.sent.map((n) => n.id)).toEqual(['inc1-firing', 'inc2-firing'])
  })

  it('gives up an entry that waited past the age bound without another attempt', async () => {
    const chat = fakeChannel('chat', { respond: DOWN })
    const h = harness([chat], { retry: { maxAgeMs: 3_600_000 } })
    h.delivery.restore([
      {
        channel: 'chat',
        identity: null,
        notification: FIRING,
        attempts: 1,
        enqueuedAt: new Date(T0).toISOString(),
        firstAttemptAt: new Date(T0).toISOString(),
        // A retry far beyond the age bound, as an old uncapped Retry-After left it in the state file.
        nextAttemptAt: new Date(T0 + 365 * 86_400_000).toISOString(),
        lastError: 'HTTP 503',
      },
    ])
    h.delivery.kick()
    await advance(3_600_001)
    expect(chat.attempts).toEqual([])
    expect(h.delivery.entries()).toEqual([])
    expect(h.lines.find((l) => l.msg === 'notification dropped')?.reason).toMatch(/^gave up after 1 attempts: not delivered within/)
  })

  it('drops a non-retryable failure after one attempt, logged and counted as failed and dropped', async () => {
    const pager = fakeChannel('pager', { respond: () => ({ ok: false, retryable: false, reason: 'HTTP 400: invalid routing key' }) })
    const h = harness([pager])
    h.delivery.enqueue('pager', FIRING)
    h.delivery.kick()
    await advance(600_000)
    expect(pager.attempts).toHaveLength(1)
    expect(h.results).toEqual([
      ['pager', 'firing', 'failed'],
      ['pager', 'firing', 'dropped'],
    ])
    expect(h.delivery.entries()).toEqual([])
    expect(h.lines.filter((l) => l.msg === 'notification dropped')).toMatchObject([
      { channel: 'pager', reason: 'HTTP 400: invalid routing key' },
    ])
  })

  it('never delivers a resolve before its firing on the same channel', async () => {
    const pager = fakeChannel('pager', { respond: DOWN })
    const h = harness([pager], { random: () => 0.999_999 })
    h.delivery.enqueue('pager', FIRING)
    h.delivery.kick()
    await advance(10_000)
    h.delivery.enqueue('pager', RESOLVED)
    h.delivery.kick()
    await advance(10_000)
    expect(pager.attempts.every((n) => n.event === 'firing')).toBe(true)
    pager.respond = OK
    await advance(600_000)
    expect(pager.sent.map((n) => n.event)).toEqual(['firing', 'resolved'])
    expect(h.delivery.entries()).toEqual([])
  })

  it('a channel that hangs delays neither another channel nor another incident on its own channel', async () => {
    const slow = fakeChannel('slow', { respond: HANG })
    const fast = fakeChannel('fast')
    const h = harness([slow, fast])
    const other = notification({ id: 'inc2-firing', incidentId: 'inc2', probe: 'orders' })
    h.delivery.enqueue('slow', FIRING)
    h.delivery.kick()
    await advance()
    slow.respond = (n, signal) => (n.incidentId === 'inc2' ? { ok: true } : HANG(n, signal))
    h.delivery.enqueue('slow', other)
    h.delivery.enqueue('fast', FIRING)
    h.delivery.kick()
    await advance(10)
    expect(fast.sent).toEqual([FIRING])
    expect(slow.sent).toEqual([other])
  })

  it('ends an attempt at the channel timeout even when the channel ignores its signal', async () => {
    const chat = fakeChannel('chat', { respond: BLACK_HOLE })
    const h = harness([chat], { random: () => 0 })
    h.delivery.enqueue('chat', FIRING)
    h.delivery.kick()
    await advance(4_999)
    expect(h.delivery.entries()[0]?.attempts).toBe(0)
    await advance(1)
    expect(h.delivery.entries()[0]).toMatchObject({ attempts: 1, lastError: 'timed out after 5000 ms' })
    chat.respond = OK
    await advance(10)
    expect(chat.sent).toEqual([FIRING])
  })

  it('treats a channel that throws as a retryable fault', async () => {
    let calls = 0
    const chat = fakeChannel('chat', {
      respond: () => {
        if (++calls === 1) throw new Error('bug in channel')
        return { ok: true }
      },
    })
    const h = harness([chat], { random: () => 0 })
    h.delivery.enqueue('chat', FIRING)
    h.delivery.kick()
    await advance(10)
    expect(chat.attempts).toHaveLength(2)
    expect(chat.sent).toEqual([FIRING])
    expect(h.results).toEqual([
      ['chat', 'firing', 'failed'],
      ['chat', 'firing', 'sent'],
    ])
  })

  it('gives up after the age bound and counts the entry as failed', async () => {
    const chat = fakeChannel('chat', { respond: DOWN })
    const h = harness([chat], { retry: { maxAgeMs: 3_600_000, maxDelayMs: 60_000 }, random: () => 0.999_999 })
    h.delivery.enqueue('chat', FIRING)
    h.delivery.kick()
    for (let i = 0; i < 70 && h.delivery.entries().length > 0; i++) await advance(60_000)
    expect(h.delivery.entries()).toEqual([])
    // One count per attempt, then the entry given up; nothing was ever sent.
    expect(h.results).toEqual([...chat.attempts.map(() => ['chat', 'firing', 'failed']), ['chat', 'firing', 'dropped']])
    expect(Date.now() - T0).toBeLessThanOrEqual(3_600_000)
    expect(h.lines.find((l) => l.msg === 'notification dropped')?.reason).toMatch(/^gave up after \d+ attempts: connect ECONNREFUSED/)
  })

  it('logs a repeating delivery error once, again when it changes, and the recovery', async () => {
    const chat = fakeChannel('chat', { respond: DOWN })
    const h = harness([chat], { random: () => 0 })
    h.delivery.enqueue('chat', FIRING)
    h.delivery.kick()
    for (let i = 0; i < 5; i++) await advance(1)
    chat.respond = () => ({ ok: false, retryable: true, reason: 'HTTP 503' })
    for (let i = 0; i < 5; i++) await advance(1)
    chat.respond = OK
    await advance(1)
    expect(chat.attempts.length).toBeGreaterThanOrEqual(10)
    const messages = h.lines.filter((l) => l.level >= 30).map((l) => [l.msg, l.reason])
    expect(messages).toEqual([
      ['notification delivery failed; will retry', 'connect ECONNREFUSED 127.0.0.1:9'],
      ['notification delivery failed; will retry', 'HTTP 503'],
      ['notification delivery recovered', undefined],
    ])
  })

  it('a newer event of the incident supersedes a queued reminder', async () => {
    const chat = fakeChannel('chat', { respond: DOWN })
    const h = harness([chat], { random: () => 0.999_999 })
    h.delivery.enqueue('chat', FIRING)
    h.delivery.kick()
    await advance()
    h.delivery.enqueue('chat', notification({ id: 'inc1-reminder-1', event: 'reminder' }))
    h.delivery.enqueue('chat', notification({ id: 'inc1-reminder-2', event: 'reminder' }))
    h.delivery.enqueue('chat', RESOLVED)
    expect(h.delivery.entries().map((e) => e.notification.id)).toEqual(['inc1-firing', 'inc1-resolved'])
  })

  it('drops a restored entry whose channel is gone, and restores the rest in order', async () => {
    const chat = fakeChannel('chat')
    const h = harness([chat])
    const entry = (channel: string, id: string, event: NotificationEvent): OutboxEntry => ({
      channel,
      identity: null,
      notification: notification({ id, event }),
      attempts: 3,
      enqueuedAt: new Date(T0 - 60_000).toISOString(),
      firstAttemptAt: new Date(T0 - 60_000).toISOString(),
      nextAttemptAt: new Date(T0 - 1_000).toISOString(),
      lastError: 'HTTP 503',
    })
    h.delivery.restore([
      entry('chat', 'inc1-firing', 'firing'),
      entry('gone', 'inc1-firing', 'firing'),
      entry('chat', 'inc1-resolved', 'resolved'),
    ])
    h.delivery.kick()
    await advance(10)
    expect(chat.sent.map((n) => n.event)).toEqual(['firing', 'resolved'])
    expect(h.results).toContainEqual(['gone', 'firing', 'dropped'])
    expect(h.results).not.toContainEqual(['gone', 'firing', 'failed'])
  })

  it('flush delivers what is due, stops at the deadline and keeps the rest', async () => {
    const ok = fakeChannel('ok')
    const stuck = fakeChannel('stuck', { respond: HANG })
    const h = harness([ok, stuck])
    h.delivery.enqueue('ok', FIRING)
    h.delivery.enqueue('stuck', FIRING)
    const flushed = h.delivery.flush(2_000)
    let done = false
    void flushed.then(() => {
      done = true
    })
    await advance(1_999)
    expect(done).toBe(false)
    await advance(2)
    expect(done).toBe(true)
    expect(ok.sent).toEqual([FIRING])
    expect(h.delivery.entries()).toMatchObject([{ channel: 'stuck', attempts: 1, lastError: 'aborted: shutting down' }])
  })

  it('flush returns at once when nothing is due', async () => {
    const chat = fakeChannel('chat', { respond: DOWN })
    const h = harness([chat], { random: () => 0.999_999, retry: { baseDelayMs: 60_000 } })
    h.delivery.enqueue('chat', FIRING)
    h.delivery.kick()
    await advance()
    const started = Date.now()
    await h.delivery.flush(10_000)
    expect(Date.now() - started).toBe(0)
    expect(h.delivery.entries()).toHaveLength(1)
  })
})
