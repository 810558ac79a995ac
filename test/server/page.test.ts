/**
 * The overview and the detail page from hostile input: every string a probe
 * file, a target or a channel wrote is escaped; the bar has one cell per run
 * with its outcome in words; the summary line tells the three cases apart.
 */
import { describe, expect, it } from 'vitest'
import { RunRing } from '../../src/history/runs.ts'
import { RunFigures } from '../../src/history/stats.ts'
import type { HistoryView } from '../../src/history/store.ts'
import { renderDetailPage } from '../../src/server/detail-page.ts'
import { renderStatusPage, summaryLine } from '../../src/server/page.ts'
import type { ProbeStatus } from '../../src/server/status.ts'

const EVIL = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
const NOW = Date.parse('2026-01-01T01:00:00Z')

const hostile: ProbeStatus = {
  name: EVIL,
  description: EVIL,
  schedule: EVIL,
  labels: { team: EVIL },
  lastRun: {
    runId: EVIL,
    startedAt: '2026-01-01T00:59:00.000Z',
    durationMs: 12,
    outcome: 'failure',
    failure: { step: EVIL, kind: 'status', reason: 'status', message: EVIL, status: 500, contentType: EVIL, bodyExcerpt: EVIL },
    steps: [],
  },
  consecutiveFailures: 3,
  alert: { state: 'firing', since: '2026-01-01T00:57:00.000Z' },
  channels: [EVIL],
}

function view(): HistoryView {
  const runs = new RunRing(100)
  const figures = new RunFigures(runs)
  const outcomes = ['success', 'failure', 'retried', 'inconclusive', 'failure'] as const
  for (const [i, outcome] of outcomes.entries()) {
    const failed = outcome === 'failure'
    runs.push({
      at: NOW - (5 - i) * 60_000,
      outcome,
      muted: i === 0,
      durationMs: 10 + i,
      step: failed ? EVIL : null,
      reason: failed ? EVIL : null,
    })
    figures.added()
  }
  const incident = {
    id: EVIL,
    openedAt: NOW - 180_000,
    resolvedAt: null,
    notifications: [{ channel: EVIL, event: 'firing', result: 'sent' as const, at: NOW - 120_000 }],
  }
  return {
    recent: Array.from({ length: runs.length }, (_, i) => runs.get(i)),
    stats: figures.stats(NOW),
    incidents: [incident],
    open: incident,
    steps: [
      { at: NOW - 120_000, steps: { [EVIL]: 5, read: 7 } },
      { at: NOW - 60_000, steps: { [EVIL]: 6, read: 9 } },
    ],
  }
}

function expectInert(html: string): void {
  expect(html).not.toMatch(/<script|<img|<iframe/)
  expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;&#60;img src=x onerror=alert(2)&#62;&#34;&#39;&#38;')
}

describe('status page', () => {
  it('says what mutes a probe and until when, the name escaped, the end as a time to come', () => {
    const muted: ProbeStatus = { ...hostile, mutedBy: { kind: 'maintenance', name: EVIL, until: '2026-01-01T01:30:00.000Z' } }
    const html = renderStatusPage([muted], { now: new Date(NOW), location: null })
    expect(html).not.toContain(EVIL)
    expect(html).toContain('muted by maintenance window &#60;script&#62;')
    expect(html).toContain('<time datetime="2026-01-01T01:30:00.000Z" title="2026-01-01T01:30:00.000Z">in 30 min</time>')
    expect(renderStatusPage([hostile], { now: new Date(NOW), location: null })).not.toContain('muted by')
  })

  it('escapes every hostile string on the overview, and shows one cell per run with its outcome in words', () => {
    const html = renderStatusPage([hostile], {
      now: new Date(NOW),
      location: EVIL,
      history: { view: () => view(), document: () => null },
    })
    expectInert(html)
    const bar = /<div class="bar"[^>]*>(.*?)<\/div>/.exec(html)?.[1] ?? ''
    const cells = [...bar.matchAll(/<i class="([a-z ]+)" title="([^"]*)"><\/i>/g)]
    expect(cells.map((c) => c[1])).toEqual(['s m', 'f', 'r', 'n', 'f'])
    expect(cells[1]?.[2]).toContain('2026-01-01T00:56:00Z, failed, 11 ms, &#60;script')
    // Padding up to 60 cells, and a text alternative that does not rely on colour.
    expect(bar.match(/<i><\/i>/g)).toHaveLength(55)
    expect(html).toContain('aria-label="Last 5 runs: 1 passed, muted, 2 failed, 1 passed after a retry, 1 inconclusive (network down)"')
    expect(html).toContain('Incident open since <time datetime="2026-01-01T00:57:00.000Z"')
  })

  it('escapes every hostile string on the detail page, and charts each step', () => {
    const html = renderDetailPage(hostile, view(), { now: new Date(NOW) })
    expectInert(html)
    expect(html.match(/<polyline /g)).toHaveLength(2)
    expect(html).toContain('<desc id="chart-desc">')
  })

  it.each([
    { states: ['ok', 'ok'], inconclusive: false, text: 'All 2 probes passing', kind: 'good' },
    { states: ['ok', 'firing', 'failing'], inconclusive: false, text: '2 of 3 probes failing', kind: 'bad' },
    {
      states: ['ok', 'failing'],
      inconclusive: true,
      text: "The monitor's own network is down: 1 of 2 probes cannot tell (their last runs are inconclusive)",
      kind: 'network',
    },
  ] as const)('summary: $text', ({ states, inconclusive, text, kind }) => {
    const probes = states.map(
      (state, i): ProbeStatus => ({
        ...hostile,
        name: `p${i}`,
        alert: { state, since: null },
        lastRun: { ...hostile.lastRun!, outcome: inconclusive && i === 1 ? 'inconclusive' : 'success' },
      }),
    )
    expect(summaryLine(probes)).toMatchObject({ text, kind })
  })
})
