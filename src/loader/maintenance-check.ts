/**
 * Maintenance windows against the probe files: a window that covers no probe
 * is a typo that would let a maintenance page everyone, so each selector must
 * name a probe that exists, or label matchers some probe carries. Read from
 * the raw YAML, so it reports in the same pass as every other problem.
 */
import type { Diagnostic } from '../config/diagnostics.ts'

interface ProbeFacts {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
}

function object(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null
}

/** Name and labels of each probe file that has a name, as written. */
export function probeFacts(raws: readonly unknown[]): ProbeFacts[] {
  return raws.flatMap((raw) => {
    const probe = object(raw)
    if (typeof probe?.name !== 'string') return []
    const labels = Object.fromEntries(
      Object.entries(object(probe.labels) ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
    )
    return [{ name: probe.name, labels }]
  })
}

export function maintenanceCheck(file: string, alertingRaw: unknown, probes: readonly ProbeFacts[]): Diagnostic[] {
  const windows = object(alertingRaw)?.maintenance
  if (!Array.isArray(windows)) return []
  const names = probes.map((p) => p.name)
  const out: Diagnostic[] = []
  for (const [i, window] of windows.entries()) {
    const selectors = object(window)?.probes
    if (!Array.isArray(selectors)) continue
    for (const [j, selector] of selectors.entries()) {
      const path = `maintenance[${i}].probes[${j}]`
      if (typeof selector === 'string') {
        if (!names.includes(selector))
          out.push({ file, path, message: `unknown probe "${selector}" (probes: ${names.join(', ') || 'none'})` })
        continue
      }
      const matchers = object(selector)
      if (!matchers) continue
      const entries = Object.entries(matchers)
      if (entries.length === 0) {
        out.push({ file, path, message: 'an empty label matcher would select every probe; name the labels' })
        continue
      }
      const unknownLabels = entries.filter(([key]) => !probes.some((p) => Object.hasOwn(p.labels, key)))
      for (const [key] of unknownLabels)
        out.push({ file, path: `${path}.${key}`, message: `unknown label matcher: no probe has the label "${key}"` })
      if (unknownLabels.length > 0) continue
      const matched = probes.some((p) => entries.every(([key, value]) => p.labels[key] === value))
      if (!matched) {
        const wanted = entries.map(([key, value]) => `${key}=${String(value)}`).join(', ')
        out.push({ file, path, message: `selects no probe: none carries ${wanted}` })
      }
    }
  }
  return out
}
