import { describe, expect, test } from 'vitest'
import type { RunResult } from '../../src/probe/result.ts'
import { escapeHtml } from '../../src/server/page.ts'
import { lastRunStatus } from '../../src/server/status.ts'

describe('status', () => {
  test('lastRunStatus keeps the summary and leaves requests, responses and timings out', () => {
    const failure = { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' } as const
    const result: RunResult = {
      probe: 'items-crud',
      runId: 'r1',
      startedAt: '2026-01-01T00:00:00.000Z',
      durationMs: 12,
      outcome: 'failure',
      failure,
      steps: [
        {
          name: 'read',
          cleanup: false,
          status: 'failed',
          durationMs: 12,
          timings: { firstByteMs: 3 },
          request: { method: 'GET', url: 'http://api.test/items/1' },
          response: { status: 500, bytes: 2 },
          failure,
        },
      ],
    }
    expect(lastRunStatus(result)).toEqual({
      runId: 'r1',
      startedAt: '2026-01-01T00:00:00.000Z',
      durationMs: 12,
      outcome: 'failure',
      failure,
      steps: [{ name: 'read', status: 'failed', durationMs: 12 }],
    })
  })

  test('escapeHtml escapes every character HTML treats specially', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;')
  })
})
