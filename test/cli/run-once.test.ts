import { describe, expect, test } from 'vitest'
import type { Probe } from '../../src/config/probe-schema.ts'
import { mapLimit, selectProbes } from '../../src/cli/run-once.ts'

describe('mapLimit', () => {
  test('runs at most `limit` at a time and keeps the items’ order', async () => {
    let running = 0
    let peak = 0
    const releases: (() => void)[] = []
    const done = mapLimit([1, 2, 3, 4, 5], 2, async (n) => {
      running++
      peak = Math.max(peak, running)
      await new Promise<void>((resolve) => releases.push(resolve))
      running--
      return n * 10
    })
    // Release the waiting calls one by one, newest first, so that they finish out of order.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve))
      releases.pop()?.()
    }
    expect(await done).toEqual([10, 20, 30, 40, 50])
    expect(peak).toBe(2)
  })

  test('an empty list gives an empty list', async () => {
    expect(await mapLimit([], 8, async () => 1)).toEqual([])
  })
})

describe('selectProbes', () => {
  const probes = [{ name: 'a' }, { name: 'b' }, { name: 'c' }] as unknown as Probe[]

  test('no --only: every probe', () => {
    expect(selectProbes(probes, [])).toBe(probes)
  })

  test('--only keeps file order and names every unknown probe', () => {
    expect((selectProbes(probes, ['c', 'a']) as Probe[]).map((p) => p.name)).toEqual(['a', 'c'])
    expect(selectProbes(probes, ['x', 'a', 'y'])).toBe('--only: no probe named "x", "y" (probes: a, b, c)')
  })
})
