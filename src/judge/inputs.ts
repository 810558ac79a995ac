/**
 * What the judge is told about the world besides the run itself: whether the
 * monitor's own network answers (the canaries) and whether a probe's
 * notifications are muted (maintenance windows, ad-hoc mutes). Each is an
 * interface the daemon injects: the canary checker (canaries.ts), the window
 * evaluator (windows.ts) and the mute store (mute-store.ts) implement them,
 * and the constants below are the answers of a configuration that declares
 * none of them.
 */

/** Whether the monitor can reach anything at all: the canaries of the alerting file. */
export interface Network {
  /**
   * Asked only for a run that failed in a way the monitor's own network
   * could explain (see `mayBeNetwork`), so a healthy fleet never waits on
   * it; the canary checker caches its answer (30 s) for the next runs.
   * It resolves and never rejects: a canary that cannot be asked has failed.
   */
  up(now: Date): Promise<boolean>
}

/**
 * No canaries configured: nothing says the network is down, so every failure
 * is the target's (what smokeprobe has always done).
 */
export const NO_CANARIES: Network = { up: async () => true }

/** What mutes a probe now: a maintenance window of the alerting file or an ad-hoc mute of the API. */
export interface ActiveMute {
  readonly kind: 'maintenance' | 'mute'
  /** The window's name or the mute's id, for logs and the status page. */
  readonly name: string
  /** When it ends by itself. */
  readonly until: Date
}

/**
 * The mute covering a probe at a time, or null. Pure in (probe, labels,
 * time): windows select probes by name or label matchers, and a window is a
 * function of the clock, so the evaluator needs no state of its own; the
 * mute store answers from memory.
 */
export type Mutes = (probe: string, labels: Readonly<Record<string, string>>, at: Date) => ActiveMute | null

/** No windows and no mutes configured: nothing is muted. */
export const NO_MUTES: Mutes = () => null
