import { afterEach, describe, expect, it } from 'vitest'
import { createChannel } from '../../../src/alerting/channels/index.ts'
import { createDelivery } from '../../../src/alerting/delivery.ts'
import { captureLogger, until } from '../fakes.ts'
import { deps, loadChannel, notification, startServer } from './helpers.ts'

/**
 * The review's repro of one `Retry-After` silencing a channel, on real
 * sockets: a webhook endpoint that answers 503 with an absurd Retry-After
 * once, then 200. Real timers, a short retry policy, bounded polls.
 */
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

describe('Retry-After from a real endpoint', () => {
  it('an absurd Retry-After pauses the channel briefly: the firing is retried and a later one is delivered', async () => {
    let calls = 0
    const s = await startServer((_req, res) => {
      if (++calls === 1) res.writeHead(503, { 'retry-after': '99999999' }).end('busy')
      else res.writeHead(200).end()
    })
    cleanups.push(s.close)
    const { config, secrets } = loadChannel('webhook', { url: `${s.url}/hook`, timeout: '2s' })
    const channel = createChannel(config, deps(secrets, { name: 'chat' }))
    const { logger } = captureLogger()
    const results: string[] = []
    const delivery = createDelivery({
      channels: new Map([['chat', channel]]),
      logger,
      persist: () => {},
      onResult: (_channel, event, result) => void results.push(`${event}:${result}`),
      retry: { baseDelayMs: 5, maxDelayMs: 50, maxRetryAfterMs: 50 },
    })
    cleanups.push(() => delivery.close())

    delivery.enqueue('chat', notification({ id: 'one-firing', incidentId: 'one', probe: 'fail-one' }))
    delivery.kick()
    await until(() => results.length >= 1, 'the first attempt answered')
    delivery.enqueue('chat', notification({ id: 'two-firing', incidentId: 'two', probe: 'fail-two' }))
    delivery.kick()
    await until(() => delivery.entries().length === 0, 'both firings delivered', 5_000)

    const ids = s.received.map((r) => (JSON.parse(r.body) as { id: string }).id)
    expect(ids[0]).toBe('one-firing')
    expect(ids.slice(1).sort()).toEqual(['one-firing', 'two-firing'])
    expect(results.sort()).toEqual(['firing:failed', 'firing:sent', 'firing:sent'])
  })
})
