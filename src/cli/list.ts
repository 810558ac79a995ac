import type { LoadedConfig } from '../loader/load.ts'
import { formatDuration } from '../config/duration.ts'
import { EXIT, type CliIo, loadForCommand, secretLines, writeLine } from './io.ts'
import type { CommonOptions } from './options.ts'
import { describeSchedule } from '../scheduler/plan.ts'
import { nextWindowOf } from '../judge/windows.ts'

/** One probe as `list --json` prints it. */
export interface ListedProbe {
  readonly name: string
  readonly file: string
  readonly description: string | null
  readonly runbook: string | null
  /** `every 1m`, or `cron 0 * * * * (UTC)`: the same text as `/api/probes` and the status page. */
  readonly schedule: string
  readonly intervalMs: number | null
  readonly cron: string | null
  readonly timeoutMs: number
  readonly steps: readonly string[]
  /** The channels its alerts go to, after alerting.yaml defaults. */
  readonly channels: readonly string[]
  readonly labels: Readonly<Record<string, string>>
  /** The maintenance window covering it now, or else its next one (ISO times); null when none will. */
  readonly nextWindow: { readonly name: string; readonly start: string; readonly end: string } | null
}

export function listProbes(config: LoadedConfig, now = new Date()): ListedProbe[] {
  const windows = config.alerting?.maintenance ?? []
  return config.probes.map((probe) => ({
    name: probe.name,
    file: probe.file,
    description: probe.description ?? null,
    runbook: probe.runbook ?? null,
    schedule: describeSchedule(probe),
    intervalMs: probe.intervalMs,
    cron: probe.schedule ?? null,
    timeoutMs: probe.timeout,
    steps: probe.steps.map((step) => step.name),
    channels: config.policies.get(probe.name)?.channels ?? [],
    labels: probe.labels,
    nextWindow: windowOf(nextWindowOf(windows, probe.name, probe.labels, now)),
  }))
}

function windowOf(found: ReturnType<typeof nextWindowOf>): ListedProbe['nextWindow'] {
  return found && { name: found.name, start: found.start.toISOString(), end: found.end.toISOString() }
}

/** `probe list`: the probes, their schedule, timeout, steps and channels, as a table or (`--json`) a versioned document. */
export async function listCommand(options: CommonOptions, flags: { readonly json: boolean }, io: CliIo): Promise<number> {
  const config = await loadForCommand(options, io)
  if (!config) return EXIT.usage
  const probes = listProbes(config)
  if (flags.json) {
    const secrets = [...config.secretNames].map(([name, reasons]) => ({ name, reasons }))
    writeLine(io.stdout, JSON.stringify({ version: 1, sha256: config.sha256, probes, secrets }, null, 2))
    return EXIT.ok
  }
  // The window column only for a configuration that has windows: most have none.
  const windowed = (config.alerting?.maintenance.length ?? 0) > 0
  const window = (w: ListedProbe['nextWindow']) => (w ? [`${w.name} ${w.start} – ${w.end}`] : ['-'])
  const rows = [
    ['PROBE', 'SCHEDULE', 'TIMEOUT', 'STEPS', 'CHANNELS', ...(windowed ? ['NEXT WINDOW'] : [])],
    ...probes.map((p) => [
      p.name,
      p.schedule,
      formatDuration(p.timeoutMs),
      String(p.steps.length),
      p.channels.join(', ') || '-',
      ...(windowed ? window(p.nextWindow) : []),
    ]),
  ]
  for (const line of table(rows)) writeLine(io.stdout, line)
  const secrets = secretLines(config)
  if (secrets.length > 0) writeLine(io.stdout, '')
  for (const line of secrets) writeLine(io.stdout, line)
  return EXIT.ok
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? []
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  )
}
