import { serverOptions } from './options.ts'
import { request } from 'node:http'
import { pino } from 'pino'
import { afterEach, describe, expect, test } from 'vitest'
import { createMetrics } from '../../src/metrics/registry.ts'
import { type RunningServer, type ServerOptions, startServer } from '../../src/server/http.ts'
import type { ProbeStatus } from '../../src/server/status.ts'
import { parseSamples, value } from '../metrics/exposition.ts'

const failing: ProbeStatus = {
  name: 'items-crud',
  description: 'Create, read and delete <b>an item</b>',
  schedule: 'every 1m',
  labels: { team: 'storefront' },
  lastRun: {
    runId: 'r-42',
    startedAt: '2026-01-01T00:01:00.000Z',
    durationMs: 321.4,
    outcome: 'failure',
    failure: { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500 <script>alert(1)</script>' },
    steps: [
      { name: 'create', status: 'passed', durationMs: 100 },
      { name: 'read', status: 'failed', durationMs: 200 },
    ],
  },
  consecutiveFailures: 5,
  alert: { state: 'firing', since: '2026-01-01T00:01:00.000Z' },
  channels: ['oncall'],
  uptime: { '1h': 0.5, '24h': 0.9, '7d': 0.995 },
  p50Ms: 120,
  p95Ms: 300.5,
  mutedBy: null,
}

const healthy: ProbeStatus = {
  name: 'health',
  schedule: 'cron */5 * * * * (UTC)',
  labels: {},
  lastRun: null,
  consecutiveFailures: 0,
  alert: { state: 'ok', since: null },
  channels: [],
  uptime: { '1h': null, '24h': null, '7d': null },
  p50Ms: null,
  p95Ms: null,
  mutedBy: null,
}

let running: RunningServer | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

async function start(overrides: Partial<ServerOptions> = {}): Promise<string> {
  running = await startServer(serverOptions({ probes: () => [failing, healthy], ...overrides }))
  return running.url
}

describe('http server', () => {
  test('binds the requested host and reports the real port', async () => {
    const url = await start()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(url).not.toMatch(/:0$/)
  })

  test('/healthz answers ok while the process lives', async () => {
    const res = await fetch(`${await start()}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('ok\n')
  })

  test('/readyz is 503 until the daemon says it is ready', async () => {
    let ready = false
    const url = await start({ isReady: () => ready })
    const before = await fetch(`${url}/readyz`)
    expect(before.status).toBe(503)
    await before.body?.cancel()
    ready = true
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
  })

  test('/metrics serves the injected registry with its content type', async () => {
    const metrics = createMetrics({ location: 'eu-west-1' })
    metrics.setAlertState('items-crud', true, 5)
    const res = await fetch(`${await start({ registry: metrics.registry })}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType)
    expect(value(parseSamples(await res.text()), 'probe_alert_firing', { probe: 'items-crud', location: 'eu-west-1' })).toBe(1)
  })

  test('/api/probes is a versioned envelope of every probe', async () => {
    const res = await fetch(`${await start()}/api/probes?pretty`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(await res.json()).toEqual({ version: 1, probes: [failing, healthy] })
  })

  test('/api/probes and the page serialize nothing beyond ProbeStatus', async () => {
    const leaky = {
      ...failing,
      headers: { authorization: 'Bearer s3cr3t-token' },
      lastRun: { ...failing.lastRun!, request: { url: 'https://api.test/?key=s3cr3t-token' } },
      alert: { ...failing.alert, smtpPass: 's3cr3t-token' },
    } as ProbeStatus
    const url = await start({ probes: () => [leaky] })
    const json = await (await fetch(`${url}/api/probes`)).text()
    expect(json).not.toContain('s3cr3t')
    expect(JSON.parse(json).probes).toEqual([failing])
    expect(await (await fetch(`${url}/`)).text()).not.toContain('s3cr3t')
  })

  test('a runbook is served in /api/probes and linked from the page, escaped for its attribute', async () => {
    const runbook = 'https://wiki.example.test/runbooks/items?a=1&b="x"'
    const url = await start({ probes: () => [{ ...failing, runbook }] })
    expect((await (await fetch(`${url}/api/probes`)).json()).probes[0].runbook).toBe(runbook)
    const html = await (await fetch(`${url}/`)).text()
    expect(html).toContain(
      '<a class="meta" href="https://wiki.example.test/runbooks/items?a=1&#38;b=&#34;x&#34;" rel="noopener noreferrer">runbook</a>',
    )
  })

  test('/ is a self-contained, escaped, auto-refreshing status page, worst first', async () => {
    const url = await start({ location: 'eu-west-1', now: () => new Date('2026-01-01T00:02:00Z') })
    const res = await fetch(`${url}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    const html = await res.text()
    expect(html).toContain('<meta http-equiv="refresh" content="30">')
    expect(html).toContain('1 of 2 probes failing')
    expect(html).toContain('2 probes from eu-west-1.')
    expect(html).not.toMatch(/<script|<b>|<link|src=|https?:\/\//)
    expect(html).toContain('got 500 &#60;script&#62;alert(1)&#60;/script&#62;')
    expect(html).toContain('Create, read and delete &#60;b&#62;an item&#60;/b&#62;')
    const sections = html.split('<section ').slice(1)
    expect(sections).toHaveLength(2)
    // Worst first: the firing probe, with its failures, last run, duration, figures and reason.
    expect(sections[0]).toMatch(/^class="probe firing"/)
    expect(sections[0]).toContain('5 failed in a row')
    expect(sections[0]).toContain('<time datetime="2026-01-01T00:01:00.000Z" title="2026-01-01T00:01:00.000Z">1 min ago</time>')
    expect(sections[0]).toContain('321 ms')
    expect(sections[0]).toContain('<td>50.0 %</td><td>90.0 %</td><td>99.5 %</td><td>120 ms</td><td>301 ms</td>')
    expect(sections[0]).toContain('<p class="reason">read: expected status 200, got 500 &#60;script&#62;')
    expect(sections[0]).toContain('failed step <strong>read</strong> · reason status')
    expect(sections[0]).not.toContain('read: read:')
    expect(sections[1]).toMatch(/^class="probe ok"/)
    expect(sections[1]).toContain('not run yet')
  })

  test('the page says so when no probe is configured', async () => {
    const html = await (await fetch(`${await start({ probes: () => [] })}/`)).text()
    expect(html).toContain('No probes are configured.')
  })

  test('unknown paths are 404, other methods 405 with Allow', async () => {
    const url = await start()
    const missing = await fetch(`${url}/nope`)
    expect(missing.status).toBe(404)
    await missing.body?.cancel()
    const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    await post.body?.cancel()
  })

  test('HEAD answers the headers without a body', async () => {
    const url = await start()
    const { status, length, body } = await headRequest(`${url}/api/probes`)
    expect(status).toBe(200)
    expect(Number(length)).toBeGreaterThan(0)
    expect(body).toBe('')
  })

  test('a failure while answering is a logged 500, and the server keeps serving', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) })
    const url = await start({
      logger,
      probes: () => {
        throw new Error('status snapshot broke')
      },
    })
    const res = await fetch(`${url}/api/probes`)
    expect(res.status).toBe(500)
    expect(await res.text()).toBe('internal error\n')
    expect(lines.join('')).toContain('status snapshot broke')
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
  })

  test('an address in use is a clear error', async () => {
    const url = await start()
    const port = Number(new URL(url).port)
    await expect(startServer(serverOptions({ port }))).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: the address is already in use`)
  })

  test('close stops listening and can be called twice', async () => {
    const url = await start()
    await fetch(`${url}/healthz`).then((res) => res.text())
    await Promise.all([running!.close(), running!.close()])
    await expect(fetch(`${url}/healthz`)).rejects.toThrow()
  })
})

function headRequest(url: string): Promise<{ status: number; length: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'HEAD' }, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'], body }))
    })
    req.on('error', reject)
    req.end()
  })
}
