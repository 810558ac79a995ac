import { describe, expect, it } from 'vitest'
import { type ActiveMute, type Mutes, NO_CANARIES, NO_MUTES, type Network } from '../../src/judge/inputs.ts'
import { createJudge, judge, type Judgement, mayBeNetwork, type Outcome, outcomeOf } from '../../src/judge/judge.ts'
import type { Failure, FailureKind, FailureReason, RunResult, StepResult } from '../../src/probe/result.ts'

const AT = new Date('2026-03-01T10:00:00.000Z')

function step(name: string, overrides: Partial<StepResult> = {}): StepResult {
  return { name, cleanup: false, status: 'passed', durationMs: 10, timings: {}, ...overrides }
}

function failure(kind: FailureKind, reason: FailureReason): Failure {
  return { step: 'read', kind, reason, message: `read: ${reason}` }
}

/** A run of two steps; `attempts` is what the engine will set on the second when a `retry:` sent it again. */
function run(outcome: RunResult['outcome'], options: { failure?: Failure; attempts?: number } = {}): RunResult {
  const failed = options.failure
  const read = step('read', {
    ...(failed ? { status: 'failed' as const, failure: failed } : {}),
    ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
  })
  return {
    probe: 'items-crud',
    runId: 'r1',
    startedAt: AT.toISOString(),
    durationMs: 20,
    outcome,
    failure: failed ?? null,
    steps: [step('create'), read],
  }
}

const TRANSPORT_FAILURES: readonly Failure[] = [
  failure('timeout', 'timeout'),
  failure('transport', 'dns'),
  failure('transport', 'connect'),
  failure('transport', 'reset'),
  failure('transport', 'tls'),
  failure('transport', 'transport'),
]

/** Failures the target answered: the network demonstrably works, whatever the canaries say. */
const ANSWERED_FAILURES: readonly Failure[] = [
  failure('status', 'status'),
  failure('expectation', 'expectation'),
  failure('expectation', 'invalid_body'),
  failure('capture', 'capture'),
  failure('capture', 'template'),
  failure('body_too_large', 'body_too_large'),
  failure('transport', 'redirect'),
]

describe('outcomeOf: every raw result against the network', () => {
  const rows: [string, RunResult, { up: Outcome; down: Outcome }][] = [
    ['a pass', run('success'), { up: 'success', down: 'success' }],
    ['a pass with one attempt per step', run('success', { attempts: 1 }), { up: 'success', down: 'success' }],
    ['a pass after a retry', run('success', { attempts: 2 }), { up: 'retried', down: 'retried' }],
    ['a failure after a retry', run('failure', { failure: failure('status', 'status'), attempts: 3 }), { up: 'failure', down: 'failure' }],
    ['an aborted run', run('aborted'), { up: 'aborted', down: 'aborted' }],
    ['a failure without a failure record', run('failure'), { up: 'failure', down: 'failure' }],
    ...TRANSPORT_FAILURES.map((f): [string, RunResult, { up: Outcome; down: Outcome }] => [
      `a ${f.reason} failure`,
      run('failure', { failure: f }),
      { up: 'failure', down: 'inconclusive' },
    ]),
    ...ANSWERED_FAILURES.map((f): [string, RunResult, { up: Outcome; down: Outcome }] => [
      `a ${f.reason} failure`,
      run('failure', { failure: f }),
      { up: 'failure', down: 'failure' },
    ]),
  ]
  for (const [name, result, expected] of rows) {
    it(`${name}: ${expected.up} with the network up, ${expected.down} with it down`, () => {
      expect({ up: outcomeOf(result, true), down: outcomeOf(result, false) }).toEqual(expected)
    })
  }

  it('the canaries are worth asking only about a failure the network could explain', () => {
    expect(TRANSPORT_FAILURES.map((f) => mayBeNetwork(run('failure', { failure: f })))).toEqual(TRANSPORT_FAILURES.map(() => true))
    expect(ANSWERED_FAILURES.map((f) => mayBeNetwork(run('failure', { failure: f })))).toEqual(ANSWERED_FAILURES.map(() => false))
    expect([run('success'), run('success', { attempts: 2 }), run('aborted')].map(mayBeNetwork)).toEqual([false, false, false])
  })
})

