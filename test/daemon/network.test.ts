import { afterEach, describe, expect, it } from 'vitest'
import { createNetworkInput } from '../../src/daemon/network.ts'
import { createMetrics } from '../../src/metrics/registry.ts'
import type { RunResult } from '../../src/probe/result.ts'
import { parseSamples } from '../metrics/exposition.ts'
import { json, startServer, type TestServer } from '../probe/servers.ts'

const servers: TestServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

/** A canary that answers 503: down. */
async function canary(): Promise<TestServer> {
  const server = await startServer((_req, res) => json(res, 503, {}))
  servers.push(server)
  return server
}

async function networkUp(metrics: ReturnType<typeof createMetrics>): Promise<number | undefined> {
  return parseSamples(await metrics.registry.metrics()).find((s) => s.name === 'probe_network_up')?.value
}

const T0 = new Date('2026-12-01T10:00:00Z')
const passed: RunResult = { probe: 'p', runId: 'r', startedAt: T0.toISOString(), durationMs: 1, outcome: 'success', failure: null, steps: [] }

describe('the daemon’s network input across reloads', () => {
  it('keeps the checker (and its cached answer) while canaries: is unchanged; replaces it when it changes; none: no series, always up', async () => {
    const a = await canary()
    const b = await canary()
    const metrics = createMetrics({ location: null })
    const input = createNetworkInput({ metrics, mask: (t) => t })
    expect(await input.network.up(T0)).toBe(true)
    expect(input.status()).toBeNull()

    input.configure([{ url: `${a.url}/` }])
    expect(await networkUp(metrics)).toBe(1)
    expect(await input.network.up(T0)).toBe(false)
    expect(await networkUp(metrics)).toBe(0)
    // A reload with the same canaries: the cached "down" stands, no new request.
    input.configure([{ url: `${a.url}/` }])
    expect(await input.network.up(T0)).toBe(false)
    expect(a.requests).toHaveLength(1)
    expect(await networkUp(metrics)).toBe(0)

    input.configure([{ url: `${b.url}/` }])
    expect(await networkUp(metrics)).toBe(1)
    expect(await input.network.up(T0)).toBe(false)
    expect(b.requests).toHaveLength(1)

    input.configure([])
    expect(await networkUp(metrics)).toBeUndefined()
    expect(await input.network.up(T0)).toBe(true)
    await input.close()
  })

  it('a passing run after a stale "down" checks the canaries again, so probe_network_up recovers while every probe passes', async () => {
    const server = await startServer((_req, res) => json(res, server.requests.length > 1 ? 200 : 503, {}))
    servers.push(server)
    const metrics = createMetrics({ location: null })
    const input = createNetworkInput({ metrics, mask: (t) => t, cacheMs: 1_000 })
    input.configure([{ url: `${server.url}/` }])
    expect(await input.network.up(T0)).toBe(false)
    input.observe(passed, new Date(T0.getTime() + 1_000))
    for (let i = 0; i < 100 && (await networkUp(metrics)) !== 1; i++) await new Promise((r) => setTimeout(r, 10))
    expect(await networkUp(metrics)).toBe(1)
    expect(input.status()?.up).toBe(true)
    await input.close()
  })
})
