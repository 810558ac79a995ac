import path from 'node:path'
import { EXIT, type CliIo, loadForCommand, secretLines, writeLine } from './io.ts'
import type { CommonOptions } from './options.ts'

/**
 * `probe validate`: loads every probe file and the alerting file exactly as
 * the daemon would (env templates included), and reports every problem at
 * once. Exit 0 valid, 2 invalid.
 */
export async function validateCommand(options: CommonOptions, io: CliIo): Promise<number> {
  const config = await loadForCommand(options, io)
  if (!config) return EXIT.usage
  for (const probe of config.probes) writeLine(io.stdout, `ok  ${probe.file}  (${probe.name})`)
  if (config.alerting && options.alerting) {
    const channels = Object.keys(config.alerting.channels)
    writeLine(
      io.stdout,
      `ok  ${path.normalize(options.alerting)}  (${channels.length} channel${channels.length === 1 ? '' : 's'}${channels.length ? `: ${channels.join(', ')}` : ''})`,
    )
  }
  for (const line of secretLines(config)) writeLine(io.stdout, line)
  const probes = `${config.probes.length} probe${config.probes.length === 1 ? '' : 's'}`
  const alerting = config.alerting ? '' : ', no alerting file'
  writeLine(io.stdout, `valid: ${probes}${alerting}; configuration sha256 ${config.sha256}`)
  return EXIT.ok
}
