import { afterEach, describe, expect, test } from 'vitest'
import { type CanaryChecker, createCanaryChecker } from '../../src/judge/canaries.ts'
import { closedPort, json, startServer, type TestServer } from '../probe/servers.ts'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step()
})

async function canary(status: number | 'hang'): Promise<TestServer> {
  const server = await startServer((_req, res) => (status === 'hang' ? undefined : json(res, status, {})))
  cleanups.push(() => server.close())
  return server
}

function checker(...args: Parameters<typeof createCanaryChecker>): CanaryChecker {
  const made = createCanaryChecker(...args)
  cleanups.push(() => made.close())
  return made
}

const T0 = new Date('2026-12-01T10:00:00Z')
const later = (ms: number) => new Date(T0.getTime() + ms)

describe('the canary checker', () => {
  test.each([
    ['any status below 500 counts when none is expected', 404, undefined, true],
    ['a 5xx is no answer', 503, undefined, false],
    ['the expected status', 204, 204, true],
    ['another status than the expected one', 200, 204, false],
  ])('%s', async (_, answer, status, up) => {
    const server = await canary(answer)
    const network = checker({ canaries: [{ url: `${server.url}/`, ...(status === undefined ? {} : { status }) }] })
    expect(await network.up(T0)).toBe(up)
    expect(network.status()).toMatchObject({ up, checkedAt: T0.toISOString() })
  })

  test('a refused canary is down; one canary answering of two is enough', async () => {
    const refused = `http://127.0.0.1:${await closedPort()}/`
    const alone = checker({ canaries: [{ url: refused }] })
    expect(await alone.up(T0)).toBe(false)
    expect(alone.status().canaries).toEqual([{ url: refused, ok: false, detail: 'ECONNREFUSED' }])
    const server = await canary(200)
    const pair = checker({ canaries: [{ url: refused }, { url: `${server.url}/` }] })
    expect(await pair.up(T0)).toBe(true)
  })

  test('callers asking together share one check: one request per canary', async () => {
    const server = await canary(200)
    const network = checker({ canaries: [{ url: `${server.url}/` }] })
    const answers = await Promise.all(Array.from({ length: 20 }, () => network.up(T0)))
    expect(answers).toEqual(Array(20).fill(true))
    expect(server.requests).toHaveLength(1)
  })

  test('the answer is reused for cacheMs, then checked again', async () => {
    const server = await canary(200)
    const network = checker({ canaries: [{ url: `${server.url}/` }], cacheMs: 30_000 })
    await network.up(T0)
    await network.up(later(29_999))
    expect(server.requests).toHaveLength(1)
    await network.up(later(30_000))
    expect(server.requests).toHaveLength(2)
  })

  test('a canary that never answers fails within the timeout, and the check resolves', async () => {
    const server = await canary('hang')
    const network = checker({ canaries: [{ url: `${server.url}/` }], timeoutMs: 200 })
    const t0 = performance.now()
    expect(await network.up(T0)).toBe(false)
    const took = performance.now() - t0
    expect(took).toBeGreaterThanOrEqual(190)
    expect(took).toBeLessThan(1_500)
    expect(network.status().canaries[0]?.detail).toBe('timeout')
  })

  test('an answered run after a stale "down" checks again in the background', async () => {
    let status = 503
    const server = await startServer((_req, res) => json(res, status, {}))
    cleanups.push(() => server.close())
    const seen: boolean[] = []
    const network = checker({ canaries: [{ url: `${server.url}/` }], cacheMs: 1_000, onCheck: (up) => seen.push(up) })
    expect(await network.up(T0)).toBe(false)
    status = 200
    network.answered(later(500)) // still fresh: nothing
    expect(server.requests).toHaveLength(1)
    network.answered(later(1_000))
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10))
    expect(seen).toEqual([false, true])
    expect(network.status().up).toBe(true)
  })

  test('status() masks what it shows', async () => {
    const refused = `http://127.0.0.1:${await closedPort()}/token-abc`
    const network = checker({ canaries: [{ url: refused }], mask: (t) => t.replace('token-abc', '***') })
    await network.up(T0)
    expect(network.status().canaries[0]?.url).toMatch(/\/\*\*\*$/)
  })
})
