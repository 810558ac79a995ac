/**
 * `/api/mutes` on a real in-process daemon on loopback: 404 without
 * `api.token`, 401 for a missing or wrong token (and nothing changed), 400
 * with a JSON reason for a bad mute, a mute that expires by itself, one that
 * survives a restart, and one that holds a page until it is deleted.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MUTES_FILE } from '../../src/judge/mute-store.ts'
import { MAX_BODY_BYTES } from '../../src/server/mutes-api.ts'
import { Cleanups, type Config, metric, probeFile, probeMetrics, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startTarget, startWebhookSink, type Target, type WebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const PROBE = 'items-crud'
const TOKEN = 'mutes-api-token-0123456789'
const ENV = { SMOKEPROBE_TEST_API_TOKEN: TOKEN }

async function setup(
  options: { token?: boolean; target?: 'ok' | 'fail' } = {},
): Promise<{ config: Config; target: Target; hook: WebhookSink }> {
  const target = await startTarget(options.target ?? 'ok')
  const hook = await startWebhookSink()
  cleanups.defer(() => Promise.all([target.close(), hook.close()]))
  const config = await writeConfig(cleanups, {
    probes: [probeFile({ name: PROBE, target: target.url }), probeFile({ name: 'other', target: target.url })],
    alerting: {
      defaults: { failureThreshold: 2, reminderInterval: 0, channels: ['hook'] },
      channels: { hook: { type: 'webhook', timeout: '2s', url: `${hook.url}/hook` } },
      ...(options.token === false ? {} : { api: { token: '{{ secret.SMOKEPROBE_TEST_API_TOKEN }}' } }),
    },
  })
  return { config, target, hook }
}

function call(url: string, method: string, pathName: string, options: { token?: string | null; body?: unknown } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  const token = options.token === undefined ? TOKEN : options.token
  if (token !== null) headers.authorization = `Bearer ${token}`
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  return fetch(`${url}${pathName}`, { method, headers, body })
}

async function listed(url: string): Promise<{ id: string; probes: string[]; reason: string; until: string }[]> {
  const response = await call(url, 'GET', '/api/mutes')
  expect(response.status).toBe(200)
  return ((await response.json()) as { mutes: { id: string; probes: string[]; reason: string; until: string }[] }).mutes
}

const A_MUTE = { probes: [PROBE], duration: '30m', reason: 'deploy 1234' }

describe('/api/mutes', () => {
  it('is 404 on every method when no api.token is configured', async () => {
    const { config } = await setup({ token: false })
    const { url } = await startRuntime(cleanups, config, { env: ENV })
    for (const [method, where] of [
      ['GET', '/api/mutes'],
      ['POST', '/api/mutes'],
      ['DELETE', '/api/mutes/abc'],
    ] as const) {
      const response = await call(url, method, where, { body: method === 'POST' ? A_MUTE : undefined })
      expect([method, response.status]).toEqual([method, 404])
    }
  })

  it('is 401 for a missing or wrong token, and changes nothing', async () => {
    const { config } = await setup()
    const { url, logs } = await startRuntime(cleanups, config, { env: ENV })
    for (const token of [null, 'wrong-token', `${TOKEN}x`, TOKEN.slice(0, -1), '']) {
      const posted = await call(url, 'POST', '/api/mutes', { token, body: A_MUTE })
      expect(posted.status).toBe(401)
      expect(posted.headers.get('www-authenticate')).toBe('Bearer')
      expect(await posted.json()).toEqual({ error: 'missing or wrong bearer token' })
      expect((await call(url, 'GET', '/api/mutes', { token })).status).toBe(401)
    }
    const basic = await fetch(`${url}/api/mutes`, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } })
    expect(basic.status).toBe(401)
    expect(await listed(url)).toEqual([])
    expect(await readFile(path.join(config.stateDir, MUTES_FILE), 'utf8').catch(() => null)).toBeNull()
    expect(logs.join('')).not.toContain(TOKEN)
  })

  it('refuses a bad mute with 400 and a JSON reason, changing nothing', async () => {
    const { config } = await setup()
    const { url } = await startRuntime(cleanups, config, { env: ENV })
    const cases: [unknown, RegExp][] = [
      [{ ...A_MUTE, duration: '25h' }, /^duration: 25h is longer than the cap of 24h/],
      [{ ...A_MUTE, duration: '1441m' }, /longer than the cap of 24h/],
      [{ ...A_MUTE, duration: 'soon' }, /^duration: expected a duration such as 30m/],
      [{ ...A_MUTE, probes: ['items-crud', 'nope'] }, /^probes: unknown probe "nope"/],
      [{ ...A_MUTE, probes: [] }, /^probes/],
      [{ ...A_MUTE, reason: '  ' }, /^reason: reason is empty/],
      [{ ...A_MUTE, extra: 1 }, /^body: Unrecognized key/],
      ['{not json', /^the body is not JSON/],
    ]
    for (const [body, reason] of cases) {
      const response = await call(url, 'POST', '/api/mutes', { body })
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(((await response.json()) as { error: string }).error).toMatch(reason)
    }
    // Exactly the cap is accepted.
    expect((await call(url, 'POST', '/api/mutes', { body: { ...A_MUTE, duration: '24h' } })).status).toBe(201)
    expect(await listed(url)).toHaveLength(1)
  })

  it('refuses a body above the bound with 413', async () => {
    const { config } = await setup()
    const { url } = await startRuntime(cleanups, config, { env: ENV })
    const response = await call(url, 'POST', '/api/mutes', { body: { ...A_MUTE, reason: 'x'.repeat(MAX_BODY_BYTES) } })
    expect(response.status).toBe(413)
    expect(await listed(url)).toEqual([])
  })

  it('mutes, lists, deletes; probe_muted follows', async () => {
    const { config } = await setup()
    const { url, logs } = await startRuntime(cleanups, config, { env: ENV })
    const response = await call(url, 'POST', '/api/mutes', { body: A_MUTE })
    expect(response.status).toBe(201)
    const { mute } = (await response.json()) as { mute: { id: string; until: string } }
    expect(Date.parse(mute.until) - Date.now()).toBeGreaterThan(29 * 60_000)
    expect(await listed(url)).toEqual([expect.objectContaining({ id: mute.id, probes: [PROBE], reason: 'deploy 1234' })])
    await waitFor('probe_muted 1', async () => (await metric(url, 'probe_muted', { probe: PROBE })) === 1, 3_000)
    expect(await metric(url, 'probe_muted', { probe: 'other' })).toBe(0)
    const probes = (await (await fetch(`${url}/api/probes`)).json()).probes as { name: string; mutedBy: unknown }[]
    expect(probes.find((p) => p.name === PROBE)?.mutedBy).toEqual({ kind: 'mute', name: mute.id, until: mute.until })
    expect(probes.find((p) => p.name === 'other')?.mutedBy).toBeNull()
    expect(await (await fetch(url)).text()).toContain(`muted by mute ${mute.id} until`)
    expect(logs.some((line) => line.includes('"mute added"') && line.includes('deploy 1234'))).toBe(true)
    expect((await call(url, 'DELETE', `/api/mutes/${mute.id}`)).status).toBe(200)
    expect((await call(url, 'DELETE', `/api/mutes/${mute.id}`)).status).toBe(404)
    expect(await listed(url)).toEqual([])
    await waitFor('probe_muted 0', async () => (await metric(url, 'probe_muted', { probe: PROBE })) === 0, 3_000)
  })

  it('a mute expires by itself', async () => {
    const { config } = await setup()
    const { url, logs } = await startRuntime(cleanups, config, { env: ENV })
    expect((await call(url, 'POST', '/api/mutes', { body: { ...A_MUTE, duration: '2s' } })).status).toBe(201)
    await waitFor('probe_muted 1', async () => (await metric(url, 'probe_muted', { probe: PROBE })) === 1, 3_000)
    await waitFor('the mute to expire', async () => (await listed(url)).length === 0, 5_000)
    await waitFor('probe_muted 0', async () => (await metric(url, 'probe_muted', { probe: PROBE })) === 0, 3_000)
    expect(logs.some((line) => line.includes('"mute expired"') && line.includes('deploy 1234'))).toBe(true)
  })

  it('a live mute survives a restart of the daemon', async () => {
    const { config } = await setup()
    const first = await startRuntime(cleanups, config, { env: ENV })
    const posted = (await (await call(first.url, 'POST', '/api/mutes', { body: A_MUTE })).json()) as { mute: { id: string } }
    await first.stop()
    const second = await startRuntime(cleanups, config, { env: ENV })
    expect((await listed(second.url)).map((m) => m.id)).toEqual([posted.mute.id])
    await waitFor('probe_muted 1 after the restart', async () => (await metric(second.url, 'probe_muted', { probe: PROBE })) === 1, 3_000)
    expect(second.logs.some((line) => line.includes('"mute restored"'))).toBe(true)
  })

  it('holds the page of a failing probe until the mute is deleted, then pages once with the real count', async () => {
    const { config, hook } = await setup({ target: 'fail' })
    const { url } = await startRuntime(cleanups, config, { env: ENV })
    const posted = (await (await call(url, 'POST', '/api/mutes', { body: A_MUTE })).json()) as { mute: { id: string } }
    // The first run may have been judged before the mute: threshold 2 leaves room for it.
    await waitFor('four failed runs', async () => (await probeMetrics(url, PROBE)).runsFailed >= 4, 15_000)
    expect(hook.requests.filter((r) => JSON.parse(r.body).probe === PROBE)).toEqual([])
    expect((await call(url, 'DELETE', `/api/mutes/${posted.mute.id}`)).status).toBe(200)
    const firing = await waitFor('the firing', () => hook.delivered().find((p) => p.probe === PROBE && p.event === 'firing'), 5_000)
    expect(firing.consecutiveFailures).toBeGreaterThanOrEqual(4)
  })
})
