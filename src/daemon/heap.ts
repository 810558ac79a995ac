import { PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { heapFlags } from '../../bin/startup.js'

/**
 * The semi-space size the loaded daemon's young generation may grow to.
 * At V8's initial 1 MiB a scavenge comes every ~20 ms at 1,000 probes, and
 * a run's connection objects, alive across two of them, are promoted and
 * die in the old generation, where `--heap-growing-percent` (bin/startup.js)
 * collects them with full collections; at 2 MiB half the scavenges come and
 * fewer runs outlive two (BENCHMARKS.md, "Footprint").
 */
export const DAEMON_SEMI_SPACE_MIB = 2

export interface YoungGenerationHooks {
  readonly stats: () => readonly { readonly space_name: string; readonly space_size: number }[]
  readonly setFlag: (flag: string) => void
  /** Calls `check` after each collection; returns a function that stops that. */
  readonly onGC: (check: () => void) => () => void
}

/**
 * Lets the young generation grow to `semiSpaceMiB` per semi-space and no
 * further: a cap V8 cannot be given at run time (`--max-semi-space-size` is
 * read only when the heap is set up). Growth is on
 * (`--semi-space-growth-factor=2`) until the new space has reached the
 * size, checked after each collection, then off for good. Started once the
 * daemon has loaded: the checks run on the event loop, and during the
 * synchronous load of a thousand files V8 would double it up to 16 MiB
 * between two of them. Returns a function that stops it.
 */
export function holdYoungGeneration(semiSpaceMiB: number, hooks: YoungGenerationHooks): () => void {
  // The new space's size counts both semi-spaces.
  const target = 2 * semiSpaceMiB * 2 ** 20
  const size = () => hooks.stats().find((space) => space.space_name === 'new_space')?.space_size ?? target
  if (size() >= target) return () => {}
  hooks.setFlag('--semi-space-growth-factor=2')
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    stopChecks()
  }
  const stopChecks = hooks.onGC(() => {
    if (stopped || size() < target) return
    hooks.setFlag('--semi-space-growth-factor=1')
    stop()
  })
  return stop
}

/**
 * The loaded daemon's young generation, held at its size when bin/probe.js
 * applied its heap settings (the operator sized no heap); otherwise left alone.
 */
export function holdDaemonHeap(): () => void {
  if (heapFlags(process.argv.slice(2), process.execArgv, process.env.NODE_OPTIONS).length === 0) return () => {}
  return holdYoungGeneration(DAEMON_SEMI_SPACE_MIB, {
    stats: getHeapSpaceStatistics,
    setFlag: setFlagsFromString,
    onGC: (check) => {
      const observer = new PerformanceObserver(check)
      observer.observe({ entryTypes: ['gc'] })
      return () => observer.disconnect()
    },
  })
}
