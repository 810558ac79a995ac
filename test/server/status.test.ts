import { describe, expect, test } from 'vitest'
import { escapeHtml } from '../../src/server/page.ts'
import { lastRunStatus, type ProbeStatus, publicStatus } from '../../src/server/status.ts'
import { failedRun } from '../support/run-results.ts'

describe('status', () => {
  test('lastRunStatus keeps the summary and leaves requests, responses and timings out', () => {
    expect(lastRunStatus(failedRun)).toEqual({
      runId: 'e5f6a7b8',
      startedAt: '2026-01-01T00:00:00.000Z',
      durationMs: 5_012,
      outcome: 'failure',
      failure: { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' },
      steps: [
        { name: 'read', status: 'failed', durationMs: 120 },
        { name: 'update', status: 'skipped', durationMs: 0 },
        { name: 'delete', status: 'skipped', durationMs: 0 },
      ],
    })
  })

  test('lastRunStatus shows the judged outcome, and muted only when it was', () => {
    expect(lastRunStatus(failedRun, { outcome: 'failure', muted: false })).toEqual(lastRunStatus(failedRun))
    expect('muted' in lastRunStatus(failedRun, { outcome: 'failure', muted: false })).toBe(false)
    const judged = lastRunStatus(failedRun, { outcome: 'inconclusive', muted: true })
    expect(judged).toMatchObject({ outcome: 'inconclusive', muted: true })
    const status: ProbeStatus = {
      name: 'items-crud',
      schedule: 'every 1m',
      labels: {},
      lastRun: judged,
      consecutiveFailures: 0,
      alert: { state: 'ok', since: null },
      channels: [],
    }
    expect(publicStatus(status).lastRun).toEqual(judged)
  })

  test('escapeHtml escapes every character HTML treats specially', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;')
  })
})
