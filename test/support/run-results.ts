/**
 * Finished runs as the engine reports them, for the tests of what reads a
 * RunResult (the run --once report, the status summary): one that passed
 * with a cleanup step, one that failed at `read` with later steps skipped,
 * one aborted by shutdown.
 */
import type { RunResult } from '../../src/probe/result.ts'

export const passedRun: RunResult = {
  probe: 'items-crud',
  runId: 'a1b2c3d4',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 182.4,
  outcome: 'success',
  failure: null,
  steps: [
    {
      name: 'create',
      cleanup: false,
      status: 'passed',
      request: { method: 'POST', url: 'http://127.0.0.1:8080/items' },
      response: { status: 201, bytes: 48 },
      durationMs: 41.2,
      timings: { dnsMs: 1, connectMs: 2.4, firstByteMs: 30, transferMs: 1 },
    },
    {
      name: 'delete',
      cleanup: true,
      status: 'passed',
      request: { method: 'DELETE', url: 'http://127.0.0.1:8080/items/7' },
      response: { status: 204, bytes: 0 },
      durationMs: 9,
      timings: { firstByteMs: 8, transferMs: 0 },
    },
  ],
}

const readFailure = { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' } as const
export const failedRun: RunResult = {
  probe: 'orders',
  runId: 'e5f6a7b8',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 5_012,
  outcome: 'failure',
  failure: readFailure,
  steps: [
    {
      name: 'read',
      cleanup: false,
      status: 'failed',
      request: { method: 'GET', url: 'https://***/orders/1' },
      response: { status: 500, bytes: 2048 },
      durationMs: 120,
      timings: { dnsMs: 3, connectMs: 10, tlsMs: 25, firstByteMs: 80, transferMs: 2 },
      failure: readFailure,
    },
    { name: 'update', cleanup: false, status: 'skipped', skipReason: 'skipped: an earlier step failed', durationMs: 0, timings: {} },
    {
      name: 'delete',
      cleanup: true,
      status: 'skipped',
      skipReason: 'skipped: {{ orderId }} was never captured',
      durationMs: 0,
      timings: {},
    },
  ],
}

export const abortedRun: RunResult = {
  ...passedRun,
  probe: 'slow',
  outcome: 'aborted',
  steps: [
    {
      name: 'create',
      cleanup: false,
      status: 'skipped',
      skipReason: 'skipped: the run was aborted by shutdown',
      durationMs: 0,
      timings: {},
    },
  ],
}
