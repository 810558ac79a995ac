import { hostname } from 'node:os'
import { HttpResponse, http, passthrough } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createChannel } from '../../../src/alerting/channels/index.ts'
import { dedupKey, PAGERDUTY_EVENTS_URL } from '../../../src/alerting/channels/pagerduty.ts'
import { deps, ENV, evidenceNotification, loadChannel, MASKED_EXCERPT, noSignal, notification, startServer } from './helpers.ts'

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const ACCEPTED = () => HttpResponse.json({ status: 'success', message: 'Event processed', dedup_key: 'x' }, { status: 202 })

function channel(entry: Record<string, unknown> = {}) {
  const { config, secrets } = loadChannel('pagerduty', { routingKey: '{{ env.PD_ROUTING_KEY }}', ...entry })
  return createChannel(config, deps(secrets))
}

/** A fake Events API v2 at `url`: records each event and answers with the next of `answers` (the last repeats). */
function fakePagerDuty(answers: (() => Response)[] = [ACCEPTED], url = PAGERDUTY_EVENTS_URL) {
  const events: Record<string, unknown>[] = []
  server.use(
    http.post(url, async ({ request }) => {
      events.push((await request.json()) as Record<string, unknown>)
      return (answers[events.length - 1] ?? answers.at(-1)!)()
    }),
  )
  return events
}

describe('pagerduty channel', () => {
  it('triggers a firing notification with the incident id as dedup_key', async () => {
    const events = fakePagerDuty()
    expect(await channel().send(notification(), noSignal())).toEqual({ ok: true })
    expect(events).toEqual([
      {
        routing_key: ENV.PD_ROUTING_KEY,
        event_action: 'trigger',
        dedup_key: 'inc1234',
        client: 'smokeprobe',
        payload: {
          summary: notification().summary,
          source: 'eu-1',
          severity: 'critical',
          timestamp: '2026-01-01T10:05:00.000Z',
          component: 'items-crud',
          custom_details: {
            probe: 'items-crud',
            location: 'eu-1',
            step: 'read',
            reason: 'read: expected status 200, got 500',
            message: 'read: expected status 200, got 500',
            consecutiveFailures: 5,
            since: '2026-01-01T10:00:00.000Z',
            labels: { team: 'storefront' },
          },
        },
      },
    ])
  })

  it('resolves with the same dedup_key, also from a new channel instance (a restarted daemon)', async () => {
    const events = fakePagerDuty()
    await channel().send(notification(), noSignal())
    const resolved = notification({ event: 'resolved', id: 'inc1234-resolved', at: '2026-01-01T10:09:00.000Z', error: null })
    expect(await channel().send(resolved, noSignal())).toEqual({ ok: true })
    expect(events.map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', 'inc1234'],
      ['resolve', 'inc1234'],
    ])
    expect(events[1]).toEqual({ routing_key: ENV.PD_ROUTING_KEY, event_action: 'resolve', dedup_key: 'inc1234', client: 'smokeprobe' })
  })

  it('takes no reminders by default, and a reminder sent anyway is a deduplicated trigger', async () => {
    const c = channel()
    expect([...c.events].sort()).toEqual(['firing', 'resolved', 'test'])
    const events = fakePagerDuty()
    await c.send(notification({ event: 'reminder', id: 'inc1234-reminder-1' }), noSignal())
    expect(events[0]).toMatchObject({ event_action: 'trigger', dedup_key: 'inc1234' })
  })

  it('a test triggers an incident of its own and resolves it at once', async () => {
    const events = fakePagerDuty()
    const test = notification({ event: 'test', id: 'test-1', incidentId: 'smokeprobe-test-1', probe: 'smokeprobe-test', error: null })
    expect(await channel().send(test, noSignal())).toEqual({ ok: true })
    expect(events.map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', 'smokeprobe-test-1'],
      ['resolve', 'smokeprobe-test-1'],
    ])
  })

  it('a test whose trigger is refused sends no resolve', async () => {
    const events = fakePagerDuty([() => HttpResponse.json({ status: 'invalid event' }, { status: 400 })])
    const result = await channel().send(notification({ event: 'test', incidentId: 't-2' }), noSignal())
    expect(result).toMatchObject({ ok: false, retryable: false })
    expect(events).toHaveLength(1)
  })

  it('uses the configured URL, severity, and the hostname as source when there is no location', async () => {
    const events = fakePagerDuty([ACCEPTED], 'http://pd.internal.test/v2/enqueue')
    const c = channel({ url: 'http://pd.internal.test/v2/enqueue', severity: 'warning' })
    expect(await c.send(notification({ location: null }), noSignal())).toEqual({ ok: true })
    expect(events[0]).toMatchObject({ payload: { severity: 'warning', source: hostname() } })
  })

  it('truncates the summary to 1024 characters like Alertmanager', async () => {
    const events = fakePagerDuty()
    await channel().send(notification({ summary: `FIRING ${'é'.repeat(2000)}` }), noSignal())
    const summary = (events[0]!.payload as { summary: string }).summary
    expect(Array.from(summary)).toHaveLength(1024)
    expect(summary.endsWith('é…')).toBe(true)
  })

  it('drops custom_details from an event over 512 KB instead of having it refused', async () => {
    const events = fakePagerDuty()
    await channel().send(notification({ labels: { big: 'x'.repeat(600_000) } }), noSignal())
    const payload = events[0]?.payload as { custom_details: unknown; summary: string }
    expect(payload.custom_details).toEqual({
      error: 'Custom details have been removed because the original event exceeds the maximum size of 512kB',
    })
    expect(payload.summary).toBe(notification().summary)
  })

  it('hashes an incident id too long for a dedup_key, stably', () => {
    expect(dedupKey('a'.repeat(255))).toBe('a'.repeat(255))
    expect(dedupKey('a'.repeat(256))).toMatch(/^[0-9a-f]{64}$/)
    expect(dedupKey('a'.repeat(256))).toBe(dedupKey('a'.repeat(256)))
  })

  it('400 (a malformed event) is not retried', async () => {
    fakePagerDuty([() => HttpResponse.json({ status: 'invalid event', errors: ['payload.summary is missing'] }, { status: 400 })])
    const result = await channel().send(notification(), noSignal())
    expect(result).toEqual({
      ok: false,
      retryable: false,
      reason: 'HTTP 400: {"status":"invalid event","errors":["payload.summary is missing"]}',
    })
  })

  it('429 is retried after Retry-After, and the same event then succeeds', async () => {
    const events = fakePagerDuty([() => new HttpResponse(null, { status: 429, headers: { 'retry-after': '30' } }), ACCEPTED])
    const c = channel()
    expect(await c.send(notification(), noSignal())).toEqual({ ok: false, retryable: true, reason: 'HTTP 429', retryAfterMs: 30_000 })
    expect(await c.send(notification(), noSignal())).toEqual({ ok: true })
    expect(events[0]).toEqual(events[1])
  })

  it.each([500, 502, 503])('HTTP %i is retried', async (status) => {
    fakePagerDuty([() => new HttpResponse(null, { status })])
    expect(await channel().send(notification(), noSignal())).toMatchObject({ ok: false, retryable: true })
  })

  it('never reveals the routing key, even when PagerDuty quotes it back', async () => {
    server.use(
      http.post(PAGERDUTY_EVENTS_URL, async ({ request }) => {
        const event = (await request.json()) as { routing_key: string }
        return HttpResponse.json({ status: 'invalid event', message: `unknown routing key ${event.routing_key}` }, { status: 400 })
      }),
    )
    const result = await channel().send(notification(), noSignal())
    expect(result.ok).toBe(false)
    expect(JSON.stringify(result)).not.toContain(ENV.PD_ROUTING_KEY)
    expect(result.ok || result.reason).toContain('unknown routing key ***')
  })

  it('a network error is retried', async () => {
    fakePagerDuty([() => HttpResponse.error()])
    expect(await channel().send(notification(), noSignal())).toMatchObject({ ok: false, retryable: true })
  })
})

