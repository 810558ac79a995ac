import * as z from 'zod'
import { describeValue } from './diagnostics.ts'

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DAY_MS = UNIT_MS.d
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/
/** The pattern the JSON Schema shows for a duration that may be `0`. */
const DURATION_OR_ZERO = /^(?:0|(\d+(?:\.\d+)?)(ms|s|m|h|d))$/

/** The JSON Schema patterns of a duration, so the generated reference can call such a field a "duration". */
export const DURATION_PATTERNS: readonly string[] = [DURATION.source, DURATION_OR_ZERO.source]

/**
 * The longest duration any field takes. Every duration ends up in a timer
 * (`setTimeout`, `AbortSignal.timeout`, `setInterval`), and Node fires a
 * timer longer than 2³¹−1 ms (~24.8 days) after 1 ms instead: a probe
 * `timeout: 30d` would fail every run at once. 24d is the round number
 * below that limit.
 */
export const MAX_DURATION_MS = 24 * DAY_MS

/** Milliseconds for `250ms`, `10s`, `1m`, `4h`, `1d`, or `0`; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text.trim() === '0') return 0
  const match = DURATION.exec(text.trim())
  if (!match) return undefined
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS])
}

/** `1500` → `1.5s`, `60000` → `1m`: the inverse of parseDuration, for messages and listings. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0'
  // Whole days only: `36h` reads better than `1.5d`.
  if (ms >= DAY_MS && ms % DAY_MS === 0) return `${ms / DAY_MS}d`
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % (size / 10) === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

export interface DurationBounds {
  /** The shortest duration accepted (other than `0` where `zero` allows it). @defaultValue 1ms */
  readonly min?: number
  /** The longest duration accepted. @defaultValue MAX_DURATION_MS (24d) */
  readonly max?: number
  /**
   * `0` is accepted and means "never" (e.g. `reminderInterval: 0`), written
   * unquoted as YAML reads it (a number) or quoted. @defaultValue false
   */
  readonly zero?: boolean
}

/**
 * A duration such as `10s` parsed to milliseconds at load, within `bounds`.
 * Only `0` may be written without a unit: `timeout: 30` could mean seconds
 * or milliseconds, so it is refused rather than guessed.
 */
export function duration(bounds: DurationBounds = {}) {
  const min = bounds.min ?? 1
  const max = bounds.max ?? MAX_DURATION_MS
  const zero = bounds.zero ?? false
  const expected = `expected a duration such as 10s, 1m or 250ms${zero ? ', or 0' : ''}`
  const notDuration = (issue: { input: unknown }) => `${expected}, got ${describeValue(issue.input)}`
  const description = `A duration: a number and a unit (ms, s, m, h, d), e.g. 250ms, 10s, 1m, 4h${zero ? '; 0 = never' : ''}`
  const input = zero
    ? z
        .union([z.literal(0), z.string({ error: notDuration }).meta({ pattern: DURATION_OR_ZERO.source })], { error: notDuration })
        .meta({ description })
    : z.string({ error: notDuration }).meta({ description, pattern: DURATION.source })
  return input.transform((value, ctx) => {
    const ms = typeof value === 'number' ? 0 : parseDuration(value)
    const got = JSON.stringify(value)
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `${expected}, got ${got}` })
      return z.NEVER
    }
    if (ms === 0 && zero) return 0
    if (ms < min) {
      ctx.addIssue({ code: 'custom', message: `expected at least ${formatDuration(min)}${zero ? ' (or 0 for never)' : ''}, got ${got}` })
      return z.NEVER
    }
    if (ms > max) {
      ctx.addIssue({ code: 'custom', message: `expected at most ${formatDuration(max)}, got ${got}` })
      return z.NEVER
    }
    return ms
  })
}

/** A duration of at least 1ms and at most 24d; fields with other bounds use `duration({ … })`. */
export const Duration = duration()
