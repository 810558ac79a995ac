import { HttpResponse, http, passthrough } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { AlertmanagerAlert } from '../../../src/alerting/channels/alertmanager-alert.ts'
import { type AlertmanagerChannel, alertmanager, alertsEndpoint } from '../../../src/alerting/channels/alertmanager.ts'
import { deps, ENV, evidenceNotification, loadChannel, MASKED_EXCERPT, noSignal, notification, startServer } from './helpers.ts'
import { createChannel } from '../../../src/alerting/channels/index.ts'

const AM = 'http://am-1.test:9093'
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const channels: AlertmanagerChannel[] = []
afterEach(async () => {
  await Promise.all(channels.splice(0).map((c) => c.close()))
})

function channel(entry: Record<string, unknown> = {}) {
  const { config, secrets } = loadChannel('alertmanager', { url: AM, labels: { severity: 'page' }, ...entry })
  const c = alertmanager.create(config, deps(secrets)) as AlertmanagerChannel
  channels.push(c)
  return c
}

/** A fake Alertmanager at `base`: records each posted batch, answers `status`. */
function fakeAlertmanager(base = AM, status = 200) {
  const batches: AlertmanagerAlert[][] = []
  server.use(
    http.post(alertsEndpoint(base), async ({ request }) => {
      batches.push((await request.json()) as AlertmanagerAlert[])
      return new HttpResponse(null, { status })
    }),
  )
  return batches
}

describe('alertmanager channel', () => {
  it('posts a firing alert as a one-element array, valid for four re-send intervals', async () => {
    const batches = fakeAlertmanager()
    const before = Date.now()
    expect(await channel().send(notification(), noSignal())).toEqual({ ok: true })
    const after = Date.now()
    expect(batches).toHaveLength(1)
    const [alert] = batches[0] as [AlertmanagerAlert]
    expect(alert).toMatchObject({
      labels: { alertname: 'ProbeFailing', probe: 'items-crud', location: 'eu-1', team: 'storefront', severity: 'page' },
      annotations: { summary: notification().summary },
      startsAt: '2026-01-01T10:00:00.000Z',
    })
    expect(alert.annotations.description).toContain(
      'Probe items-crud has failed 5 consecutive runs from eu-1 since 2026-01-01T10:00:00.000Z.',
    )
    expect(alert.annotations.description).toContain('Failing step: read')
    const endsAt = Date.parse(alert.endsAt)
    expect(endsAt).toBeGreaterThanOrEqual(before + 4 * 60_000)
    expect(endsAt).toBeLessThanOrEqual(after + 4 * 60_000)
  })

  it('sends a resolved alert with endsAt = the resolution time', async () => {
    const batches = fakeAlertmanager()
    const c = channel()
    await c.send(notification(), noSignal())
    const resolved = notification({ event: 'resolved', id: 'inc1234-resolved', at: '2026-01-01T10:09:00.000Z', error: null })
    expect(await c.send(resolved, noSignal())).toEqual({ ok: true })
    expect(batches[1]).toEqual([
      expect.objectContaining({
        labels: batches[0]?.[0]?.labels,
        startsAt: '2026-01-01T10:00:00.000Z',
        endsAt: '2026-01-01T10:09:00.000Z',
      }),
    ])
  })

  it('keeps a route prefix of the configured URL', () => {
    expect(alertsEndpoint('http://am:9093')).toBe('http://am:9093/api/v2/alerts')
    expect(alertsEndpoint('http://proxy/alertmanager/')).toBe('http://proxy/alertmanager/api/v2/alerts')
  })

  it('identity labels cannot be overridden; channel labels win over probe labels; no location label without a location', async () => {
    const batches = fakeAlertmanager()
    const n = notification({ location: null, labels: { alertname: 'Other', probe: 'x', location: 'y', severity: 'low', team: '' } })
    await channel().send(n, noSignal())
    expect(batches[0]?.[0]?.labels).toEqual({ alertname: 'ProbeFailing', probe: 'items-crud', severity: 'page' })
  })

  it('a test is a short-lived SmokeprobeTest alert that is not re-sent', async () => {
    const batches = fakeAlertmanager()
    const c = channel()
    const at = '2026-01-01T10:00:00.000Z'
    const test = notification({ event: 'test', probe: 'smokeprobe-test', at, since: at, error: null, labels: {} })
    expect(await c.send(test, noSignal())).toEqual({ ok: true })
    expect(batches[0]).toEqual([
      expect.objectContaining({
        labels: { alertname: 'SmokeprobeTest', probe: 'smokeprobe-test', location: 'eu-1', severity: 'page' },
        startsAt: at,
        endsAt: '2026-01-01T10:05:00.000Z',
      }),
    ])
    await c.resendNow()
    expect(batches).toHaveLength(1)
  })

  it('posts to every Alertmanager of a cluster, and is ok when one of them accepted', async () => {
    const one = fakeAlertmanager('http://am-1.test:9093', 200)
    const two = fakeAlertmanager('http://am-2.test:9093', 503)
    const c = channel({ url: ['http://am-1.test:9093', 'http://am-2.test:9093'] })
    expect(await c.send(notification(), noSignal())).toEqual({ ok: true })
    expect(one).toHaveLength(1)
    expect(two).toHaveLength(1)
    expect(two[0]).toEqual(one[0])
  })

  it('fails retryably when no member accepted and one failure is transient, naming each member', async () => {
    fakeAlertmanager('http://am-1.test:9093', 400)
    fakeAlertmanager('http://am-2.test:9093', 500)
    const c = channel({ url: ['http://am-1.test:9093', 'http://am-2.test:9093'] })
    expect(await c.send(notification(), noSignal())).toEqual({
      ok: false,
      retryable: true,
      reason: 'http://am-1.test:9093: HTTP 400; http://am-2.test:9093: HTTP 500',
    })
  })

  it('400 from the only member is not retryable (the same alerts would be refused again)', async () => {
    fakeAlertmanager(AM, 400)
    expect(await channel().send(notification(), noSignal())).toEqual({ ok: false, retryable: false, reason: 'HTTP 400' })
  })

  it('a firing refused with a 4xx is not re-sent (it was given up, and the channel gets no resolve for it)', async () => {
    fakeAlertmanager(AM, 400)
    const c = channel()
    expect(await c.send(notification(), noSignal())).toMatchObject({ ok: false, retryable: false })
    server.resetHandlers()
    const batches = fakeAlertmanager()
    await c.resendNow()
    expect(batches).toEqual([])
  })

  it('masks an Alertmanager URL that holds a secret', async () => {
    fakeAlertmanager('http://am-1.test:9093', 500)
    fakeAlertmanager(`http://am-${ENV.SECRET_PATH}.test:9093`, 500)
    const c = channel({ url: ['http://am-1.test:9093', 'http://am-{{ secret.SECRET_PATH }}.test:9093'] })
    const result = await c.send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, reason: 'http://am-1.test:9093: HTTP 500; http://am-***.test:9093: HTTP 500' })
  })

  it('ignores a resolve of an older incident once the probe fired again', async () => {
    const batches = fakeAlertmanager()
    const c = channel()
    await c.send(notification({ since: '2026-01-01T11:00:00.000Z', incidentId: 'inc2' }), noSignal())
    const stale = notification({ event: 'resolved', since: '2026-01-01T10:00:00.000Z', at: '2026-01-01T10:30:00.000Z' })
    expect(await c.send(stale, noSignal())).toEqual({ ok: true })
    await c.resendNow()
    expect(batches).toHaveLength(2)
    expect(batches[1]?.[0]?.startsAt).toBe('2026-01-01T11:00:00.000Z')
    expect(Date.parse(batches[1]?.[0]?.endsAt ?? '')).toBeGreaterThan(Date.now())
  })
  it('an older incident delivered after the newer one fired (after an outage) neither replaces nor resolves it', async () => {
    const batches = fakeAlertmanager()
    const c = channel()
    const newer = { since: '2026-01-01T11:00:00.000Z', incidentId: 'inc2', id: 'inc2-firing' }
    await c.send(notification(newer), noSignal())
    // The older incident's lane drains late: its firing, then its resolve.
    expect(await c.send(notification(), noSignal())).toEqual({ ok: true })
    const resolved = notification({ event: 'resolved', id: 'inc1234-resolved', at: '2026-01-01T10:30:00.000Z', error: null })
    expect(await c.send(resolved, noSignal())).toEqual({ ok: true })
    await c.resendNow()
    expect(batches).toHaveLength(2)
    const [alert] = batches[1] as [AlertmanagerAlert]
    expect(alert.startsAt).toBe('2026-01-01T11:00:00.000Z')
    expect(Date.parse(alert.endsAt)).toBeGreaterThan(Date.now())
  })
})

