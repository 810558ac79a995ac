import { createTask, type Logger as CronLogger } from 'node-cron'
import type { Logger } from '../log.ts'

/** What a trigger reports: a slot that is due now, or slots that came too late to run. */
export interface SlotHandlers {
  onSlot(slot: Date): void
  onMissed(slot: Date): void
}

/** A started source of slots; `stop` ends it for good. */
export interface Trigger {
  stop(): void
}

/** Longest single wait, well under setTimeout's 24.8-day limit; a longer wait is re-armed. */
const MAX_DELAY_MS = 86_400_000
/** Timers may fire a millisecond or two early against the wall clock; within this a slot counts as due. */
const EARLY_SLACK_MS = 5
/** A wall-clock jump this many slots ahead is reported as this many misses, not one callback per slot. */
export const MAX_MISSED_PER_BEAT = 1000

/**
 * A node-cron task in UTC. It calls back at each slot and returns at once:
 * overlap is the scheduler's business (it tracks runs per probe, across
 * reloads), so node-cron's own overlap guard is left off.
 */
export function cronTrigger(expression: string, toleranceMs: number, handlers: SlotHandlers, logger: Logger): Trigger {
  const task = createTask(expression, (context) => handlers.onSlot(context.date), {
    timezone: 'UTC',
    noOverlap: false,
    missedExecutionTolerance: toleranceMs,
    logger: cronLogger(logger),
  })
  task.on('execution:missed', (context) => handlers.onMissed(context.date))
  void task.start()
  return { stop: () => void task.destroy() }
}

/** The smallest gap between the next runs of a cron expression, to size its missed tolerance. */
export function cronPeriod(expression: string, samples = 8): number {
  const task = createTask(expression, () => {}, { timezone: 'UTC' })
  const runs = task.getNextRuns(samples).map((date) => date.getTime())
  void task.destroy()
  let period = Number.POSITIVE_INFINITY
  for (let i = 1; i < runs.length; i++) period = Math.min(period, runs[i]! - runs[i - 1]!)
  return period
}

/**
 * Every `intervalMs` at `offsetMs` past each multiple of the interval since
 * the Unix epoch. Each wait is computed from the wall clock to the next
 * slot, never by adding intervals to a timer, so it does not drift; a slot
 * reached more than `toleranceMs` late is reported missed and not run,
 * as node-cron does. A clock that jumps back re-plans from now.
 */
export function timerTrigger(intervalMs: number, offsetMs: number, toleranceMs: number, handlers: SlotHandlers, logger: Logger): Trigger {
  const slotAfter = (now: number) => (Math.floor((now - offsetMs) / intervalMs) + 1) * intervalMs + offsetMs
  let next = slotAfter(Date.now())
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const arm = () => {
    timer = setTimeout(beat, Math.min(Math.max(0, next - Date.now()), MAX_DELAY_MS))
  }
  const beat = () => {
    if (stopped) return
    const now = Date.now()
    if (next - now > intervalMs) next = slotAfter(now)
    if (now < next - EARLY_SLACK_MS) return arm()
    // The latest slot that has come; those before it were passed over while the loop was blocked.
    const due = next + Math.floor(Math.max(0, now - next) / intervalMs) * intervalMs
    const runs = now - due <= toleranceMs
    const missed = (due - next) / intervalMs + (runs ? 0 : 1)
    for (let i = 0; i < Math.min(missed, MAX_MISSED_PER_BEAT); i++) handlers.onMissed(new Date(next + i * intervalMs))
    if (missed > MAX_MISSED_PER_BEAT) logger.warn({ missed, reported: MAX_MISSED_PER_BEAT }, 'clock jumped past many slots')
    next = due + intervalMs
    arm()
    if (runs) handlers.onSlot(new Date(due))
  }

  arm()
  return {
    stop: () => {
      stopped = true
      clearTimeout(timer)
    },
  }
}

/** node-cron's messages as structured pino lines under `component: cron`, instead of its coloured console output. */
export function cronLogger(logger: Logger): CronLogger {
  const log = logger.child({ component: 'cron' })
  const split = (message: string | Error, err?: Error) =>
    message instanceof Error ? ([{ err: message }, 'node-cron error'] as const) : ([{ err }, message] as const)
  return {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    error: (message, err) => log.error(...split(message, err)),
    debug: (message, err) => log.debug(...split(message, err)),
  }
}
