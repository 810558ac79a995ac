import { afterEach, describe, expect, test } from 'vitest'
import type { DestinationStream } from 'pino'
import { createLogger } from '../../src/log.ts'
import { runProbe } from '../../src/probe/run.ts'
import { type Handler, type TestServer, buildProbe, closedPort, crudProbe, itemsApi, json, startServer } from './servers.ts'

const servers: TestServer[] = []
async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler)
  servers.push(server)
  return server
}
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

/** Echoes each request as JSON, and keeps what it received. */
function echo(received: { method?: string; url?: string; headers: Record<string, unknown>; body: string }[]): Handler {
  return (req, res, body) => {
    const seen = { method: req.method, url: req.url, headers: req.headers, body }
    received.push(seen)
    const parsed = req.headers['content-type'] === 'application/json' ? JSON.parse(body) : body
    res.setHeader('x-served-by', 'echo-1')
    json(res, 200, { ...seen, body: parsed })
  }
}

describe('runProbe against a real API', () => {
  test('a CRUD flow passes, carrying the captured id from step to step', async () => {
    const server = await serve(itemsApi())
    const { probe, secrets } = buildProbe(crudProbe({ base: server.url }))
    const result = await runProbe(probe, { secrets, runId: 'feedc0de' })

    expect(result).toMatchObject({ probe: 'items-crud', runId: 'feedc0de', outcome: 'success', failure: null })
    expect(result.steps.map((s) => [s.name, s.status, s.response?.status])).toEqual([
      ['create', 'passed', 201],
      ['read', 'passed', 200],
      ['delete', 'passed', 204],
    ])
    expect(result.steps[1]?.request).toEqual({ method: 'GET', url: `${server.url}/items/1` })
    expect(server.requests).toEqual(['POST /items', 'GET /items/1', 'DELETE /items/1'])
  })

  test('timings: a new connection reports its phases, a reused one none; an IP literal has no DNS', async () => {
    const server = await serve(itemsApi())
    const { probe, secrets } = buildProbe(crudProbe({ base: server.url }))
    const result = await runProbe(probe, { secrets })

    for (const step of result.steps) {
      expect(step.timings.firstByteMs).toBeGreaterThanOrEqual(0)
      expect(step.timings.transferMs).toBeGreaterThanOrEqual(0)
      expect(step.timings.dnsMs).toBeUndefined()
      expect(step.timings.tlsMs).toBeUndefined()
    }
    expect(result.steps[0]?.timings.connectMs).toBeGreaterThan(0)
    // Reuse is up to the client and server; whatever happened, each connection is reported exactly once.
    expect(result.steps.filter((s) => s.timings.connectMs !== undefined)).toHaveLength(server.connections)
  })

  test('a host name is looked up, and its DNS phase reported', async () => {
    const server = await serve(itemsApi())
    const { probe, secrets } = buildProbe(crudProbe({ base: `http://localhost:${server.port}` }))
    const result = await runProbe(probe, { secrets })
    expect(result.outcome).toBe('success')
    expect(result.steps[0]?.timings.dnsMs).toBeGreaterThanOrEqual(0)
  })

  test('templates see run.id, run.timestamp, probe.name, vars in order, default headers and captures', async () => {
    const received: Parameters<typeof echo>[0] = []
    const server = await serve(echo(received))
    const { probe, secrets } = buildProbe({
      name: 'scope-check',
      vars: { base: server.url, tag: '{{ probe.name }}-{{ run.id }}', stamp: '{{ run.timestamp }}', path: '/echo/{{ tag }}' },
      defaults: { headers: { 'X-Run': '{{ run.id }}', Accept: 'text/plain' } },
      steps: [
        {
          name: 'first',
          request: {
            method: 'POST',
            url: '{{ base }}{{ path }}',
            headers: { accept: 'application/json' },
            json: { tag: '{{ tag }}', at: '{{ stamp }}', n: 3 },
          },
          expect: {
            json: {
              '$.body.tag': 'scope-check-abcd1234',
              '$.body.at': '{{ run.timestamp }}',
              '$.headers.x-run': '{{ run.id }}',
              '$.headers.accept': 'application/json',
              '$.headers.content-type': 'application/json',
            },
          },
          capture: { echoed: '$.body.tag', who: { header: 'X-Served-By' }, code: { status: true } },
        },
        {
          name: 'second',
          request: {
            method: 'PUT',
            url: '{{ base }}/echo/{{ echoed }}/{{ code }}',
            headers: { 'content-type': 'text/plain' },
            body: 'who={{ who }}',
          },
          expect: { json: { '$.url': '/echo/scope-check-abcd1234/200', '$.body': 'who=echo-1' } },
        },
      ],
    })
    const result = await runProbe(probe, { secrets, runId: 'abcd1234', now: () => new Date('2026-01-02T03:04:05Z') })

    expect(result.failure).toBeNull()
    expect(result.startedAt).toBe('2026-01-02T03:04:05.000Z')
    expect(received[0]).toMatchObject({
      url: '/echo/scope-check-abcd1234',
      body: '{"tag":"scope-check-abcd1234","at":1767323045,"n":3}',
      headers: { 'x-run': 'abcd1234', accept: 'application/json', 'content-type': 'application/json' },
    })
    expect(received[1]).toMatchObject({
      method: 'PUT',
      body: 'who=echo-1',
      headers: { 'content-type': 'text/plain', accept: 'text/plain' },
    })
  })

  test('a create that fails skips the read, and the cleanup says why it could not run', async () => {
    const { probe, secrets } = buildProbe(crudProbe({ base: `http://127.0.0.1:${await closedPort()}` }))
    const result = await runProbe(probe, { secrets })
    expect(result.outcome).toBe('failure')
    expect(result.failure).toMatchObject({ step: 'create', kind: 'transport', reason: 'connect' })
    expect(result.steps.map((s) => [s.status, s.skipReason])).toEqual([
      ['failed', undefined],
      ['skipped', 'skipped: an earlier step failed'],
      ['skipped', 'skipped: {{ itemId }} was never captured'],
    ])
  })

  test('a failing cleanup fails the run', async () => {
    const api = itemsApi()
    const server = await serve((req, res, body) => (req.method === 'DELETE' ? json(res, 500, {}) : api(req, res, body)))
    const { probe, secrets } = buildProbe(crudProbe({ base: server.url }))
    const result = await runProbe(probe, { secrets })
    expect(result.outcome).toBe('failure')
    expect(result.failure).toEqual({
      step: 'delete',
      kind: 'status',
      reason: 'status',
      message: 'delete: expected status 200 or 204, got 500',
      status: 500,
      contentType: 'application/json',
      bodyExcerpt: '{}',
    })
  })

  test('shutdown aborts the run: neither success nor failure, the rest skipped, promptly', async () => {
    const server = await serve(itemsApi(() => {}))
    const { probe, secrets } = buildProbe(crudProbe({ base: server.url, timeout: '10s' }))
    const shutdown = new AbortController()
    setTimeout(() => shutdown.abort(), 100)
    const started = performance.now()
    const result = await runProbe(probe, { secrets, signal: shutdown.signal })

    expect(performance.now() - started).toBeLessThan(5_000)
    expect(result.outcome).toBe('aborted')
    expect(result.failure).toBeNull()
    expect(result.steps.map((s) => [s.status, s.skipReason])).toEqual([
      ['passed', undefined],
      ['skipped', 'aborted: shutting down'],
      ['skipped', 'skipped: the run was aborted by shutdown'],
    ])
  })

  test('a run that starts after shutdown sends nothing', async () => {
    const server = await serve(itemsApi())
    const { probe, secrets } = buildProbe(crudProbe({ base: server.url }))
    const result = await runProbe(probe, { secrets, signal: AbortSignal.abort() })
    expect(result.outcome).toBe('aborted')
    expect(result.steps.every((s) => s.status === 'skipped')).toBe(true)
    expect(server.requests).toEqual([])
  })
})

