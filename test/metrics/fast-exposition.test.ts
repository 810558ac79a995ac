import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { describe, expect, test } from 'vitest'
import { FastRegistry } from '../../src/metrics/exposition.ts'

/** The same metric instances in both registries: the fast text must equal prom-client's, byte for byte. */
function pair() {
  const fast = new FastRegistry()
  const plain = new Registry()
  const registers = [fast, plain]
  return { fast, plain, registers }
}

describe('FastRegistry', () => {
  test('writes exactly what prom-client writes, for every metric type, escapes and special values', async () => {
    const { fast, plain, registers } = pair()
    const tricky = { probe: 'a"b\\c\nd', step: 'create' }
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'a histogram\nwith a \\ in its help',
      labelNames: ['probe', 'step'],
      buckets: [0.1, 1],
      registers,
    })
    const child = histogram.labels(tricky)
    child.observe(0.05)
    child.observe(0.5)
    child.observe(7)
    histogram.zero({ probe: 'zeroed', step: 'read' })
    const bare = new Histogram({ name: 'bare_seconds', help: 'no labels', buckets: [0.5], registers })
    bare.observe(0.25)
    const gauge = new Gauge({ name: 'g', help: 'a gauge', labelNames: ['probe'], registers })
    gauge.set({ probe: 'x' }, Number.NaN)
    gauge.set({ probe: 'y' }, Number.POSITIVE_INFINITY)
    gauge.set({ probe: 'z' }, -1.5e-7)
    new Gauge({
      name: 'collected',
      help: 'set at scrape time',
      registers,
      collect() {
        this.set(42)
      },
    })
    const counter = new Counter({ name: 'c_total', help: 'a counter', labelNames: ['result', 'probe'], registers })
    counter.inc({ probe: 'x', result: 'success' }, 3)
    counter.inc({ result: 'failure', probe: 'x' }, 0)
    new Counter({ name: 'unused_total', help: 'never touched', labelNames: ['probe'], registers })
    const expected = await plain.metrics()
    expect(await fast.metrics()).toBe(expected)
    // Cached label text must follow later changes of the values.
    child.observe(0.01)
    gauge.set({ probe: 'x' }, 2)
    expect(await fast.metrics()).toBe(await plain.metrics())
    expect(expected).toContain('h_seconds_bucket{le="0.1",probe="a\\"b\\\\c\\nd",step="create"} 1')
  })

  test('a removed series disappears from the next scrape', async () => {
    const { fast, plain, registers } = pair()
    const histogram = new Histogram({ name: 'h', help: 'h', labelNames: ['probe'], buckets: [1], registers })
    histogram.labels({ probe: 'a' }).observe(1)
    histogram.labels({ probe: 'b' }).observe(2)
    await fast.metrics()
    histogram.remove({ probe: 'a' })
    const text = await fast.metrics()
    expect(text).toBe(await plain.metrics())
    expect(text).not.toContain('probe="a"')
  })

  test('refuses default labels rather than silently leaving them out', () => {
    expect(() => new FastRegistry().setDefaultLabels({ location: 'x' })).toThrow(/default labels/)
  })
})
