import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../src/metrics/registry.ts'
import { metricsIn, DOCUMENTED_METRICS } from './metric-names.ts'

interface Panel {
  id: number
  type: string
  title: string
  gridPos: { x: number; y: number; w: number; h: number }
  targets?: { expr: string; refId: string }[]
}

const dashboard = JSON.parse(readFileSync('deploy/grafana/smokeprobe-dashboard.json', 'utf8')) as {
  uid: string
  title: string
  panels: Panel[]
  templating: { list: { name: string; query: unknown }[] }
}
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })))
const used = new Set(queries.flatMap((q) => metricsIn(q.expr)))

describe('deploy/grafana/smokeprobe-dashboard.json', () => {
  it('uses only metrics the SPEC or README "Metrics" documents', () => {
    expect(used.size).toBeGreaterThan(0)
    for (const name of used) expect(DOCUMENTED_METRICS, `metric ${name}`).toContain(name)
  })

  it('uses only metrics the daemon really exports', async () => {
    const metrics = createMetrics({ location: 'test' })
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name))
    for (const name of used) expect(exported.has(name), `metric ${name}`).toBe(true)
  })

  it('shows success, step durations (p50, p99), consecutive failures, alerts firing and notification failures', () => {
    const shows = (pattern: RegExp) => queries.some((q) => pattern.test(q.expr))
    expect(shows(/probe_success/)).toBe(true)
    expect(shows(/histogram_quantile\(0\.5, .*probe_step_duration_seconds_bucket/)).toBe(true)
    expect(shows(/histogram_quantile\(0\.99, .*probe_step_duration_seconds_bucket/)).toBe(true)
    expect(shows(/probe_consecutive_failures/)).toBe(true)
    expect(shows(/probe_alert_firing/)).toBe(true)
    expect(shows(/probe_notifications_total\{result="failed"\}/)).toBe(true)
  })

  it('is well formed: unique panel ids, a datasource variable, probe and location filters', () => {
    expect(dashboard.uid).toBe('smokeprobe')
    const ids = dashboard.panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24)
      if (panel.type !== 'row') expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'probe', 'location'])
  })
})
