import type { LookupAddress } from 'node:dns'
import { describe, expect, test } from 'vitest'
import { shareLookups } from '../../src/probe/connections.ts'

/** One getaddrinfo per name in flight: a hung name holds one pool thread, not one per run. */
describe('shared lookups', () => {
  test('concurrent lookups of a name make one call; another name its own; nothing is cached', () => {
    const calls: { hostname: string; answer: (error: Error | null, address: LookupAddress[]) => void }[] = []
    const lookup = shareLookups((hostname, _options, callback) => {
      calls.push({ hostname, answer: (error, address) => callback(error as NodeJS.ErrnoException | null, address) })
    })
    const got: unknown[] = []
    for (let i = 0; i < 3; i++) lookup('api.internal', { all: true }, (error, address) => got.push(error ?? address))
    lookup('other.internal', { all: true }, (error, address) => got.push(error ?? address))
    expect(calls.map((c) => c.hostname)).toEqual(['api.internal', 'other.internal'])

    calls[0]?.answer(null, [{ address: '10.0.0.7', family: 4 }])
    expect(got).toEqual([[{ address: '10.0.0.7', family: 4 }], [{ address: '10.0.0.7', family: 4 }], [{ address: '10.0.0.7', family: 4 }]])
    // Each socket has its own list, so one that reorders it cannot disturb another.
    expect(got[0]).not.toBe(got[1])

    const failure = Object.assign(new Error('getaddrinfo ENOTFOUND other.internal'), { code: 'ENOTFOUND' })
    calls[1]?.answer(failure, [])
    expect(got[3]).toBe(failure)

    // The answer is not kept: the next run looks the name up again, and measures it.
    lookup('api.internal', { all: true }, () => {})
    expect(calls.map((c) => c.hostname)).toEqual(['api.internal', 'other.internal', 'api.internal'])
  })

  test('different options are different lookups (an IPv4-only one does not get an all-families answer)', () => {
    const calls: string[] = []
    const lookup = shareLookups((hostname, options) => calls.push(`${hostname} ${options.family ?? 0} ${options.all === true}`))
    lookup('api.internal', { all: true }, () => {})
    lookup('api.internal', { family: 4 }, () => {})
    lookup('api.internal', { all: true }, () => {})
    expect(calls).toEqual(['api.internal 0 true', 'api.internal 4 false'])
  })
})
