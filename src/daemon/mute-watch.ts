/**
 * Watches, on a short tick, whether each probe is muted right now, and
 * reports every change: `probe_muted` follows a window that opens or closes
 * between runs, and the end of a mute decides what it held back then (a
 * probe still failing fires at the window's end, not a run interval later).
 * The first check reports every probe, so a page held across a restart whose
 * mute has meanwhile ended is decided at start.
 */
import type { Mutes } from '../judge/inputs.ts'

export interface WatchedProbe {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
}

export interface MuteWatchDeps {
  readonly probes: () => Iterable<WatchedProbe>
  readonly mutes: Mutes
  readonly onChange: (probe: string, muted: boolean) => void
  /** How late a mute's end may be acted on. @defaultValue 1s */
  readonly intervalMs?: number
  readonly now?: () => Date
}

export interface MuteWatch {
  /** Checks every probe now, then on every tick. */
  start(): void
  /** Checks every probe now (after an API change or a reload). */
  check(): void
  stop(): void
}

export function createMuteWatch(deps: MuteWatchDeps): MuteWatch {
  const now = deps.now ?? (() => new Date())
  const last = new Map<string, boolean>()
  let timer: NodeJS.Timeout | null = null

  function check(): void {
    const at = now()
    const seen = new Set<string>()
    for (const probe of deps.probes()) {
      seen.add(probe.name)
      const muted = deps.mutes(probe.name, probe.labels, at) !== null
      if (last.get(probe.name) === muted) continue
      last.set(probe.name, muted)
      deps.onChange(probe.name, muted)
    }
    // A probe removed by a reload is forgotten: if it comes back, it is reported afresh.
    for (const name of last.keys()) if (!seen.has(name)) last.delete(name)
  }

  return {
    start() {
      check()
      timer = setInterval(check, deps.intervalMs ?? 1_000)
      // The daemon's life is its server and scheduler; a tick alone must not keep it running.
      timer.unref()
    },
    check,
    stop() {
      if (timer) clearInterval(timer)
      timer = null
    },
  }
}
