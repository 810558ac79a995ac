import * as z from 'zod'

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/** Milliseconds for `250ms`, `10s`, `1m`, `4h`, `1d`, or `0`; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0
  const match = DURATION.exec(text.trim())
  if (!match) return undefined
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS])
}

/** `1500` → `1.5s`, `60000` → `1m`: the inverse of parseDuration, for messages and listings. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0'
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % (size / 10) === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

/** A duration string such as `10s` parsed to milliseconds at load. */
export const Duration = z
  .string()
  .meta({ description: 'A duration: a number and a unit (ms, s, m, h, d), e.g. 250ms, 10s, 1m, 4h', pattern: DURATION.source })
  .transform((text, ctx) => {
    const ms = parseDuration(text)
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 10s, 1m or 250ms, got ${JSON.stringify(text)}` })
      return z.NEVER
    }
    return ms
  })
