import { afterEach, describe, expect, test } from 'vitest'
import { outcomeOf } from '../../src/judge/judge.ts'
import type { StepResult } from '../../src/probe/result.ts'
import { MIN_RETRY_BUDGET_MS, isRetryable, retryFits } from '../../src/probe/retry.ts'
import { runProbe } from '../../src/probe/run.ts'
import { type Handler, type TestServer, buildProbe, json, startServer } from './servers.ts'

const servers: TestServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler)
  servers.push(server)
  return server
}

/** Answers with the scripted statuses in turn (`reset` destroys the socket), then 200 for good. */
function scripted(script: (number | 'reset')[]): Handler {
  return (req, res) => {
    const next = script.shift() ?? 200
    if (next === 'reset') return void req.socket.destroy()
    json(res, next, { ok: next < 400 })
  }
}

function failed(reason: NonNullable<StepResult['failure']>['reason'], status?: number): StepResult {
  return {
    name: 's',
    cleanup: false,
    status: 'failed',
    durationMs: 1,
    timings: {},
    ...(status === undefined ? {} : { response: { status, bytes: 0 } }),
    failure: { step: 's', kind: status === undefined ? 'transport' : 'status', reason, message: 's: x' },
  }
}

describe('what is retried', () => {
  test.each([
    ['a reset connection', failed('reset'), true],
    ['a refused connection', failed('connect'), true],
    ['a timeout', failed('timeout'), true],
    ['a DNS failure', failed('dns'), true],
    ['a 503', failed('status', 503), true],
    ['a 500 that failed an expectation', failed('expectation', 500), true],
    ['a 404', failed('status', 404), false],
    ['a 200 with the wrong body', failed('expectation', 200), false],
    ['a redirect not followed', failed('redirect', 302), false],
    ['a body too large', failed('body_too_large', 200), false],
    ['a passed step', { name: 's', cleanup: false, status: 'passed', durationMs: 1, timings: {} } as StepResult, false],
  ])('%s: %s', (_, step, expected) => {
    expect(isRetryable(step)).toBe(expected)
  })

  test.each([
    [100, 1_000, 0, true],
    [100, 1_000, 880, true],
    [100, 1_000, 1_000 - 100 - MIN_RETRY_BUDGET_MS, false],
    [0, 5, 0, false],
  ])('a retry after %d ms, deadline at %d, now %d: fits %s', (delay, deadline, now, expected) => {
    expect(retryFits(delay, deadline, now)).toBe(expected)
  })
})

function probeOf(base: string, step: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return buildProbe({ name: 'flaky', timeout: '2s', ...extra, steps: [{ name: 'get', request: { url: `${base}/x` }, ...step }] })
}

describe('a step with retry:', () => {
  test('a connection reset, then an answer: passes after 2 attempts, and the judge calls the run retried', async () => {
    const server = await serve(scripted(['reset']))
    const { probe, secrets } = probeOf(server.url, { retry: { attempts: 2, delay: '20ms' } })
    const result = await runProbe(probe, { secrets })
    expect(result.outcome).toBe('success')
    expect(result.steps[0]?.attempts).toBe(2)
    expect(server.requests).toEqual(['GET /x', 'GET /x'])
    expect(outcomeOf(result, true)).toBe('retried')
  })

  test('a 503 every time: sent 1 + attempts times, then fails with the last answer and its attempt count', async () => {
    const server = await serve(scripted([503, 503, 503, 503]))
    const { probe, secrets } = probeOf(server.url, { retry: { attempts: 2, delay: '10ms' } })
    const result = await runProbe(probe, { secrets })
    expect(result.outcome).toBe('failure')
    expect(result.failure?.reason).toBe('status')
    expect(result.steps[0]?.attempts).toBe(3)
    expect(server.requests).toHaveLength(3)
    expect(outcomeOf(result, true)).toBe('failure')
  })

  test('a 404 is an answer: not retried', async () => {
    const server = await serve(scripted([404]))
    const { probe, secrets } = probeOf(server.url, { retry: { attempts: 3, delay: '10ms' } })
    const result = await runProbe(probe, { secrets })
    expect(result.outcome).toBe('failure')
    expect(result.steps[0]?.attempts).toBeUndefined()
    expect(server.requests).toHaveLength(1)
  })

  test('without retry: a reset fails the run at once', async () => {
    const server = await serve(scripted(['reset']))
    const { probe, secrets } = probeOf(server.url, {})
    const result = await runProbe(probe, { secrets })
    expect(result.outcome).toBe('failure')
    expect(result.failure?.reason).toBe('reset')
    expect(server.requests).toHaveLength(1)
  })

  test('a step timeout is retried, each attempt with its own timeout, until one answers', async () => {
    let seen = 0
    const server = await serve((_req, res) => {
      // The first two attempts hang past the step's 100ms; the third answers.
      if (++seen <= 2) return
      json(res, 200, {})
    })
    const { probe, secrets } = probeOf(server.url, { request: { url: `${server.url}/x`, timeout: '100ms' }, retry: { attempts: 3, delay: '10ms' } })
    const t0 = performance.now()
    const result = await runProbe(probe, { secrets })
    expect(result.outcome).toBe('success')
    expect(result.steps[0]?.attempts).toBe(3)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(200)
    expect(performance.now() - t0).toBeLessThan(1_500)
  })

  test('a POST with retry.unsafe is retried', async () => {
    const server = await serve(scripted([502]))
    const { probe, secrets } = probeOf(server.url, {
      request: { method: 'POST', url: `${server.url}/x`, json: {} },
      retry: { attempts: 1, delay: '10ms', unsafe: true },
    })
    const result = await runProbe(probe, { secrets })
    expect(result.outcome).toBe('success')
    expect(server.requests).toEqual(['POST /x', 'POST /x'])
  })

  test('retries stop at the deadline and leave the cleanup reserve untouched', async () => {
    // timeout 600ms, one cleanup with a 200ms timeout: the main steps must be done by 400ms.
    const server = await serve((req, res) => (req.method === 'DELETE' ? void res.writeHead(204).end() : json(res, 503, {})))
    const { probe, secrets } = buildProbe({
      name: 'deadline',
      timeout: '600ms',
      interval: '5s',
      steps: [
        { name: 'get', request: { url: `${server.url}/x` }, retry: { attempts: 5, delay: '150ms' } },
        { name: 'delete', cleanup: true, request: { method: 'DELETE', url: `${server.url}/x`, timeout: '200ms' } },
      ],
    })
    const t0 = performance.now()
    const result = await runProbe(probe, { secrets })
    const gets = server.requests.filter((r) => r.startsWith('GET'))
    // Attempts at ~0, ~150 and ~300 ms; one at ~450 would start inside the cleanup reserve.
    expect(gets.length).toBeGreaterThanOrEqual(2)
    expect(gets.length).toBeLessThanOrEqual(3)
    expect(result.steps[0]?.attempts).toBe(gets.length)
    expect(result.steps[1]?.status).toBe('passed')
    expect(performance.now() - t0).toBeLessThan(600)
  })

  test('shutdown while waiting to retry: the run is aborted, not failed', async () => {
    const server = await serve(scripted([503, 503]))
    const { probe, secrets } = probeOf(server.url, { retry: { attempts: 1, delay: '1s' } }, { timeout: '3s', interval: '5s' })
    const controller = new AbortController()
    const running = runProbe(probe, { secrets, signal: controller.signal })
    for (let i = 0; i < 100 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    controller.abort()
    const result = await running
    expect(result.outcome).toBe('aborted')
    expect(server.requests).toHaveLength(1)
  })
})