describe('alertmanager channel: failure evidence', () => {
  it('sends annotations.excerpt with the echoed secret masked, and none on the resolve (real loopback server)', async () => {
    const s = await startServer((_req, res) => res.writeHead(200).end())
    const { config, secrets } = loadChannel('alertmanager', { url: `${s.url}/{{ secret.SECRET_PATH }}` })
    const c = createChannel(config, deps(secrets))
    // The loopback server is real: msw lets its requests through.
    server.use(http.all(`${s.url}/*`, () => passthrough()))
    try {
      expect(await c.send(evidenceNotification(ENV.SECRET_PATH), noSignal())).toEqual({ ok: true })
      const body = s.received[0]?.body ?? ''
      expect(body).not.toContain(ENV.SECRET_PATH)
      const [alert] = JSON.parse(body) as AlertmanagerAlert[]
      expect(alert?.annotations.excerpt).toBe(MASKED_EXCERPT)
      expect(alert?.annotations.description).toContain('Response status: 500')
      const resolved = evidenceNotification(ENV.SECRET_PATH, { event: 'resolved', id: 'inc1234-resolved', at: '2026-01-01T10:09:00.000Z' })
      expect(await c.send(resolved, noSignal())).toEqual({ ok: true })
      const [after] = JSON.parse(s.received.at(-1)?.body ?? '') as AlertmanagerAlert[]
      expect(after?.annotations).not.toHaveProperty('excerpt')
    } finally {
      await c.close?.()
      await s.close()
    }
  })
})
