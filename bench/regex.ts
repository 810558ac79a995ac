/**
 * `node bench/regex.ts`: the cost of one match with the linear-time engine
 * probe files are compiled to (re2js) next to V8's native RegExp, for the
 * kinds of pattern and input a probe meets. Not part of `npm run bench`:
 * it measures a library choice, not the daemon. Every loop is bounded.
 */
import { RE2JS } from 're2js'

interface Case {
  readonly name: string
  readonly pattern: string
  readonly input: string
}

const body = (size: number) =>
  `{"items":[${'{"id":"3f2a","name":"smoke-1a2b3c4d"},'.repeat(Math.ceil(size / 38))}{}],"status":"ok"}`.slice(-size)

const CASES: readonly Case[] = [
  { name: 'id value, anchored', pattern: '^smoke-[a-f0-9]{8}$', input: 'smoke-1a2b3c4d' },
  { name: 'header value', pattern: '^application/json', input: 'application/json; charset=utf-8' },
  { name: 'body 1 KiB, literal near end', pattern: '"status":\\s*"ok"', input: body(1024) },
  { name: 'body 64 KiB, literal near end', pattern: '"status":\\s*"ok"', input: body(64 * 1024) },
  { name: 'body 1 MiB, no match, char class', pattern: 'smoke-\\d{9}$', input: body(1024 * 1024) },
  { name: 'hostile ^(a+)+$, 20 bytes', pattern: '^(a+)+$', input: `${'a'.repeat(19)}!` },
]

/** Median time of one call, in microseconds, over batches sized to take about 20 ms each. */
function perCall(fn: () => boolean): number {
  let batch = 1
  for (;;) {
    const t0 = performance.now()
    for (let i = 0; i < batch; i++) fn()
    if (performance.now() - t0 > 20 || batch >= 1 << 20) break
    batch *= 2
  }
  const samples: number[] = []
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now()
    for (let i = 0; i < batch; i++) fn()
    samples.push(((performance.now() - t0) * 1_000) / batch)
  }
  return samples.sort((a, b) => a - b)[3] ?? 0
}

const format = (us: number) => (us >= 1_000 ? `${(us / 1_000).toFixed(1)} ms` : `${us.toFixed(2)} µs`)

console.log('| case | input | re2js | native RegExp | ratio |')
console.log('|---|---:|---:|---:|---:|')
for (const c of CASES) {
  const re2 = RE2JS.compile(RE2JS.translateRegExp(c.pattern))
  const native = new RegExp(c.pattern)
  const a = perCall(() => re2.test(c.input))
  const b = perCall(() => native.test(c.input))
  console.log(`| ${c.name} | ${c.input.length} B | ${format(a)} | ${format(b)} | ${a / b < 0.1 ? '< 0.1' : (a / b).toFixed(1)}× |`)
}
