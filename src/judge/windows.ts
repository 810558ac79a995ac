/**
 * Maintenance windows as a `Mutes`: pure in (probe, labels, time). A window
 * is a function of the clock — a cron occurrence in its time zone plus its
 * duration, or a fixed start/end — so the evaluator keeps no state and a
 * restart changes nothing.
 */
import { CronExpressionParser } from 'cron-parser'
import type { MaintenanceWindow, ProbeSelector } from '../config/maintenance-schema.ts'
import type { ActiveMute, Mutes } from './inputs.ts'

export interface Occurrence {
  readonly start: Date
  readonly end: Date
}

/** A selector picks a probe by name, or by every one of its label matchers. */
export function selects(selector: ProbeSelector, probe: string, labels: Readonly<Record<string, string>>): boolean {
  if (typeof selector === 'string') return selector === probe
  return Object.entries(selector).every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value)
}

export function covers(window: MaintenanceWindow, probe: string, labels: Readonly<Record<string, string>>): boolean {
  return window.probes.some((selector) => selects(selector, probe, labels))
}

/** The occurrence of `window` that contains `at` (start inclusive, end exclusive), or null. */
export function occurrenceAt(window: MaintenanceWindow, at: Date): Occurrence | null {
  const t = at.getTime()
  if (window.kind === 'fixed') return window.start <= t && t < window.end ? occurrence(window.start, window.end) : null
  // The latest start at or before `at` (prev() is strict, hence the +1 ms).
  const expression = CronExpressionParser.parse(window.schedule, { tz: window.timezone, currentDate: new Date(t + 1) })
  if (!expression.hasPrev()) return null
  const start = expression.prev().getTime()
  return t < start + window.durationMs ? occurrence(start, start + window.durationMs) : null
}

/** The current occurrence, or else the next one to start after `at`; null when there is none. */
export function nextOccurrence(window: MaintenanceWindow, at: Date): Occurrence | null {
  const current = occurrenceAt(window, at)
  if (current) return current
  if (window.kind === 'fixed') return window.start > at.getTime() ? occurrence(window.start, window.end) : null
  const expression = CronExpressionParser.parse(window.schedule, { tz: window.timezone, currentDate: at })
  if (!expression.hasNext()) return null
  const start = expression.next().getTime()
  return occurrence(start, start + window.durationMs)
}

/** The soonest window occurrence (current or next) covering the probe: what `probe list` shows. */
export function nextWindowOf(
  windows: readonly MaintenanceWindow[],
  probe: string,
  labels: Readonly<Record<string, string>>,
  at: Date,
): (Occurrence & { name: string }) | null {
  let best: (Occurrence & { name: string }) | null = null
  for (const window of windows) {
    if (!covers(window, probe, labels)) continue
    const found = nextOccurrence(window, at)
    if (found && (best === null || found.start < best.start)) best = { ...found, name: window.name }
  }
  return best
}

/**
 * The windows as a `Mutes`. Of several windows covering a probe at once, the
 * one ending last is reported: that is when notifications come back.
 */
export function windowMutes(windows: readonly MaintenanceWindow[]): Mutes {
  if (windows.length === 0) return () => null
  return (probe, labels, at) => {
    let found: ActiveMute | null = null
    for (const window of windows) {
      if (!covers(window, probe, labels)) continue
      const current = occurrenceAt(window, at)
      if (current && (found === null || current.end > found.until)) found = { kind: 'maintenance', name: window.name, until: current.end }
    }
    return found
  }
}

/** Several sources of mutes as one: the one ending last wins. */
export function combineMutes(...sources: readonly Mutes[]): Mutes {
  return (probe, labels, at) => {
    let found: ActiveMute | null = null
    for (const source of sources) {
      const mute = source(probe, labels, at)
      if (mute && (found === null || mute.until > found.until)) found = mute
    }
    return found
  }
}

function occurrence(start: number, end: number): Occurrence {
  return { start: new Date(start), end: new Date(end) }
}
