/**
 * `loadConfig` of N probe files in fresh processes, for several checkouts
 * side by side: `node bench/load-compare.ts [--files 1000] [--repeats 7] before=/path/to/checkout after=.`
 * Each checkout's own bench/load-child.ts is run in turn, round after round,
 * so a busy machine slows every variant alike. Prints the medians of wall
 * and CPU time per variant (CPU is what the load costs on an idle machine).
 */
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { NODE } from './proc.ts'
import { probeEnv, removeDir, writeProbeDir } from './probes.ts'
import { median } from './stats.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { files: { type: 'string', default: '1000' }, repeats: { type: 'string', default: '7' } },
})
const variants = (positionals.length > 0 ? positionals : ['current=.']).map((given) => {
  const [label = given, root = '.'] = given.includes('=') ? given.split('=', 2) : [given, given]
  return { label, root: path.resolve(root), wall: [] as number[], cpu: [] as number[] }
})
const files = Number(values.files)
const dir = await writeProbeDir(files, '5s')
try {
  for (let round = 0; round < Number(values.repeats); round++) {
    for (const variant of variants) {
      const out = execFileSync(NODE, [path.join(variant.root, 'bench', 'load-child.ts'), '--probes', dir], {
        cwd: variant.root,
        env: { ...process.env, ...probeEnv('http://127.0.0.1:1') },
        timeout: 60_000,
      })
      const { ms, cpuMs, probes } = JSON.parse(out.toString()) as { ms: number; cpuMs: number; probes: number }
      if (probes !== files) throw new Error(`${variant.label}: loaded ${probes} of ${files} probes`)
      variant.wall.push(ms)
      variant.cpu.push(cpuMs)
    }
  }
} finally {
  await removeDir(dir)
}
for (const { label, wall, cpu } of variants) {
  const all = wall.map((ms) => ms.toFixed(0)).join(' ')
  process.stdout.write(
    `${label}: loadConfig of ${files} files, wall ${median(wall).toFixed(0)} ms, CPU ${median(cpu).toFixed(0)} ms (wall: ${all})\n`,
  )
}