describe('judge: outcome and mute together', () => {
  const connect = run('failure', { failure: failure('transport', 'connect') })
  const rows: [string, RunResult, { networkUp: boolean; muted: boolean }, Judgement][] = [
    ['pass', run('success'), { networkUp: true, muted: false }, { outcome: 'success', muted: false }],
    ['pass, muted', run('success'), { networkUp: true, muted: true }, { outcome: 'success', muted: true }],
    ['retried, muted', run('success', { attempts: 2 }), { networkUp: true, muted: true }, { outcome: 'retried', muted: true }],
    ['failure', connect, { networkUp: true, muted: false }, { outcome: 'failure', muted: false }],
    ['failure, muted', connect, { networkUp: true, muted: true }, { outcome: 'failure', muted: true }],
    ['network down', connect, { networkUp: false, muted: false }, { outcome: 'inconclusive', muted: false }],
    ['network down, muted', connect, { networkUp: false, muted: true }, { outcome: 'inconclusive', muted: true }],
  ]
  for (const [name, result, seen, expected] of rows) {
    it(name, () => expect(judge(result, seen)).toEqual(expected))
  }
})

describe('createJudge: the pipeline step asks its inputs', () => {
  function recordingNetwork(up: boolean): Network & { asked: Date[] } {
    const asked: Date[] = []
    return {
      asked,
      async up(now) {
        asked.push(now)
        return up
      },
    }
  }
  const probe = { name: 'items-crud', labels: { team: 'storefront' } }
  const deploy: ActiveMute = { kind: 'mute', name: 'm-1', until: new Date(AT.getTime() + 60_000) }

  it('with no canaries, windows or mutes every run is judged as it ran, unmuted: what a configuration of today gets', async () => {
    const step = createJudge({ network: NO_CANARIES, mutes: NO_MUTES })
    const results = [run('success'), run('failure', { failure: failure('timeout', 'timeout') }), run('aborted')]
    expect(await Promise.all(results.map((r) => step(r, probe)))).toEqual([
      { outcome: 'success', muted: false },
      { outcome: 'failure', muted: false },
      { outcome: 'aborted', muted: false },
    ])
  })

  it('asks the network only about a failure it could explain, at judging time', async () => {
    const network = recordingNetwork(false)
    const step = createJudge({ network, mutes: NO_MUTES, now: () => AT })
    expect(await step(run('success'), probe)).toEqual({ outcome: 'success', muted: false })
    expect(await step(run('failure', { failure: failure('status', 'status') }), probe)).toEqual({ outcome: 'failure', muted: false })
    expect(network.asked).toEqual([])
    expect(await step(run('failure', { failure: failure('transport', 'dns') }), probe)).toEqual({ outcome: 'inconclusive', muted: false })
    expect(network.asked).toEqual([AT])
  })

  it('a target failure while the canaries answer is an ordinary failure', async () => {
    const step = createJudge({ network: recordingNetwork(true), mutes: NO_MUTES })
    expect(await step(run('failure', { failure: failure('transport', 'reset') }), probe)).toEqual({ outcome: 'failure', muted: false })
  })

  it('passes probe, labels and judging time to the mutes, and mutes when one is active', async () => {
    const calls: [string, Readonly<Record<string, string>>, Date][] = []
    const mutes: Mutes = (name, labels, at) => {
      calls.push([name, labels, at])
      return labels.team === 'storefront' ? deploy : null
    }
    const step = createJudge({ network: NO_CANARIES, mutes, now: () => AT })
    expect(await step(run('success'), probe)).toEqual({ outcome: 'success', muted: true })
    expect(await step(run('success'), { name: 'other', labels: {} })).toEqual({ outcome: 'success', muted: false })
    expect(calls).toEqual([
      ['items-crud', { team: 'storefront' }, AT],
      ['other', {}, AT],
    ])
  })
})
