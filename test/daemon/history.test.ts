/**
 * History through the daemon: runs and the incident with who was told are
 * served by /api/probes/<name>/history, the figures by /api/probes, and a
 * restart on the same state dir keeps all of it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { HISTORY_DIR, type HistoryDocument } from '../../src/history/store.ts'
import { apiProbe, Cleanups, probeFile, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startTarget, startWebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

async function history(url: string, probe: string, query = ''): Promise<HistoryDocument> {
  const res = await fetch(`${url}/api/probes/${probe}/history${query}`)
  if (res.status !== 200) throw new Error(`history answered ${res.status}`)
  return (await res.json()) as HistoryDocument
}

describe('run and incident history', () => {
  it('records runs and the incident with each delivery, serves them, and keeps them across a restart', async () => {
    const target = await startTarget('fail')
    const hook = await startWebhookSink('ok')
    cleanups.defer(() => Promise.all([target.close(), hook.close()]))
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'orders', target: target.url, interval: '1s' })],
      alerting: {
        defaults: { failureThreshold: 2, channels: ['hook'] },
        channels: { hook: { type: 'webhook', url: `${hook.url}/hook` } },
      },
    })
    const first = await startRuntime(cleanups, config)
    await waitFor('the firing to be delivered', async () => (await history(first.url, 'orders')).incidents[0]?.notifications.length)
    target.mode = 'ok'
    await waitFor('the incident to resolve', async () => (await history(first.url, 'orders')).incidents[0]?.resolvedAt)
    await waitFor('the resolve to be delivered', async () =>
      (await history(first.url, 'orders')).incidents[0]?.notifications.some((n) => n.event === 'resolved' && n.result === 'sent'),
    )
    const doc = await history(first.url, 'orders')
    const firstRuns = doc.runs.length
    expect(doc.version).toBe(1)
    expect(doc.runs.slice(0, 2).map((r) => [r.outcome, r.step, r.reason])).toEqual([
      ['failure', 'check', 'status'],
      ['failure', 'check', 'status'],
    ])
    expect(doc.runs.at(-1)?.outcome).toBe('success')
    expect(doc.incidents).toHaveLength(1)
    // Opened at the scheduled slot of its first failed run (what replicas share), which that run started at or just after.
    const opened = Date.parse(doc.incidents[0]?.openedAt ?? '')
    const firstFailed = Date.parse(doc.runs[0]?.at ?? '')
    expect(opened).toBeLessThanOrEqual(firstFailed)
    expect(firstFailed - opened).toBeLessThan(1000)
    expect(doc.incidents[0]?.notifications.map((n) => [n.channel, n.event, n.result])).toEqual([
      ['hook', 'firing', 'sent'],
      ['hook', 'resolved', 'sent'],
    ])
    const status = await apiProbe(first.url, 'orders')
    expect(status.uptime?.['1h']).toBeGreaterThan(0)
    expect(status.uptime?.['1h']).toBeLessThan(1)
    expect(status.p50Ms).toBeGreaterThan(0)
    expect(status.p95Ms).toBeGreaterThanOrEqual(status.p50Ms ?? 0)
    // The first daemon is gone: what the second serves comes from the state dir.
    await first.stop()

    const second = await startRuntime(cleanups, config)
    // The history is read behind the start: the probe runs meanwhile, its new runs follow the old ones.
    const after = await waitFor('the history to be read back', async () => {
      const doc = await history(second.url, 'orders')
      return doc.runs.length >= firstRuns ? doc : null
    })
    expect(after.runs.slice(0, doc.runs.length)).toEqual(doc.runs)
    expect(after.incidents).toEqual(doc.incidents)
    const detail = await fetch(`${second.url}/probes/orders`)
    expect(detail.status).toBe(200)
    expect(detail.headers.get('content-security-policy')).toContain("default-src 'none'")
    const html = await detail.text()
    expect(html).toContain('<svg viewBox=')
    expect(html).toContain('hook: resolved sent')
  })

  it('a history lost while an incident is open: the restart opens it again from the alert state', async () => {
    const target = await startTarget('fail')
    cleanups.defer(() => target.close())
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'orders', target: target.url, interval: '1s' })],
      alerting: { defaults: { failureThreshold: 2 } },
    })
    const first = await startRuntime(cleanups, config)
    const opened = await waitFor('the incident to open', async () => (await history(first.url, 'orders')).incidents[0])
    await first.stop()
    await rm(join(config.stateDir, HISTORY_DIR), { recursive: true })
    const second = await startRuntime(cleanups, config)
    const again = await waitFor('the incident in the new history', async () => (await history(second.url, 'orders')).incidents[0])
    expect(again).toMatchObject({ id: opened.id, openedAt: opened.openedAt, resolvedAt: null })
  })

  it('an unknown probe is 404, a bad query 400 with the reason as JSON', async () => {
    const target = await startTarget('ok')
    cleanups.defer(() => target.close())
    const config = await writeConfig(cleanups, { probes: [probeFile({ name: 'orders', target: target.url })], alerting: {} })
    const { url } = await startRuntime(cleanups, config)
    const unknown = await fetch(`${url}/api/probes/nope/history`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ version: 1, error: 'no such probe' })
    const bad = await fetch(`${url}/api/probes/orders/history?limit=ten`)
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ version: 1, error: 'limit: expected a whole number from 1 to 10000, got "ten"' })
    expect((await fetch(`${url}/api/probes/orders/history?since=soon`)).status).toBe(400)
    expect((await fetch(`${url}/probes/nope`)).status).toBe(404)
    expect((await fetch(`${url}/probes/%E0%A4%A`)).status).toBe(404)
    expect((await fetch(`${url}/api/probes/orders/history?limit=1`)).status).toBe(200)
  })
})