describe('secrets', () => {
  test('no secret appears in the result or the logs, though the server received them', async () => {
    const env = { ITEMS_TOKEN: 'tok-9f8e7d6c5b4a', ITEMS_KEY: 'key-0a1b2c3d' }
    const received: Parameters<typeof echo>[0] = []
    const server = await serve(echo(received))
    const { probe, secrets } = buildProbe(
      {
        name: 'secretive',
        vars: { base: server.url },
        defaults: { headers: { authorization: 'Bearer {{ env.ITEMS_TOKEN }}' } },
        steps: [
          {
            name: 'check',
            request: { url: '{{ base }}/echo?key={{ secret.ITEMS_KEY }}' },
            // Fails, and the message quotes what came back: the token itself.
            expect: { json: { '$.headers.authorization': 'Bearer nope' } },
          },
          {
            name: 'cleanup',
            cleanup: true,
            request: { method: 'DELETE', url: '{{ base }}/echo/{{ secret.ITEMS_KEY }}' },
            // Fails, and the message quotes what was expected: the key.
            expect: { json: { '$.url': '{{ secret.ITEMS_KEY }}' } },
          },
        ],
      },
      env,
    )
    const lines: string[] = []
    const destination = { write: (line: string) => lines.push(line) } as unknown as DestinationStream
    const logger = createLogger({ level: 'debug', secrets, destination })
    const result = await runProbe(probe, { secrets, logger })

    expect(received.map((r) => r.url)).toEqual([`/echo?key=${env.ITEMS_KEY}`, `/echo/${env.ITEMS_KEY}`])
    expect(received[0]?.headers.authorization).toBe(`Bearer ${env.ITEMS_TOKEN}`)
    expect(result.failure?.message).toBe('check: $.headers.authorization expected "Bearer nope", got "Bearer ***"')
    expect(result.steps[1]?.failure?.message).toBe('cleanup: $.url expected "***", got "/echo/***"')
    expect(result.steps[0]?.request?.url).toBe(`${server.url}/echo?key=***`)
    const everything = JSON.stringify(result) + lines.join('')
    expect(lines.some((line) => line.includes('step finished'))).toBe(true)
    for (const secret of Object.values(env)) expect(everything).not.toContain(secret)
  })
})
