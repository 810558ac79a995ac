/**
 * Time to load and validate N probe files: `loadConfig` alone in a fresh
 * process (load-child.ts), and the whole `probe validate` command, Node
 * startup included, as wall time. Medians over the repeats.
 */
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ROOT, runMeasured } from './proc.ts'
import { probeEnv, removeDir, writeProbeDir } from './probes.ts'
import { median } from './stats.ts'

export interface LoadRow {
  readonly files: number
  readonly loadConfigMs: number
  /** CPU time of that load: what it costs on an idle machine, whatever else runs on this one. */
  readonly loadConfigCpuMs: number
  readonly validateWallMs: number
}

export async function measureLoad(files: number, repeats: number): Promise<LoadRow> {
  const dir = await writeProbeDir(files, '5s')
  const env = probeEnv('http://127.0.0.1:1')
  try {
    const inProcess: number[] = []
    const cpu: number[] = []
    const wall: number[] = []
    for (let i = 0; i < repeats; i++) {
      const child = await runMeasured([path.join(ROOT, 'bench', 'load-child.ts'), '--probes', dir], {
        env,
        timeoutMs: 60_000,
        what: 'loadConfig',
      })
      const out = JSON.parse(child.stdout) as { ms: number; cpuMs: number; probes: number }
      if (out.probes !== files) throw new Error(`loadConfig loaded ${out.probes} of ${files} probes`)
      inProcess.push(out.ms)
      cpu.push(out.cpuMs)
      const t0 = performance.now()
      const cli = await runMeasured([path.join(ROOT, 'bin', 'probe.js'), 'validate', '--probes', dir], {
        env,
        timeoutMs: 60_000,
        what: 'validate',
        cwd: tmpdir(),
      })
      wall.push(performance.now() - t0)
      if (cli.code !== 0) throw new Error(`validate exited ${cli.code}: ${cli.stderr.slice(-500)}`)
    }
    return { files, loadConfigMs: median(inProcess), loadConfigCpuMs: median(cpu), validateWallMs: median(wall) }
  } finally {
    await removeDir(dir)
  }
}