describe('pagerduty channel: failure evidence', () => {
  it('puts the excerpt, step and reason in payload.custom_details, the echoed secret masked (real loopback server)', async () => {
    const s = await startServer((_req, res) =>
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"success","message":"Event processed","dedup_key":"x"}'),
    )
    // The loopback server is real: msw lets its requests through.
    server.use(http.all(`${s.url}/*`, () => passthrough()))
    try {
      const { config, secrets } = loadChannel('pagerduty', { routingKey: '{{ env.PD_ROUTING_KEY }}', url: `${s.url}/v2/enqueue` })
      expect(await createChannel(config, deps(secrets)).send(evidenceNotification(ENV.PD_ROUTING_KEY), noSignal())).toEqual({ ok: true })
      const body = s.received[0]?.body ?? ''
      const event = JSON.parse(body) as { routing_key: string; payload: { custom_details: Record<string, unknown> } }
      // The routing key travels in its own field, and only there.
      expect(event.routing_key).toBe(ENV.PD_ROUTING_KEY)
      expect(JSON.stringify(event.payload)).not.toContain(ENV.PD_ROUTING_KEY)
      expect(event.payload.custom_details).toMatchObject({
        step: 'read',
        reason: 'read: expected status 200, got 500',
        status: 500,
        contentType: 'application/json',
        excerpt: MASKED_EXCERPT,
      })
    } finally {
      await s.close()
    }
  })
})
