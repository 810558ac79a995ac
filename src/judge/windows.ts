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

/**
 * A window's occurrences, remembered: the latest start at or before a time
 * and the next start after it bound an interval in which both answers stay
 * the same, so cron (a few milliseconds a step, more in a time zone) is asked
 * again only when a start is passed, not on every run and every tick.
 */
export interface WindowClock {
  /** The occurrence containing `at` (start inclusive, end exclusive), or null. */
  at(at: Date): Occurrence | null
  /** The current occurrence, or else the next one to start after `at`; null when there is none. */
  next(at: Date): Occurrence | null
}

/**
 * How long a remembered answer is trusted before cron is asked again: two
 * cron steps an hour cost nothing, and bound how long any surprise of the
 * library's daylight-saving handling could last.
 */
const TRUST_MS = 3_600_000

export function windowClock(window: MaintenanceWindow): WindowClock {
  if (window.kind === 'fixed') {
    const only = occurrence(window.start, window.end)
    return {
      at: (at) => (window.start <= at.getTime() && at.getTime() < window.end ? only : null),
      next: (at) => (at.getTime() < window.end ? only : null),
    }
  }
  const { schedule, timezone, durationMs } = window
  const startAfter = (t: number) =>
    step(() =>
      CronExpressionParser.parse(schedule, { tz: timezone, currentDate: new Date(t) })
        .next()
        .getTime(),
    )
  /** The answer for `askedAt`, valid for later times up to `until`. */
  let known: { readonly askedAt: number; readonly until: number; readonly current: boolean; readonly start: number | null } | null = null
  const ask = (t: number) => {
    if (known && known.askedAt <= t && t < known.until && t - known.askedAt < TRUST_MS) return known
    // Only next(), never prev(): an occurrence contains t exactly when one of its starts lies in
    // (t - duration, t]. cron-parser's prev() skips the start that next() moves out of a
    // daylight-saving gap (02:00 on the spring Sunday, run at 03:00), so a window would be lost that day.
    // next() is strict, so a start found is after t - duration: its occurrence has not ended at t.
    const start = startAfter(t - durationMs)
    const current = start !== null && start <= t
    const until = start === null ? Number.POSITIVE_INFINITY : current ? start + durationMs : start
    known = { askedAt: t, until, current, start }
    return known
  }
  const at = (time: Date): Occurrence | null => {
    const { current, start } = ask(time.getTime())
    return current && start !== null ? occurrence(start, start + durationMs) : null
  }
  return {
    at,
    next(time) {
      const { start } = ask(time.getTime())
      return start === null ? null : occurrence(start, start + durationMs)
    },
  }
}

/** A cron step, or null past the last occurrence cron can compute. */
function step(compute: () => number): number | null {
  try {
    return compute()
  } catch {
    return null
  }
}

export function occurrenceAt(window: MaintenanceWindow, at: Date): Occurrence | null {
  return windowClock(window).at(at)
}

export function nextOccurrence(window: MaintenanceWindow, at: Date): Occurrence | null {
  return windowClock(window).next(at)
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
    const found = windowClock(window).next(at)
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
  const clocks = windows.map((window) => ({ window, clock: windowClock(window) }))
  return (probe, labels, at) => {
    let found: ActiveMute | null = null
    for (const { window, clock } of clocks) {
      if (!covers(window, probe, labels)) continue
      const current = clock.at(at)
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
