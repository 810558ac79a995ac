/**
 * A probe's recent runs in memory, column by column: at 1,000 probes every
 * 5 s the daemon holds 10 million of them (BENCHMARKS.md "Run history"), and
 * one JavaScript object per run would cost ten times the 16 bytes a run takes
 * here. Oldest first; pushing past `capacity` drops the oldest.
 */
import type { Outcome } from '../judge/judge.ts'

export const OUTCOMES: readonly Outcome[] = ['success', 'failure', 'retried', 'inconclusive', 'aborted']

/** One run as history keeps it (SPEC "History and the status page"). */
export interface RunRecord {
  /** Epoch milliseconds the run started. */
  readonly at: number
  readonly outcome: Outcome
  readonly muted: boolean
  readonly durationMs: number
  /** The failed step, or null. */
  readonly step: string | null
  /** The failure's reason kind (`status`, `timeout`, …), or null. */
  readonly reason: string | null
}

const MUTED = 0x80

/**
 * A string column: each distinct value once, the rows hold its index. Step
 * names and reason kinds are few per probe; past `MAX_DISTINCT` (a probe
 * renamed its steps thousands of times) new names read as `?` rather than
 * growing without bound.
 */
class Interned {
  static readonly MAX_DISTINCT = 1024
  readonly values: (string | null)[] = [null, '?']
  readonly #index = new Map<string | null, number>([
    [null, 0],
    ['?', 1],
  ])
  id(value: string | null): number {
    const known = this.#index.get(value)
    if (known !== undefined) return known
    if (this.values.length >= Interned.MAX_DISTINCT) return 1
    this.values.push(value)
    this.#index.set(value, this.values.length - 1)
    return this.values.length - 1
  }
}

export class RunRing {
  readonly capacity: number
  #at: Float64Array
  #duration: Float32Array
  #code: Uint8Array
  #step: Uint16Array
  #reason: Uint16Array
  #start = 0
  #length = 0
  /** The sequence number of index 0: how many runs were ever dropped from the front. */
  #first = 0
  readonly #steps = new Interned()
  readonly #reasons = new Interned()
  /** Called before index 0 is dropped (capacity or age), while it can still be read: sliding figures let it go. */
  onEvict: (() => void) | null = null

  constructor(capacity: number, initial = 64) {
    this.capacity = capacity
    const size = Math.min(capacity, initial)
    this.#at = new Float64Array(size)
    this.#duration = new Float32Array(size)
    this.#code = new Uint8Array(size)
    this.#step = new Uint16Array(size)
    this.#reason = new Uint16Array(size)
  }

  get length(): number {
    return this.#length
  }

  /** The sequence number of index 0; index i is run number `first + i` of all ever pushed. */
  get first(): number {
    return this.#first
  }

  /** Bytes held by the columns (what BENCHMARKS.md counts). */
  get bytes(): number {
    return this.#at.byteLength + this.#duration.byteLength + this.#code.byteLength + this.#step.byteLength + this.#reason.byteLength
  }

  push(run: RunRecord): void {
    if (this.#length === this.#at.length && this.#length < this.capacity) this.#grow()
    if (this.#length === this.#at.length) this.#dropFront(1)
    const size = this.#at.length
    const slot = (this.#start + this.#length) % size
    this.#at[slot] = run.at
    this.#duration[slot] = run.durationMs
    this.#code[slot] = Math.max(0, OUTCOMES.indexOf(run.outcome)) | (run.muted ? MUTED : 0)
    this.#step[slot] = this.#steps.id(run.step)
    this.#reason[slot] = this.#reasons.id(run.reason)
    this.#length++
  }

  /** Drops the runs that started before `cutoff` (epoch ms). */
  dropBefore(cutoff: number): void {
    let dropped = 0
    while (dropped < this.#length && this.atOf(dropped) < cutoff) dropped++
    if (dropped > 0) this.#dropFront(dropped)
  }

  #dropFront(count: number): void {
    for (let i = 0; i < count; i++) {
      this.onEvict?.()
      this.#start = (this.#start + 1) % this.#at.length
      this.#length--
      this.#first++
    }
  }

  atOf(i: number): number {
    return this.#at[(this.#start + i) % this.#at.length]!
  }

  /** In tenths of a millisecond, as recorded: float32 keeps 7 digits, and 182.4 must read back as 182.4. */
  durationOf(i: number): number {
    return Math.round(this.#duration[(this.#start + i) % this.#at.length]! * 10) / 10
  }

  outcomeOf(i: number): Outcome {
    return OUTCOMES[this.#code[(this.#start + i) % this.#at.length]! & ~MUTED]!
  }

  mutedOf(i: number): boolean {
    return (this.#code[(this.#start + i) % this.#at.length]! & MUTED) !== 0
  }

  get(i: number): RunRecord {
    const slot = (this.#start + i) % this.#at.length
    return {
      at: this.#at[slot]!,
      outcome: this.outcomeOf(i),
      muted: this.mutedOf(i),
      durationMs: this.durationOf(i),
      step: this.#steps.values[this.#step[slot]!] ?? null,
      reason: this.#reasons.values[this.#reason[slot]!] ?? null,
    }
  }

  /** The index of the first run at or after `at` (binary search: runs are in time order). */
  firstAtOrAfter(at: number): number {
    let lo = 0
    let hi = this.#length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.atOf(mid) < at) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  #grow(): void {
    const size = Math.min(this.capacity, this.#at.length * 2)
    const copy = <A extends Float64Array | Float32Array | Uint8Array | Uint16Array>(from: A, to: A): A => {
      for (let i = 0; i < this.#length; i++) to[i] = from[(this.#start + i) % from.length]!
      return to
    }
    this.#at = copy(this.#at, new Float64Array(size))
    this.#duration = copy(this.#duration, new Float32Array(size))
    this.#code = copy(this.#code, new Uint8Array(size))
    this.#step = copy(this.#step, new Uint16Array(size))
    this.#reason = copy(this.#reason, new Uint16Array(size))
    this.#start = 0
  }
}
