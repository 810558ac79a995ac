import type { ServerResponse } from 'node:http'
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { FailureKind, FailureReason } from '../../src/probe/result.ts'
import { runProbe } from '../../src/probe/run.ts'
import { type Handler, type TestServer, buildProbe, closedPort, crudProbe, itemsApi, json, startServer } from './servers.ts'

/**
 * Every wire fault from the issue, injected where the probe reads back the
 * item it created: each must fail the read with the right kind and a plain
 * reason, still delete the item, and finish within the probe's 2s timeout.
 */
interface FaultCase {
  readonly name: string
  /** Replaces GET /items/:id. */
  readonly read?: Handler
  /** Extra routes by exact path. */
  readonly routes?: Record<string, Handler>
  /** Where the read step goes instead of the items API. */
  readonly readBase?: () => Promise<string> | string
  /** Extra fields of the read step's request. */
  readonly request?: Record<string, unknown>
  readonly kind: FailureKind
  readonly reason: FailureReason
  readonly message: (server: TestServer) => string | RegExp
  /** The failure's evidence (SPEC "Failure evidence"); absent: none, as when no response came. */
  readonly evidence?: { status?: number; contentType?: string; bodyExcerpt?: string | RegExp }
  /** What the server must never have sent or seen. */
  readonly after?: (server: TestServer) => void
}

const GIB = 1024 ** 3
let bodyBytesSent = 0
let tlsServer: TestServer
/** Accepts TCP connections and never says a word: a TLS handshake to it never completes. */
let silent: Server
const silentSockets = new Set<Socket>()
const unhandled: unknown[] = []
const onUnhandled = (error: unknown) => unhandled.push(error)

/** Streams up to `total` bytes as the client takes them, never holding more than one chunk. */
function hugeBody(total: number, headers: Record<string, string | number> = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers })
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let closed = false
    res.on('close', () => {
      closed = true
    })
    const pump = () => {
      while (!closed && bodyBytesSent < total) {
        bodyBytesSent += chunk.length
        if (!res.write(chunk)) return void res.once('drain', pump)
      }
      if (!closed) res.end()
    }
    pump()
  }
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location }).end()
}

