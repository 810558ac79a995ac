import type { RunResult, StepResult, StepTimings } from '../probe/result.ts'
import type { Style } from './style.ts'

/**
 * The `run --once` report, modelled on the blackbox_exporter's `?debug=true`:
 * each probe's verdict, each step's request, status and timing phases, the
 * reason for a failure in plain words, what was skipped and why.
 */

/** Bumped when a field of the JSON report changes meaning or goes away (adding one does not). */
export const REPORT_VERSION = 1

export interface JsonReport {
  readonly version: typeof REPORT_VERSION
  readonly generatedAt: string
  readonly passed: number
  readonly failed: number
  readonly results: readonly RunResult[]
}

/** Passed runs, and the rest (failed or aborted: neither is a pass). */
export function jsonReport(results: readonly RunResult[], generatedAt: Date): JsonReport {
  const passed = results.filter((r) => r.outcome === 'success').length
  return { version: REPORT_VERSION, generatedAt: generatedAt.toISOString(), passed, failed: results.length - passed, results }
}

export interface ReportEntry {
  readonly result: RunResult
  /** The probe file, shown next to the name. */
  readonly file?: string
}

export function formatReport(entries: readonly ReportEntry[], style: Style, totalMs: number): string {
  const lines = entries.flatMap((entry) => probeLines(entry, style))
  lines.push('', summaryLine(entries, style, totalMs))
  return `${lines.join('\n')}\n`
}

const VERDICT = { success: 'PASS', failure: 'FAIL', aborted: 'ABORTED' } as const

function probeLines({ result, file }: ReportEntry, style: Style): string[] {
  const colour = result.outcome === 'success' ? style.pass : result.outcome === 'failure' ? style.fail : style.warn
  const where = file ? style.dim(` (${file})`) : ''
  const lines = [`${colour(VERDICT[result.outcome])} ${style.bold(result.probe)}${where}  ${formatMs(result.durationMs)}`]
  const width = Math.max(...result.steps.map((s) => s.name.length))
  for (const step of result.steps) lines.push(...stepLines(step, width, style))
  // A failure not tied to a listed step (none today) must still be shown.
  if (result.failure && !result.steps.some((s) => s.failure)) lines.push(`    ${style.fail(result.failure.message)}`)
  return lines
}

function stepLines(step: StepResult, width: number, style: Style): string[] {
  const name = step.name.padEnd(width)
  const cleanup = step.cleanup ? style.dim(' [cleanup]') : ''
  if (step.status === 'skipped') {
    return [`  ${style.warn('-')} ${name}  ${style.warn(step.skipReason ?? 'skipped')}${cleanup}`]
  }
  const mark = step.status === 'passed' ? style.pass('✓') : style.fail('✗')
  const parts = [step.request ? `${step.request.method} ${step.request.url}` : '(no request)']
  if (step.request?.finalUrl) parts.push(style.dim(`(redirected to ${step.request.finalUrl})`))
  if (step.response) parts.push(`→ ${step.response.status}`, style.dim(formatBytes(step.response.bytes)))
  parts.push(formatMs(step.durationMs))
  // Shown whether the last attempt passed or not: a pass after a retry is a flaky target, not a healthy one.
  if (step.attempts !== undefined && step.attempts > 1) parts.push(style.warn(`(${step.attempts} attempts)`))
  const phases = formatTimings(step.timings)
  const lines = [`  ${mark} ${name}  ${parts.join('  ')}${phases ? `  ${style.dim(phases)}` : ''}${cleanup}`]
  if (step.failure) {
    lines.push(`      ${style.fail(step.failure.message)}`)
    const { bodyExcerpt, contentType } = step.failure
    const { reproduce } = step
    if (bodyExcerpt !== undefined) {
      const heading = `body${contentType ? ` (${contentType})` : ''}:`
      lines.push(`      ${style.dim(heading)}`, ...bodyExcerpt.split(/\r?\n/).map((line) => `        ${line}`))
    }
    if (reproduce) lines.push(`      ${style.dim('reproduce:')} ${reproduce}`)
  }
  return lines
}

const PHASES: readonly [keyof StepTimings, string][] = [
  ['dnsMs', 'dns'],
  ['connectMs', 'connect'],
  ['tlsMs', 'tls'],
  ['firstByteMs', 'first byte'],
  ['transferMs', 'transfer'],
]

/** `(dns 1 ms, connect 2 ms, first byte 30 ms, transfer 1 ms)`; phases that did not happen are left out. */
export function formatTimings(timings: StepTimings): string {
  const parts = PHASES.flatMap(([key, label]) => (timings[key] === undefined ? [] : [`${label} ${formatMs(timings[key])}`]))
  return parts.length > 0 ? `(${parts.join(', ')})` : ''
}

function summaryLine(entries: readonly ReportEntry[], style: Style, totalMs: number): string {
  const count = (outcome: RunResult['outcome']) => entries.filter((e) => e.result.outcome === outcome).length
  const passed = count('success')
  const failed = count('failure')
  const aborted = count('aborted')
  const parts = [style.pass(`${passed} passed`), failed > 0 ? style.fail(`${failed} failed`) : `${failed} failed`]
  if (aborted > 0) parts.push(style.warn(`${aborted} aborted`))
  const probes = `${entries.length} probe${entries.length === 1 ? '' : 's'}`
  return `${parts.join(', ')} of ${probes} in ${formatMs(totalMs)}`
}

export function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(2)} s`
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
