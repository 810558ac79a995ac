import type { Writable } from 'node:stream'
import { type Diagnostic, formatDiagnostic, type LoadedConfig, type LoadOptions, loadConfig } from '../loader/load.ts'
import type { CommonOptions } from './options.ts'

/** What a command may touch: handlers take this instead of `process`, so tests run them in-process. */
export interface CliIo {
  readonly stdout: Writable
  readonly stderr: Writable
  readonly env: Readonly<Record<string, string | undefined>>
  /** Relative paths in flags are read from here. */
  readonly cwd: string
}

/** Exit codes (README "Commands"): 0 fine, 1 a probe or a delivery failed, 2 usage or configuration error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const

export function writeLine(stream: Writable, line = ''): void {
  stream.write(`${line}\n`)
}

/** Loads the configuration the flags name; on any problem prints them all to stderr and returns null (exit 2). */
export async function loadForCommand(
  options: CommonOptions,
  io: CliIo,
  overrides: Partial<Pick<LoadOptions, 'alertingPath' | 'alertingRequired' | 'ignoreChannels'>> = {},
): Promise<LoadedConfig | null> {
  const result = await loadConfig({ probePaths: options.probes, alertingPath: options.alerting, env: io.env, cwd: io.cwd, secretsDir: options.secretsDir, ...overrides })
  if (result.ok) return result.config
  printDiagnostics(result.diagnostics, io.stderr)
  return null
}

export function printDiagnostics(diagnostics: readonly Diagnostic[], stream: Writable): void {
  for (const diagnostic of diagnostics) writeLine(stream, formatDiagnostic(diagnostic))
  const files = new Set(diagnostics.map((d) => d.file).filter((f) => f !== '')).size
  const problems = `${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}`
  writeLine(stream, `${problems}${files > 0 ? ` in ${files} file${files === 1 ? '' : 's'}` : ''}; the configuration was not loaded`)
}

/** `ITEMS_API_TOKEN: secret (used in header authorization of items-crud)`, one line per secret name. */
export function secretLines(config: LoadedConfig): string[] {
  return [...config.secretNames].map(([name, reasons]) => `${name}: secret (${reasons.join('; ')})`)
}
