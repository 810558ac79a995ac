/**
 * Ad-hoc mutes (`POST /api/mutes`, `probe mute`): a deploy pipeline silences
 * a probe for a while. Held in memory (the judge asks on every run) and in
 * `mutes.json` in the state directory, so a restart keeps a live mute. A
 * mute ends by itself: an expired one is never an answer, and is dropped
 * from the file at the next change.
 */
import { randomBytes } from 'node:crypto'
import * as z from 'zod'
import type { Logger } from '../log.ts'
import type { WriteReporting } from '../state/fs.ts'
import { createSnapshot } from '../state/snapshot.ts'
import type { ActiveMute, Mutes } from './inputs.ts'

export const MUTES_FILE = 'mutes.json'
export const MUTES_VERSION = 1
/** A mute longer than a day is a maintenance window, and belongs in the alerting file where it is reviewed. */
export const MAX_MUTE_MS = 24 * 3_600_000
/** What one mute may say about itself: a reason is a line in a log, not a document. */
export const MAX_REASON_CHARS = 500
/** Mutes live at once: a loop in a pipeline must not grow the state file without bound. */
export const MAX_MUTES = 1_000

export interface Mute {
  readonly id: string
  readonly probes: readonly string[]
  readonly reason: string
  /** ISO times. */
  readonly createdAt: string
  readonly until: string
}

const Iso = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'expected an ISO time')

export const MuteSchema = z.object({
  id: z.string().min(1),
  probes: z.array(z.string().min(1)).min(1),
  reason: z.string(),
  createdAt: Iso,
  until: Iso,
}) satisfies z.ZodType<Mute>

interface StoredMutes {
  readonly mutes: readonly Mute[]
}

const StoredMutesSchema = z.object({ mutes: z.array(MuteSchema) }) satisfies z.ZodType<StoredMutes>

export interface MuteStore {
  /** Reads the file; a missing one is empty, a corrupt one set aside (a warning to log). */
  load(): Promise<{ warning: string | null }>
  add(request: { probes: readonly string[]; durationMs: number; reason: string }): Promise<Mute | { error: string }>
  /** The live mutes, soonest ending first. */
  list(): Mute[]
  /** True when a mute of that id was live and is removed. */
  remove(id: string): Promise<boolean>
  /** As the judge asks it. */
  readonly mutes: Mutes
}

export interface MuteStoreDeps extends WriteReporting {
  readonly stateDir: string
  readonly logger: Logger
  readonly now?: () => Date
  /** After a mute is added or deleted: the daemon re-checks who is muted at once. */
  readonly onChange?: () => void
}

export function createMuteStore(deps: MuteStoreDeps): MuteStore {
  const now = deps.now ?? (() => new Date())
  const { logger } = deps
  const file = createSnapshot<StoredMutes>(deps.stateDir, {
    onWrite: deps.onWrite,
    logger: deps.logger,
    name: MUTES_FILE,
    label: 'mutes',
    version: MUTES_VERSION,
    schema: StoredMutesSchema,
    empty: { mutes: [] },
    // A mute is worth less than a start: an unreadable file is set aside, and the probes page as usual.
    unreadable: 'set-aside',
  })
  let live: Mute[] = []

  /** Drops expired mutes, logging each once. */
  function prune(at: Date): void {
    const t = at.getTime()
    const expired = live.filter((m) => Date.parse(m.until) <= t)
    if (expired.length === 0) return
    for (const m of expired) logger.info({ mute: m.id, probes: m.probes, reason: m.reason, until: m.until }, 'mute expired')
    live = live.filter((m) => Date.parse(m.until) > t)
  }

  async function save(): Promise<string | null> {
    return (await file.save({ mutes: live })).error
  }

  return {
    async load() {
      const { data, warning } = await file.load()
      live = [...data.mutes]
      prune(now())
      for (const m of live) logger.info({ mute: m.id, probes: m.probes, reason: m.reason, until: m.until }, 'mute restored')
      return { warning }
    },

    async add({ probes, durationMs, reason }) {
      const at = now()
      prune(at)
      if (live.length >= MAX_MUTES) return { error: `too many live mutes (at most ${MAX_MUTES})` }
      const mute: Mute = {
        id: randomBytes(8).toString('hex'),
        probes: [...new Set(probes)],
        reason,
        createdAt: at.toISOString(),
        until: new Date(at.getTime() + durationMs).toISOString(),
      }
      live = [...live, mute]
      const error = await save()
      // Not on disk, so it would not survive a restart: refuse it rather than promise what the file cannot keep.
      if (error) {
        live = live.filter((m) => m.id !== mute.id)
        return { error: `the mute could not be saved: ${error}` }
      }
      logger.info({ mute: mute.id, probes: mute.probes, reason, until: mute.until }, 'mute added')
      deps.onChange?.()
      return mute
    },

    list() {
      prune(now())
      return [...live].sort((a, b) => Date.parse(a.until) - Date.parse(b.until))
    },

    async remove(id) {
      prune(now())
      const found = live.find((m) => m.id === id)
      if (!found) return false
      live = live.filter((m) => m.id !== id)
      await save()
      logger.info({ mute: id, probes: found.probes, reason: found.reason }, 'mute deleted')
      deps.onChange?.()
      return true
    },

    mutes: (probe, _labels, at) => {
      const t = at.getTime()
      let found: ActiveMute | null = null
      for (const m of live) {
        const until = Date.parse(m.until)
        if (until <= t || Date.parse(m.createdAt) > t || !m.probes.includes(probe)) continue
        if (found === null || until > found.until.getTime()) found = { kind: 'mute', name: m.id, until: new Date(until) }
      }
      return found
    },
  }
}