const cases: FaultCase[] = [
  {
    name: 'connection refused',
    readBase: async () => `http://127.0.0.1:${await closedPort()}`,
    kind: 'transport',
    reason: 'connect',
    message: () => /^read: connection refused \(127\.0\.0\.1:\d+\)$/,
  },
  {
    name: 'accepts and never answers (the run deadline, less the cleanup reserve)',
    read: () => {},
    kind: 'timeout',
    reason: 'timeout',
    message: () => /^read: timed out after 1\.[3-5]s waiting for response headers$/,
  },
  {
    name: 'a TLS handshake that never completes',
    readBase: () => `https://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    request: { timeout: '500ms' },
    kind: 'timeout',
    reason: 'timeout',
    message: () => /^read: timed out after 500ms connecting to 127\.0\.0\.1:\d+$/,
  },
  {
    name: 'slow headers (the step timeout)',
    read: (_req, res) => {
      const timer = setTimeout(() => json(res, 200, { name: 'late' }), 5_000)
      res.on('close', () => clearTimeout(timer))
    },
    request: { timeout: '500ms' },
    kind: 'timeout',
    reason: 'timeout',
    message: () => 'read: timed out after 500ms waiting for response headers',
  },
  {
    name: 'a body that trickles forever',
    read: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).write('{"name":"')
      const timer = setInterval(() => res.write('x'), 50)
      res.on('close', () => clearInterval(timer))
    },
    request: { timeout: '1s' },
    kind: 'timeout',
    reason: 'timeout',
    message: () => 'read: timed out after 1s reading the response body',
  },
  {
    name: 'a 2 GiB streamed body',
    read: hugeBody(2 * GIB),
    kind: 'body_too_large',
    reason: 'body_too_large',
    message: () => 'read: body too large (more than 1048576 bytes)',
    after: () => expect(bodyBytesSent).toBeLessThan(64 * 1024 ** 2),
  },
  {
    name: 'a 2 GiB body announced by content-length',
    read: hugeBody(2 * GIB, { 'content-length': 2 * GIB }),
    kind: 'body_too_large',
    reason: 'body_too_large',
    message: () => 'read: body too large (more than 1048576 bytes)',
    after: () => expect(bodyBytesSent).toBeLessThan(64 * 1024 ** 2),
  },
  {
    name: 'invalid JSON',
    read: (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "1", "na'),
    kind: 'expectation',
    reason: 'invalid_body',
    message: () =>
      'read: response is not JSON (content-type application/json): Unterminated string in JSON at position 15 (line 1 column 16)',
    evidence: { status: 200, contentType: 'application/json', bodyExcerpt: '{"id": "1", "na' },
  },
  {
    name: 'HTML with status 200',
    read: (_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><p>Welcome</p>'),
    kind: 'expectation',
    reason: 'invalid_body',
    message: () => "read: response is not JSON (content-type text/html): Unexpected token '<'",
    evidence: { status: 200, contentType: 'text/html; charset=utf-8', bodyExcerpt: '<!doctype html><p>Welcome</p>' },
  },
  {
    name: 'a redirect loop, when redirects are followed',
    read: (_req, res) => redirect(res, '/loop/a'),
    routes: { '/loop/a': (_req, res) => redirect(res, 'b'), '/loop/b': (_req, res) => redirect(res, '/loop/a') },
    request: { followRedirects: 5 },
    kind: 'transport',
    reason: 'redirect',
    message: (server) => `read: redirect loop (${server.url}/loop/a seen twice)`,
  },
  {
    name: 'a redirect, not followed by default',
    read: (_req, res) => redirect(res, '/moved'),
    kind: 'status',
    reason: 'status',
    message: () => 'read: expected status 200, got 302 (a redirect to /moved, not followed)',
    after: (server) => expect(server.requests).not.toContain('GET /moved'),
  },
  {
    name: 'connection reset mid-response',
    read: (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 }).write('{"name":')
      setTimeout(() => req.socket.resetAndDestroy(), 20)
    },
    kind: 'transport',
    reason: 'reset',
    message: () => 'read: connection reset by the server',
  },
  {
    name: 'DNS failure',
    readBase: () => 'http://nope.invalid',
    kind: 'transport',
    reason: 'dns',
    message: () => /^read: DNS lookup failed for nope\.invalid\b/,
  },
  {
    name: 'a self-signed TLS certificate',
    readBase: () => tlsServer.url,
    kind: 'transport',
    reason: 'tls',
    message: () => 'read: TLS certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT)',
    after: () => expect(tlsServer.requests).toEqual([]),
  },
  {
    name: '401',
    read: (_req, res) => json(res, 401, { error: 'unauthorized' }),
    kind: 'status',
    reason: 'status',
    message: () => 'read: expected status 200, got 401',
    evidence: { status: 401, contentType: 'application/json', bodyExcerpt: '{"error":"unauthorized"}' },
  },
  {
    name: '500',
    read: (_req, res) => json(res, 500, { error: 'boom' }),
    kind: 'status',
    reason: 'status',
    message: () => 'read: expected status 200, got 500',
    evidence: { status: 500, contentType: 'application/json', bodyExcerpt: '{"error":"boom"}' },
  },
]

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  process.on('uncaughtException', onUnhandled)
  tlsServer = await startServer(itemsApi(), { tls: true })
  silent = createServer((socket) => silentSockets.add(socket))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
})

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  process.off('uncaughtException', onUnhandled)
  await tlsServer.close()
  for (const socket of silentSockets) socket.destroy()
  await new Promise((resolve) => silent.close(resolve))
})

describe('a fault on the wire fails the step, runs the cleanup, and keeps to the deadline', () => {
  test.each(cases)('$name', async (fault) => {
    bodyBytesSent = 0
    const api = itemsApi(fault.read)
    const server = await startServer((req, res, body) => (fault.routes?.[req.url ?? ''] ?? api)(req, res, body))
    try {
      const readBase = fault.readBase ? await fault.readBase() : undefined
      const { probe, secrets } = buildProbe(crudProbe({ base: server.url, readBase, read: fault.request }))
      const started = performance.now()
      const result = await runProbe(probe, { secrets })
      const elapsed = performance.now() - started

      const message = fault.message(server)
      const { status, contentType, bodyExcerpt, ...failure } = result.failure ?? {}
      if (fault.evidence) {
        const excerpt = fault.evidence.bodyExcerpt
        expect({ status, contentType, bodyExcerpt }).toEqual({
          ...fault.evidence,
          bodyExcerpt: excerpt instanceof RegExp ? expect.stringMatching(excerpt) : excerpt,
        })
      }
      // A fault before any response carries no evidence; one mid-body carries what came.
      if (status === undefined) expect([contentType, bodyExcerpt]).toEqual([undefined, undefined])
      expect(failure).toEqual({
        step: 'read',
        kind: fault.kind,
        reason: fault.reason,
        message: typeof message === 'string' ? message : expect.stringMatching(message),
      })
      expect(result.outcome).toBe('failure')
      expect(result.steps.map((s) => s.status)).toEqual(['passed', 'failed', 'passed'])
      expect(server.requests).toContain('DELETE /items/1')
      expect(elapsed).toBeLessThan(probe.timeout)
      fault.after?.(server)
    } finally {
      await server.close()
    }
  })

  test('the same self-signed server passes with tls.insecure', async () => {
    const { probe, secrets } = buildProbe(crudProbe({ base: tlsServer.url, extra: { tls: { insecure: true } } }))
    const result = await runProbe(probe, { secrets })
    expect(result.failure).toBeNull()
    expect(result.outcome).toBe('success')
    expect(result.steps[0]?.timings.tlsMs).toBeGreaterThan(0)
    expect(tlsServer.requests).toContain('DELETE /items/1')
  })

  test('the process is healthy afterwards: nothing unhandled, sockets closed, a clean run still passes', async () => {
    const server = await startServer(itemsApi())
    try {
      const { probe, secrets } = buildProbe(crudProbe({ base: server.url }))
      const result = await runProbe(probe, { secrets })
      expect(result.outcome).toBe('success')
      // The agent is destroyed when the run ends: its sockets close shortly after.
      for (let i = 0; i < 50 && server.open.size > 0; i++) await new Promise((r) => setTimeout(r, 10))
      expect(server.open.size).toBe(0)
      // Give late socket errors from the fault cases a moment to surface.
      await new Promise((r) => setTimeout(r, 100))
      expect(unhandled).toEqual([])
    } finally {
      await server.close()
    }
  })
})
