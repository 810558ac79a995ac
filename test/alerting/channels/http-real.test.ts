import { afterEach, describe, expect, it, vi } from 'vitest'
import { type AlertmanagerChannel, alertmanager } from '../../../src/alerting/channels/alertmanager.ts'
import { createChannel } from '../../../src/alerting/channels/index.ts'
import { deps, ENV, loadChannel, noSignal, notification, startServer } from './helpers.ts'

/** Each HTTP channel against real node:http servers on 127.0.0.1: timeouts, aborts and sockets are real here. */
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

async function server(handler: Parameters<typeof startServer>[0]) {
  const s = await startServer(handler)
  cleanups.push(s.close)
  return s
}

function webhookTo(url: string, timeout = '10s') {
  const { config, secrets } = loadChannel('webhook', { url, timeout })
  return createChannel(config, deps(secrets))
}

/** A port nothing listens on: a server's, after it closed. */
async function closedPort(): Promise<string> {
  const s = await startServer(() => {})
  await s.close()
  return s.url
}

describe('HTTP channels on real sockets', () => {
  it('webhook: a server that never answers ends the attempt at the channel timeout', async () => {
    const s = await server(() => {})
    // Long enough that a loaded machine still delivers the request before the timeout ends the attempt.
    const result = await webhookTo(`${s.url}/hook`, '2s').send(notification(), noSignal())
    expect(result).toEqual({ ok: false, retryable: true, reason: 'timed out after 2s' })
    expect(s.received).toHaveLength(1)
  })

  it('webhook: aborting the signal while the server hangs settles the send at once', async () => {
    const s = await server(() => {})
    const controller = new AbortController()
    const sending = webhookTo(`${s.url}/hook`).send(notification(), controller.signal)
    await vi.waitFor(() => expect(s.received).toHaveLength(1), { timeout: 5_000 })
    controller.abort()
    // The channel's own timeout is 10s: only a prompt reaction to the abort gives 'aborted'.
    expect(await sending).toEqual({ ok: false, retryable: true, reason: 'aborted' })
  })

  it("webhook: the delivery wrapper's per-attempt timeout is reported as a timeout", async () => {
    const s = await server(() => {})
    const result = await webhookTo(`${s.url}/hook`).send(notification(), AbortSignal.timeout(150))
    expect(result).toEqual({ ok: false, retryable: true, reason: 'timed out' })
  })

  it('webhook: an abort reason the caller gave is the reason', async () => {
    const s = await server(() => {})
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('timed out after 150 ms')), 150)
    const result = await webhookTo(`${s.url}/hook`).send(notification(), controller.signal)
    expect(result).toEqual({ ok: false, retryable: true, reason: 'timed out after 150 ms' })
  })

  it('webhook: an error body that never ends is cut at the timeout and still classified', async () => {
    const s = await server((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/plain' })
      res.write('upstream is')
    })
    const result = await webhookTo(`${s.url}/hook`, '300ms').send(notification(), noSignal())
    expect(result).toEqual({ ok: false, retryable: true, reason: 'HTTP 502: upstream is' })
  })

  it('webhook: a refused connection is retryable and says so', async () => {
    const result = await webhookTo(`${await closedPort()}/hook`).send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable: true })
    expect(result.ok || result.reason).toMatch(/^request failed: .*ECONNREFUSED/)
  })

  it('webhook: a connection reset before the answer is retryable', async () => {
    const s = await server((req) => req.socket.destroy())
    const result = await webhookTo(`${s.url}/hook`).send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable: true })
  })

  it('pagerduty: the request as the server sees it', async () => {
    const s = await server((_req, res) => {
      res.writeHead(202, { 'content-type': 'application/json' })
      res.end('{"status":"success","message":"Event processed","dedup_key":"inc1234"}')
    })
    const { config, secrets } = loadChannel('pagerduty', { routingKey: '{{ env.PD_ROUTING_KEY }}', url: `${s.url}/v2/enqueue` })
    expect(await createChannel(config, deps(secrets)).send(notification(), noSignal())).toEqual({ ok: true })
    const [request] = s.received
    expect(request).toMatchObject({ method: 'POST', url: '/v2/enqueue' })
    expect(request?.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'smokeprobe' })
    expect(JSON.parse(request?.body ?? '')).toMatchObject({
      routing_key: ENV.PD_ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'inc1234',
    })
  })

  it('pagerduty: a hanging endpoint settles at the timeout, without the routing key in the reason', async () => {
    const s = await server(() => {})
    const { config, secrets } = loadChannel('pagerduty', { routingKey: '{{ env.PD_ROUTING_KEY }}', url: s.url, timeout: '200ms' })
    expect(await createChannel(config, deps(secrets)).send(notification(), noSignal())).toEqual({
      ok: false,
      retryable: true,
      reason: 'timed out after 200ms',
    })
  })

  it('alertmanager: every member of a cluster receives the alert and its re-sends; one member down does not fail it', async () => {
    const answer = (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(200).end()
    const one = await server(answer)
    const two = await server(answer)
    const down = await closedPort()
    const { config, secrets } = loadChannel('alertmanager', { url: [one.url, two.url, down], resendInterval: '1s' })
    const channel = alertmanager.create(config, deps(secrets)) as AlertmanagerChannel
    cleanups.push(() => channel.close())
    expect(await channel.send(notification(), noSignal())).toEqual({ ok: true })
    await vi.waitFor(
      () => {
        expect(one.received.length).toBeGreaterThanOrEqual(3)
        expect(two.received.length).toBeGreaterThanOrEqual(3)
      },
      { timeout: 5_000 },
    )
    for (const request of [...one.received, ...two.received]) {
      expect(request).toMatchObject({ method: 'POST', url: '/api/v2/alerts' })
      expect(JSON.parse(request.body)).toEqual([
        expect.objectContaining({ labels: expect.objectContaining({ alertname: 'ProbeFailing' }) }),
      ])
    }
  })

  it('alertmanager: with every member down the send fails retryably', async () => {
    const { config, secrets } = loadChannel('alertmanager', { url: await closedPort() })
    const channel = alertmanager.create(config, deps(secrets)) as AlertmanagerChannel
    cleanups.push(() => channel.close())
    expect(await channel.send(notification(), noSignal())).toMatchObject({ ok: false, retryable: true })
  })
})
