import { describe, expect, it } from 'vitest'
import { buildNotification, incidentId, notificationId, summaryLine } from '../../src/alerting/notify.ts'
import type { AlertEvent } from '../../src/alerting/state.ts'

const SINCE = '2026-03-01T10:00:00.000Z'
const FAILURE = { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' } as const

function event(overrides: Partial<AlertEvent>): AlertEvent {
  return {
    event: 'firing',
    since: SINCE,
    at: '2026-03-01T10:04:00.500Z',
    consecutiveFailures: 5,
    failedRuns: 5,
    failure: FAILURE,
    sequence: 0,
    ...overrides,
  }
}

describe('incident and notification ids', () => {
  it('are deterministic and depend on probe, location and incident start', () => {
    const id = incidentId('items-crud', null, SINCE)
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(incidentId('items-crud', null, SINCE)).toBe(id)
    expect(
      new Set([
        id,
        incidentId('items-crud', 'eu-1', SINCE),
        incidentId('orders', null, SINCE),
        incidentId('items-crud', null, '2026-03-01T10:01:00.000Z'),
      ]).size,
    ).toBe(4)
  })

  it('give each event of an incident its own stable id', () => {
    expect([notificationId('abc', 'firing', 0), notificationId('abc', 'reminder', 2), notificationId('abc', 'resolved', 0)]).toEqual([
      'abc-firing',
      'abc-reminder-2',
      'abc-resolved',
    ])
  })
})

describe('summaryLine', () => {
  const CASES: [string, AlertEvent, string | null, string][] = [
    ['firing', event({}), null, `FIRING items-crud: read: expected status 200, got 500 (5 consecutive failures since ${SINCE})`],
    [
      'firing with a location',
      event({}),
      'eu-1',
      `FIRING items-crud from eu-1: read: expected status 200, got 500 (5 consecutive failures since ${SINCE})`,
    ],
    [
      'firing at threshold 1',
      event({ consecutiveFailures: 1, failedRuns: 1 }),
      null,
      `FIRING items-crud: read: expected status 200, got 500 (1 consecutive failure since ${SINCE})`,
    ],
    ['firing without a failure', event({ failure: null }), null, `FIRING items-crud: failed (5 consecutive failures since ${SINCE})`],
    [
      'reminder',
      event({ event: 'reminder', failedRuns: 240, consecutiveFailures: 3, sequence: 1 }),
      null,
      `REMINDER items-crud: still failing: read: expected status 200, got 500 (240 failed runs since ${SINCE})`,
    ],
    [
      'resolved',
      event({ event: 'resolved', failure: null, consecutiveFailures: 0, failedRuns: 7, at: '2026-03-01T10:09:00.000Z' }),
      null,
      `RESOLVED items-crud: passing again (7 failed runs from ${SINCE} to 2026-03-01T10:09:00.000Z)`,
    ],
  ]
  for (const [name, input, location, expected] of CASES) {
    it(name, () => expect(summaryLine(input, { probe: 'items-crud', location })).toBe(expected))
  }
})

describe('buildNotification', () => {
  it('fills every field a channel formats', () => {
    const labels = { team: 'storefront' }
    const notification = buildNotification(event({}), { probe: 'items-crud', location: 'eu-1', labels })
    const incident = incidentId('items-crud', 'eu-1', SINCE)
    expect(notification).toEqual({
      id: `${incident}-firing`,
      event: 'firing',
      probe: 'items-crud',
      location: 'eu-1',
      incidentId: incident,
      since: SINCE,
      at: '2026-03-01T10:04:00.500Z',
      consecutiveFailures: 5,
      summary: `FIRING items-crud from eu-1: read: expected status 200, got 500 (5 consecutive failures since ${SINCE})`,
      error: { step: 'read', message: 'read: expected status 200, got 500' },
      labels: { team: 'storefront' },
    })
    expect(notification.labels).not.toBe(labels)
  })

  it('carries the failed step’s evidence (status, content type, body excerpt) when it got a response', () => {
    const failure = { ...FAILURE, status: 500, contentType: 'application/json', bodyExcerpt: '{"error":"db down"}' }
    const notification = buildNotification(event({ failure }), { probe: 'items-crud', location: null, labels: {} })
    expect(notification.error).toEqual({
      step: 'read',
      message: 'read: expected status 200, got 500',
      status: 500,
      contentType: 'application/json',
      excerpt: '{"error":"db down"}',
    })
  })
})
