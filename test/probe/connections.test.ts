import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { afterEach, describe, expect, test } from 'vitest'
import { runProbe } from '../../src/probe/run.ts'
import { buildProbe, crudProbe, itemsApi, type TestServer, startServer } from './servers.ts'

const servers: TestServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

/** The items API, noting which socket carried each request and whether its TLS session was resumed. */
async function watchedApi(options: { tls?: boolean } = {}) {
  const sockets = new Map<Socket, number>()
  const seen: { socket: number; resumed: boolean }[] = []
  const api = itemsApi()
  const server = await startServer((req: IncomingMessage, res, body) => {
    const socket = req.socket as Socket
    if (!sockets.has(socket)) sockets.set(socket, sockets.size)
    const resumed = options.tls ? (socket as TLSSocket).isSessionReused() : false
    seen.push({ socket: sockets.get(socket) as number, resumed })
    api(req, res, body)
  }, options)
  servers.push(server)
  return { server, seen }
}

// Users rely on it: every run pays DNS, TCP and TLS like a new user, so no connection (and no TLS
// session) ever carries over from one run to another, even though the connector is shared.
describe('every run opens its own connections', () => {
  test('runs one after another never share a socket', async () => {
    const { server, seen } = await watchedApi()
    const { probe, secrets } = buildProbe(crudProbe({ base: server.url }))
    const runs = []
    for (let i = 0; i < 3; i++) runs.push(await runProbe(probe, { secrets }))

    expect(runs.map((r) => r.outcome)).toEqual(['success', 'success', 'success'])
    const byRun = [0, 1, 2].map((i) => new Set(seen.slice(3 * i, 3 * i + 3).map((s) => s.socket)))
    for (const [i, sockets] of byRun.entries()) {
      for (const other of byRun.slice(i + 1)) expect([...sockets].filter((s) => other.has(s))).toEqual([])
      expect(runs[i]?.steps[0]?.timings.connectMs).toBeGreaterThan(0)
    }
  })

  test('runs in flight at once never share a socket', async () => {
    const { server, seen } = await watchedApi()
    const { probe, secrets } = buildProbe(crudProbe({ base: server.url }))
    const runs = await Promise.all([0, 1, 2, 3].map(() => runProbe(probe, { secrets })))

    expect(runs.every((r) => r.outcome === 'success')).toBe(true)
    // Each run's three requests went over connections no other run used: at least one per run.
    expect(new Set(seen.map((s) => s.socket)).size).toBeGreaterThanOrEqual(4)
    expect(server.connections).toBeGreaterThanOrEqual(4)
    for (const run of runs) expect(run.steps[0]?.timings.connectMs).toBeGreaterThan(0)
  })

  test('a run never resumes the TLS session of an earlier run', async () => {
    const { server, seen } = await watchedApi({ tls: true })
    const { probe, secrets } = buildProbe(crudProbe({ base: server.url, extra: { tls: { insecure: true } } }))
    const first = await runProbe(probe, { secrets })
    const second = await runProbe(probe, { secrets })

    expect([first.outcome, second.outcome]).toEqual(['success', 'success'])
    expect(seen.slice(3).map((s) => s.socket)).not.toContain(seen[0]?.socket)
    expect(seen.filter((s) => s.resumed)).toEqual([])
    expect(second.steps[0]?.timings.tlsMs).toBeGreaterThan(0)
  })
})
