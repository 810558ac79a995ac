import { HttpResponse, http, passthrough } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createChannel } from '../../../src/alerting/channels/index.ts'
import type { Notification } from '../../../src/alerting/notification.ts'
import { deps, ENV, evidenceNotification, loadChannel, MASKED_EXCERPT, noSignal, notification, startServer } from './helpers.ts'

const HOOK = `https://hooks.example.test/${ENV.SECRET_PATH}`
const server = setupServer()

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

function channel() {
  const { config, secrets } = loadChannel('webhook', {
    url: 'https://hooks.example.test/{{ env.SECRET_PATH }}',
    headers: { authorization: 'Bearer {{ env.WEBHOOK_TOKEN }}', 'x-team': 'storefront' },
    timeout: '2s',
  })
  return createChannel(config, deps(secrets))
}

/** Answers every POST to the hook with `answer` and records what arrived. */
function capture(answer: () => Response = () => new HttpResponse(null, { status: 204 })) {
  const requests: { headers: Headers; body: unknown }[] = []
  server.use(
    http.post(HOOK, async ({ request }) => {
      requests.push({ headers: request.headers, body: await request.json() })
      return answer()
    }),
  )
  return requests
}

describe('webhook channel', () => {
  it('posts the SPEC payload with the configured headers, a user agent and an idempotency key', async () => {
    const requests = capture()
    const result = await channel().send(notification(), noSignal())
    expect(result).toEqual({ ok: true })
    expect(requests).toHaveLength(1)
    const [{ headers, body }] = requests as [(typeof requests)[0]]
    expect(body).toEqual({
      id: 'inc1234-firing',
      event: 'firing',
      probe: 'items-crud',
      location: 'eu-1',
      incidentId: 'inc1234',
      consecutiveFailures: 5,
      since: '2026-01-01T10:00:00.000Z',
      at: '2026-01-01T10:05:00.000Z',
      summary: notification().summary,
      error: { step: 'read', message: 'read: expected status 200, got 500' },
      labels: { team: 'storefront' },
      description: null,
      runbook: null,
    })
    expect(headers.get('content-type')).toBe('application/json')
    expect(headers.get('user-agent')).toBe('smokeprobe')
    expect(headers.get('idempotency-key')).toBe('inc1234-firing')
    expect(headers.get('authorization')).toBe(`Bearer ${ENV.WEBHOOK_TOKEN}`)
    expect(headers.get('x-team')).toBe('storefront')
  })

  it.each<Notification['event']>(['resolved', 'reminder', 'test'])('sends a %s notification with its event name', async (event) => {
    const requests = capture(() => HttpResponse.json({ ok: true }))
    const n = notification({ event, id: `inc1234-${event}`, error: event === 'resolved' ? null : notification().error })
    expect(await channel().send(n, noSignal())).toEqual({ ok: true })
    expect(requests[0]?.body).toMatchObject({ event, id: `inc1234-${event}` })
    expect(requests[0]?.headers.get('idempotency-key')).toBe(`inc1234-${event}`)
  })

  it('a configured Idempotency-Key header cannot replace the notification id', async () => {
    const { config, secrets } = loadChannel('webhook', { url: HOOK, headers: { 'Idempotency-Key': 'fixed' } })
    const requests = capture()
    await createChannel(config, deps(secrets)).send(notification(), noSignal())
    expect(requests[0]?.headers.get('idempotency-key')).toBe('inc1234-firing')
  })

  it('masks secrets in the payload a failure message quoted', async () => {
    const requests = capture()
    const leaky = notification({ error: { step: 'read', message: `GET https://api.test/?token=${ENV.WEBHOOK_TOKEN} failed` } })
    await channel().send(leaky, noSignal())
    expect(JSON.stringify(requests[0]?.body)).not.toContain(ENV.WEBHOOK_TOKEN)
    expect(requests[0]?.body).toMatchObject({ error: { message: 'GET https://api.test/?token=*** failed' } })
  })

  it.each([500, 502, 503, 408, 429])('HTTP %i is retryable', async (status) => {
    capture(() => new HttpResponse('try later', { status }))
    expect(await channel().send(notification(), noSignal())).toEqual({ ok: false, retryable: true, reason: `HTTP ${status}: try later` })
  })

  it.each([400, 401, 403, 404, 410, 422])('HTTP %i is not retryable', async (status) => {
    capture(() => new HttpResponse(null, { status }))
    expect(await channel().send(notification(), noSignal())).toEqual({ ok: false, retryable: false, reason: `HTTP ${status}` })
  })

  it('a redirect is not followed (a POST would turn into a GET) and not retried', async () => {
    capture(() => new HttpResponse(null, { status: 301, headers: { location: 'https://elsewhere.test/' } }))
    const result = await channel().send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable: false })
    expect(result.ok || result.reason).toMatch(/^HTTP 301 \(redirects are not followed/)
  })

  it('429 with Retry-After in seconds gives retryAfterMs', async () => {
    capture(() => new HttpResponse(null, { status: 429, headers: { 'retry-after': '7' } }))
    expect(await channel().send(notification(), noSignal())).toEqual({ ok: false, retryable: true, reason: 'HTTP 429', retryAfterMs: 7000 })
  })

  it('503 with Retry-After as an HTTP date gives the time until then', async () => {
    const at = new Date(Date.now() + 40_000).toUTCString()
    capture(() => new HttpResponse(null, { status: 503, headers: { 'retry-after': at } }))
    const result = await channel().send(notification(), noSignal())
    expect(result.ok).toBe(false)
    const retryAfterMs = result.ok ? 0 : (result.retryAfterMs ?? 0)
    // The date has one-second resolution and some milliseconds pass before it is read.
    expect(retryAfterMs).toBeGreaterThan(35_000)
    expect(retryAfterMs).toBeLessThanOrEqual(40_000)
  })

  it('a network error is retryable', async () => {
    capture(() => HttpResponse.error())
    const result = await channel().send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable: true })
    expect(result.ok || result.reason).toMatch(/^request failed: /)
  })

  it('never puts the URL, a header or any env value in a reason, even when the receiver echoes them', async () => {
    server.use(
      http.post(
        HOOK,
        ({ request }) => new HttpResponse(`bad auth ${request.headers.get('authorization')} at ${request.url}`, { status: 401 }),
      ),
    )
    const result = await channel().send(notification(), noSignal())
    expect(result).toEqual({ ok: false, retryable: false, reason: 'HTTP 401: bad auth Bearer *** at https://hooks.example.test/***' })
  })

  it('a header value that cannot be sent is a configuration error, not retried', async () => {
    const { config, secrets } = loadChannel('webhook', { url: HOOK, headers: { 'x-bad': 'line\nbreak' } })
    const result = await createChannel(config, deps(secrets)).send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable: false })
    expect(result.ok || result.reason).toMatch(/^invalid request: /)
  })

  it('settles at once when the signal is already aborted', async () => {
    capture()
    const result = await channel().send(notification(), AbortSignal.abort())
    expect(result).toEqual({ ok: false, retryable: true, reason: 'aborted' })
  })
})

describe('webhook channel: failure evidence', () => {
  it('posts error.excerpt, status and content type beside every existing field, the echoed secret masked (real loopback server)', async () => {
    const s = await startServer((_req, res) => res.writeHead(204).end())
    // The loopback server is real: msw lets its requests through.
    server.use(http.all(`${s.url}/*`, () => passthrough()))
    try {
      const { config, secrets } = loadChannel('webhook', { url: `${s.url}/hook/{{ env.SECRET_PATH }}`, timeout: '2s' })
      expect(await createChannel(config, deps(secrets)).send(evidenceNotification(ENV.SECRET_PATH), noSignal())).toEqual({ ok: true })
      const body = s.received[0]?.body ?? ''
      expect(body).not.toContain(ENV.SECRET_PATH)
      const payload = JSON.parse(body) as Record<string, unknown>
      expect(Object.keys(payload)).toEqual(
        expect.arrayContaining(['event', 'probe', 'consecutiveFailures', 'since', 'summary', 'error', 'labels']),
      )
      expect(payload.error).toEqual({
        step: 'read',
        message: 'read: expected status 200, got 500',
        status: 500,
        contentType: 'application/json',
        excerpt: MASKED_EXCERPT,
      })
    } finally {
      await s.close()
    }
  })
})
