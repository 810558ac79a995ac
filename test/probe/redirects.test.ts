import { afterEach, describe, expect, test } from 'vitest'
import { runProbe } from '../../src/probe/run.ts'
import { type Handler, type TestServer, buildProbe, json, startServer } from './servers.ts'

/**
 * A redirect that leaves the step's origin never carries a secret there:
 * two real servers on 127.0.0.1 (different ports are different origins).
 */
const ENV = { API_KEY: 'k3y-SUPERSECRET-123', PASSWORD: 'pw-TOPSECRET-456', SIG: 'sig-0a1b2c3d4e', TOKEN: 'tok-9f8e7d6c5b' }

const servers: TestServer[] = []
async function serve(handler: Handler, tls = false): Promise<TestServer> {
  const server = await startServer(handler, { tls })
  servers.push(server)
  return server
}
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

interface Seen {
  readonly url: string | undefined
  readonly headers: Record<string, unknown>
  readonly body: string
}

/** The other origin: records what arrives; answers 401 without an x-api-key when `needsKey`. */
async function otherOrigin(needsKey = false): Promise<{ server: TestServer; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = await serve((req, res, body) => {
    seen.push({ url: req.url, headers: req.headers, body })
    if (needsKey && !req.headers['x-api-key']) return json(res, 401, { error: 'no key' })
    json(res, 200, { ok: true })
  })
  return { server, seen }
}

/** The step's origin: `/start` answers 307 to `target` (a path on itself, or a full URL elsewhere). */
async function redirecting(target: () => string, tls = false): Promise<{ server: TestServer; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = await serve((req, res, body) => {
    seen.push({ url: req.url, headers: req.headers, body })
    if (req.url === '/start') return res.writeHead(307, { location: target(), 'content-length': '0' }).end()
    json(res, 200, { ok: true })
  }, tls)
  return { server, seen }
}

function post(url: string, request: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    name: 'redirected',
    steps: [
      {
        name: 'submit',
        request: {
          method: 'POST',
          url,
          followRedirects: true,
          headers: {
            'x-api-key': '{{ env.API_KEY }}',
            authorization: 'Bearer {{ env.TOKEN }}',
            // Not a credential by its name: held back because its value is a secret.
            'x-tenant-sig': '{{ secret.SIG }}',
            'x-trace': 'plain-value',
          },
          json: { name: 'smoke' },
          ...request,
        },
      },
    ],
    ...extra,
  }
}

async function run(file: unknown) {
  const { probe, secrets } = buildProbe(file, ENV)
  return runProbe(probe, { secrets })
}

describe('a 307 to another origin', () => {
  test('drops every header that holds a secret, keeps the rest and a body without one; the result shows the final URL', async () => {
    const other = await otherOrigin()
    const start = await redirecting(() => `${other.server.url}/landing`)
    const result = await run(post(`${start.server.url}/start`))
    expect(result.failure).toBeNull()
    expect(other.seen).toHaveLength(1)
    const [arrived] = other.seen
    expect(arrived?.headers).not.toHaveProperty('x-api-key')
    expect(arrived?.headers).not.toHaveProperty('authorization')
    expect(arrived?.headers).not.toHaveProperty('x-tenant-sig')
    expect(arrived?.headers).toHaveProperty('x-trace', 'plain-value')
    expect(arrived?.body).toBe('{"name":"smoke"}')
    expect(JSON.stringify(other.seen)).not.toMatch(/SUPERSECRET|tok-9f8e|sig-0a1b/)
    expect(result.steps[0]?.request).toEqual({ method: 'POST', url: `${start.server.url}/start`, finalUrl: `${other.server.url}/landing` })
  })

  test('a body that holds a secret is not resent: the step fails, and the other origin received nothing', async () => {
    const other = await otherOrigin()
    const start = await redirecting(() => `${other.server.url}/landing`)
    const result = await run(post(`${start.server.url}/start`, { json: { user: 'smoke', password: '{{ secret.PASSWORD }}' } }))
    expect(result.failure).toEqual({
      step: 'submit',
      kind: 'transport',
      reason: 'redirect',
      message: `submit: redirect to another origin (${other.server.url}) refused: the request body holds a secret`,
    })
    expect(other.seen).toEqual([])
  })

  test('a failure at the other origin says what was held back', async () => {
    const other = await otherOrigin(true)
    const start = await redirecting(() => `${other.server.url}/landing`)
    const result = await run(post(`${start.server.url}/start`))
    expect(result.failure?.message).toBe(
      'submit: expected a 2xx status, got 401 (after a redirect to another origin; not sent there: x-api-key, authorization, x-tenant-sig)',
    )
  })

  test('within the same origin everything is resent, secrets included', async () => {
    const start = await redirecting(() => '/landing')
    const result = await run(post(`${start.server.url}/start`, { json: { password: '{{ secret.PASSWORD }}' } }))
    expect(result.failure).toBeNull()
    const landing = start.seen[1]
    expect(landing?.url).toBe('/landing')
    expect(landing?.headers).toHaveProperty('x-api-key', ENV.API_KEY)
    expect(landing?.body).toBe(`{"password":"${ENV.PASSWORD}"}`)
  })
})

describe('https to http', () => {
  test('is refused even without a secret: nothing reaches the plain-text server', async () => {
    const plain = await otherOrigin()
    const start = await redirecting(() => `${plain.server.url}/landing`, true)
    const result = await run({
      name: 'downgrade',
      tls: { insecure: true },
      steps: [{ name: 'get', request: { url: `${start.server.url}/start`, followRedirects: true } }],
    })
    expect(result.failure?.message).toBe(`get: redirect from https to http refused (${plain.server.url}/landing)`)
    expect(plain.seen).toEqual([])
  })
})
