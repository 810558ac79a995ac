import { runSweep, recordLine, sweepSummary } from '../cleanup/sweep.ts'
import { type CliIo, EXIT, loadForCommand, writeLine } from './io.ts'
import type { CommonOptions } from './options.ts'

export interface SweepFlags {
  readonly dryRun: boolean
  readonly only: readonly string[]
}

/**
 * `probe sweep`: every probe's orphan sweep once, one after another, and
 * one line per record deleted (or, with --dry-run, that would be), then a
 * summary per probe. Exit 0 done, 1 a sweep failed, 2 configuration error.
 */
export async function sweepCommand(options: CommonOptions, flags: SweepFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const config = await loadForCommand(options, io, { alertingPath: null, ignoreChannels: true })
  if (!config) return EXIT.usage
  const sweeping = config.probes.filter((probe) => probe.sweep !== undefined)
  const names = new Set(sweeping.map((p) => p.name))
  const unknown = flags.only.filter((name) => !names.has(name))
  if (unknown.length > 0) {
    const list = unknown.map((name) => `"${name}"`).join(', ')
    writeLine(io.stderr, `--only: no probe named ${list} declares a sweep (probes with a sweep: ${[...names].join(', ') || 'none'})`)
    return EXIT.usage
  }
  const probes = flags.only.length > 0 ? sweeping.filter((p) => flags.only.includes(p.name)) : sweeping
  if (probes.length === 0) writeLine(io.stdout, 'no probe declares a sweep')
  let failed = false
  for (const probe of probes) {
    const report = await runSweep(probe, { secrets: config.secrets, dryRun: flags.dryRun, signal })
    for (const record of report.records) writeLine(io.stdout, config.secrets.mask(`${probe.name}: ${recordLine(record, report.dryRun)}`))
    writeLine(io.stdout, config.secrets.mask(`${probe.name}: ${sweepSummary(report)}${report.dryRun ? ' (dry run: nothing deleted)' : ''}`))
    if (report.error) {
      writeLine(io.stderr, config.secrets.mask(`${probe.name}: sweep failed: ${report.error}`))
      failed = true
    }
  }
  return failed ? EXIT.failed : EXIT.ok
}
