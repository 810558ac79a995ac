import { serverOptions } from './options.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createMuteStore, MAX_REASON_CHARS, type MuteStore } from '../../src/judge/mute-store.ts'
import { silentLogger } from '../../src/log.ts'
import { type RunningServer, startServer } from '../../src/server/http.ts'
import { authorized, MAX_MUTE_PROBES } from '../../src/server/mutes-api.ts'

const TOKEN = 'server-test-token-0123456789'

describe('authorized', () => {
  it.each([
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}`, true],
    [`Bearer  ${TOKEN} `, true],
    [`Bearer ${TOKEN}x`, false],
    [`Bearer ${TOKEN.slice(1)}`, false],
    [`Basic ${TOKEN}`, false],
    [TOKEN, false],
    ['Bearer ', false],
    [undefined, false],
  ])('%s → %s', (header, expected) => {
    expect(authorized(header, TOKEN)).toBe(expected)
  })
})

describe('/api/mutes bounds', () => {
  let dir: string
  let server: RunningServer
  let store: MuteStore
  let probes: string[]
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-mutes-api-'))
    store = createMuteStore({ stateDir: dir, logger: silentLogger() })
    await store.load()
    probes = Array.from({ length: MAX_MUTE_PROBES + 1 }, (_, i) => `p${i}`)
    server = await startServer(serverOptions({ mutes: { token: () => TOKEN, store, probes: () => new Set(probes) } }))
  })
  afterEach(async () => {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  const post = (body: unknown) =>
    fetch(`${server.url}/api/mutes`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) })

  it(`takes a reason of ${MAX_REASON_CHARS} characters and refuses a longer one`, async () => {
    expect((await post({ probes: ['p0'], duration: '1m', reason: 'r'.repeat(MAX_REASON_CHARS + 1) })).status).toBe(400)
    expect((await post({ probes: ['p0'], duration: '1m', reason: 'r'.repeat(MAX_REASON_CHARS) })).status).toBe(201)
  })

  it(`takes ${MAX_MUTE_PROBES} probes in one mute and refuses more`, async () => {
    const refused = await post({ probes, duration: '1m', reason: 'many' })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: string }).error).toMatch(/^probes: /)
    expect((await post({ probes: probes.slice(0, MAX_MUTE_PROBES), duration: '1m', reason: 'many' })).status).toBe(201)
    expect(store.list()).toHaveLength(1)
  })

  it('a single name is a list of one; PUT is 405, and the other endpoints still answer', async () => {
    const response = await post({ probes: 'p1', duration: '10m', reason: 'one' })
    expect(response.status).toBe(201)
    expect(((await response.json()) as { mute: { probes: string[] } }).mute.probes).toEqual(['p1'])
    const put = await fetch(`${server.url}/api/mutes`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` } })
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'GET, HEAD, POST'])
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${server.url}/api/mutesx`)).status).toBe(404)
  })
})
