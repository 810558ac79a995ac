/** What one `npm run bench` plans and measures: shared by the runner and the report, so neither imports the other. */
import type { AccuracyRow } from './accuracy.ts'
import type { BlackboxResult } from './blackbox.ts'
import type { CapacityPlan, CapacityRow } from './capacity.ts'
import type { CpuResult } from './cpu.ts'
import type { FootprintPlan, FootprintResult } from './footprint.ts'
import type { LoadRow } from './load.ts'

export interface BenchPlan {
  readonly quick: boolean
  readonly cpuRequests: readonly number[]
  readonly cpuRepeats: number
  readonly capacitySteps: readonly number[]
  readonly capacity: CapacityPlan
  /** NODE_OPTIONS for more daemons at 1,000 probes, to compare peak RSS and CPU with the default heap. */
  readonly rssVariants: readonly string[]
  readonly accuracy: readonly { inFlight: number; runs: number }[]
  readonly accuracyRepeats: number
  readonly delayMs: number
  readonly loadFiles: number
  readonly loadRepeats: number
  readonly footprint: FootprintPlan
}

export interface BenchResults {
  readonly plan: BenchPlan
  readonly startedAt: Date
  readonly seconds: number
  readonly cpu: CpuResult
  readonly blackbox: readonly BlackboxResult[]
  readonly capacity: readonly CapacityRow[]
  readonly accuracy: readonly AccuracyRow[]
  readonly load: LoadRow
  readonly footprint: FootprintResult
}
