/**
 * `maintenance:` and `api:` of the alerting file (README "Fewer false
 * pages"): windows as code that mute notifications on a schedule, and the
 * bearer token of the ad-hoc mutes API. Checked here as far as one file
 * allows; whether a window's probes exist is checked across files by the
 * loader (src/loader/maintenance-check.ts).
 */
import { CronExpressionParser } from 'cron-parser'
import * as z from 'zod'
import { duration, formatDuration } from './duration.ts'
import { envString, type TemplateContext } from './template.ts'

const WINDOW_NAME = /^[a-z0-9][a-z0-9_-]*$/
/** An instant with its offset: a window's start must not depend on the daemon's own time zone. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/
/**
 * How far a schedule is followed to find its shortest gap: a year covers
 * every month length and both daylight-saving changes; a dense schedule is
 * regular, and its first 100 starts show its gap. (cron steps cost
 * milliseconds, and validate runs them for every window.)
 */
const GAP_SAMPLE = 100
const GAP_SPAN_MS = 366 * 86_400_000

/** A probe name, or label matchers that must all match (`{ team: storefront }`). */
export const ProbeSelector = z
  .union([z.string().min(1), z.record(z.string().min(1), z.string())], {
    error: 'expected a probe name or a map of label matchers such as { team: storefront }',
  })
  .meta({ description: 'A probe name, or a map of labels a probe must all carry' })
export type ProbeSelector = z.output<typeof ProbeSelector>

const Instant = z
  .string()
  .regex(INSTANT, 'expected an ISO time with its offset, such as 2026-12-01T10:00:00Z')
  .refine((text) => !Number.isNaN(Date.parse(text)), 'not a valid time')
  .transform((text) => Date.parse(text))

export const MaintenanceWindowSchema = z
  .strictObject({
    name: z
      .string()
      .regex(WINDOW_NAME, 'a window name is lower-case letters, digits, "-" and "_"')
      .meta({ description: 'Unique name, shown in logs and on the status page' }),
    probes: z
      .array(ProbeSelector)
      .min(1, 'a window covers at least one probe')
      .meta({ description: 'The probes it mutes: names or label matchers' }),
    /** A cron expression (5 fields, or 6 with seconds) in `timezone`: when each occurrence starts. */
    schedule: z.string().optional().meta({ description: 'Cron expression of each start, in `timezone`; with `duration`' }),
    duration: duration({ min: 1_000 }).optional().meta({ description: 'How long each occurrence lasts; with `schedule`' }),
    /** An IANA zone, so "02:00 on Sunday" stays 02:00 across daylight saving time. @defaultValue UTC */
    timezone: z.string().optional().meta({ description: 'IANA time zone of `schedule`, e.g. Europe/Berlin (default UTC)' }),
    start: Instant.optional().meta({ description: 'A one-off window: its start, an ISO time with offset; with `end`' }),
    end: Instant.optional().meta({ description: 'A one-off window: its end, an ISO time with offset; with `start`' }),
  })
  .superRefine((w, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message })
    const cron = w.schedule !== undefined || w.duration !== undefined || w.timezone !== undefined
    const fixed = w.start !== undefined || w.end !== undefined
    if (cron && fixed) return issue('schedule', 'give either schedule and duration, or start and end, not both')
    if (!cron && !fixed) return issue('schedule', 'give schedule and duration, or start and end')
    if (fixed) {
      if (w.start === undefined) return issue('start', 'start is missing (end is given)')
      if (w.end === undefined) return issue('end', 'end is missing (start is given)')
      if (w.start >= w.end) issue('end', `end ${new Date(w.end).toISOString()} is not after start ${new Date(w.start).toISOString()}`)
      return
    }
    if (w.schedule === undefined) return issue('schedule', 'schedule is missing (duration is given)')
    if (w.duration === undefined) return issue('duration', 'duration is missing (schedule is given)')
    const zone = w.timezone ?? 'UTC'
    if (!validZone(zone))
      return issue('timezone', `unknown time zone ${JSON.stringify(zone)} (expected an IANA name such as Europe/Berlin)`)
    const gap = shortestGap(w.schedule, zone)
    if (typeof gap === 'string') return issue('schedule', gap)
    if (w.duration > gap)
      issue(
        'duration',
        `duration ${formatDuration(w.duration)} is longer than the ${formatDuration(gap)} between two starts of ${JSON.stringify(w.schedule)}: the window would overlap itself`,
      )
  })
  .transform((w): MaintenanceWindow => {
    if (w.start !== undefined && w.end !== undefined) return { kind: 'fixed', name: w.name, probes: w.probes, start: w.start, end: w.end }
    return {
      kind: 'cron',
      name: w.name,
      probes: w.probes,
      schedule: w.schedule ?? '',
      durationMs: w.duration ?? 0,
      timezone: w.timezone ?? 'UTC',
    }
  })

/** A window compiled at load: the engine never re-validates it. Times in epoch ms. */
export type MaintenanceWindow =
  | {
      readonly kind: 'fixed'
      readonly name: string
      readonly probes: readonly ProbeSelector[]
      readonly start: number
      readonly end: number
    }
  | {
      readonly kind: 'cron'
      readonly name: string
      readonly probes: readonly ProbeSelector[]
      readonly schedule: string
      readonly durationMs: number
      readonly timezone: string
    }

export const MaintenanceSchema = z
  .array(MaintenanceWindowSchema)
  .superRefine((windows, ctx) => {
    const seen = new Set<string>()
    for (const [index, w] of windows.entries()) {
      if (seen.has(w.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate window name "${w.name}"` })
      seen.add(w.name)
    }
  })
  .meta({ description: 'Maintenance windows: probes keep running, no notification is sent' })

/** `api:` — the HTTP API that changes the daemon (`/api/mutes`); absent, those endpoints are 404. */
export function apiSchema(context: TemplateContext) {
  return z
    .strictObject({
      token: envString(context)
        .pipe(z.string().min(16, 'api.token must be at least 16 characters: it guards who can silence pages'))
        .meta({ description: 'Bearer token of /api/mutes; use {{ secret.NAME }}' }),
    })
    .meta({ description: 'The mutes API; without it /api/mutes is 404' })
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** The shortest time between two starts of `schedule` (sampled), or why it is not a schedule that occurs. */
export function shortestGap(schedule: string, timezone: string, from = Date.now()): number | string {
  let expression: ReturnType<typeof CronExpressionParser.parse>
  try {
    expression = CronExpressionParser.parse(schedule, { tz: timezone, currentDate: new Date(from) })
  } catch (error) {
    return `invalid cron expression ${JSON.stringify(schedule)} (${(error as Error).message}); a date such as February 30 never occurs`
  }
  let first: number | null = null
  let previous: number | null = null
  let gap = Number.POSITIVE_INFINITY
  for (let i = 0; i < GAP_SAMPLE; i++) {
    let at: number
    try {
      at = expression.next().getTime()
    } catch {
      break
    }
    first ??= at
    if (previous !== null) gap = Math.min(gap, at - previous)
    previous = at
    if (at - first > GAP_SPAN_MS) break
  }
  if (previous === null) return `cron expression ${JSON.stringify(schedule)} never occurs`
  return gap
}
