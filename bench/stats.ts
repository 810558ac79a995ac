/**
 * Pure helpers of the benchmark: statistics, /proc and Prometheus text
 * parsing, Markdown tables. No I/O, so a unit test covers them
 * (test/bench/stats.test.ts) without running a benchmark.
 */

/** The median; NaN for an empty list. */
export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

/** The p-th percentile by the nearest-rank method (p in 0..100); NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number
}

/** User + system CPU seconds of a process from the text of `/proc/<pid>/stat` (fields 14 and 15, in clock ticks). */
export function cpuFromProcStat(text: string, ticksPerSecond = 100): number {
  // The command name (field 2) is in parentheses and may contain spaces: count fields after its closing one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc stat: ${text.slice(0, 80)}`)
  return (utime + stime) / ticksPerSecond
}

/** A field of `/proc/<pid>/status` given in kB (`VmHWM`, `VmRSS`), in MiB; NaN when absent. */
export function statusMiB(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)
  return match ? Number(match[1]) / 1024 : Number.NaN
}

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** The samples of a Prometheus text exposition, comments skipped. Label values may not contain `"` escapes beyond `\"`. */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!match) continue
    const labels: Record<string, string> = {}
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[label[1] as string] = label[2] as string
    samples.push({ name: match[1] as string, labels, value: parseValue(match[3] as string) })
  }
  return samples
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  return Number(text)
}

/** The sum of every sample of a metric, over all label sets. */
export function sumOf(samples: readonly Sample[], name: string): number {
  let sum = 0
  for (const s of samples) if (s.name === name) sum += s.value
  return sum
}

/** A histogram's cumulative count at bucket `le` (summed over label sets), and its total count. */
export function histogramAt(samples: readonly Sample[], name: string, le: string): { readonly below: number; readonly count: number } {
  let below = 0
  for (const s of samples) if (s.name === `${name}_bucket` && s.labels.le === le) below += s.value
  return { below, count: sumOf(samples, `${name}_count`) }
}

/** A Markdown table; cells are printed as given. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** A number with `digits` decimals, or `n/a` when it is not finite. */
export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
}

/** `a / b` as `1.23×`, or `n/a`. */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a'
}
