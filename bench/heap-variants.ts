/**
 * Daemon memory variants side by side (issue 13): each variant is an
 * environment and Node flags for `probe run`, measured by measureCapacity
 * at each probe count, the variants interleaved within every repeat so the
 * machine's noise falls on all of them alike. Prints one JSON line per
 * measurement and a table of medians at the end.
 *
 *   node bench/heap-variants.ts --target http://127.0.0.1:18537 --probes 10,1000 --repeats 2 \
 *     --variant 'shipped' --variant 'arena1|MALLOC_ARENA_MAX=1'
 *
 * A variant is `label|ENV=value,ENV=value|node flags`; the last two parts are optional.
 */
import { parseArgs } from 'node:util'
import { measureCapacity } from './capacity.ts'
import { median } from './stats.ts'

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    probes: { type: 'string', default: '10,1000' },
    repeats: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '10' },
    window: { type: 'string', default: '30' },
    variant: { type: 'string', multiple: true, default: ['shipped'] },
  },
})
if (!values.target) throw new Error('--target <url of bench/target.ts> is required')

interface Variant {
  readonly label: string
  readonly env: Record<string, string>
  readonly nodeArgs: string
}

const variants: Variant[] = values.variant.map((text) => {
  const [label = text, envText = '', nodeArgs = ''] = text.split('|')
  const env = Object.fromEntries(
    envText
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  )
  return { label, env, nodeArgs }
})
const counts = values.probes.split(',').map(Number)
const plan = { warmupSeconds: Number(values.warmup), windowSeconds: Number(values.window), scrapes: 1 }

type Row = Awaited<ReturnType<typeof measureCapacity>> & { label: string }
const rows: Row[] = []
for (let repeat = 0; repeat < Number(values.repeats); repeat++) {
  for (const probes of counts) {
    // Alternate the order between repeats: a variant measured first every time would carry any drift alone.
    const order = repeat % 2 === 0 ? variants : [...variants].reverse()
    for (const variant of order) {
      const row = await measureCapacity(values.target, probes, plan, '', variant.nodeArgs, variant.env)
      const out = { ...row, label: variant.label }
      rows.push(out)
      const { scrape: _scrape, ...brief } = out
      console.log(JSON.stringify({ repeat, ...brief }))
    }
  }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')
console.log('\n| probes | variant | peak RSS | steady RSS | live heap | heap used | CPU ms/run | on time | failed | n |')
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const probes of counts) {
  for (const variant of variants) {
    const mine = rows.filter((r) => r.probes === probes && r.label === variant.label)
    const m = (pick: (r: Row) => number) => median(mine.map(pick))
    console.log(
      `| ${probes} | ${variant.label} | ${fmt(m((r) => r.peakRssMiB))} | ${fmt(m((r) => r.steadyRssMiB))} | ${fmt(m((r) => r.liveHeapMiB))} | ${fmt(m((r) => r.heapUsedMiB))} | ${fmt(
        m((r) => r.cpuPerRunMs),
        2,
      )} | ${fmt(100 * Math.min(...mine.map((r) => r.onTime)), 2)}% | ${mine.reduce((a, r) => a + r.failedRuns, 0)} | ${mine.length} |`,
    )
  }
}
