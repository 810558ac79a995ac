import { createHash } from 'node:crypto'

export interface Shard {
  readonly index: number
  readonly count: number
}

/**
 * Which replica of `count` owns a probe: a hash of the name alone, so every
 * replica agrees without talking to the others, and adding a probe never
 * moves the existing ones.
 */
export function shardOf(probeName: string, count: number): number {
  return createHash('sha256').update(probeName).digest().readUInt32BE(0) % count
}

export function inShard(probeName: string, shard: Shard | null): boolean {
  return shard === null || shardOf(probeName, shard.count) === shard.index
}

/** Parses `i/n` (0 ≤ i < n); a message for the user otherwise. */
export function parseShard(text: string): Shard | string {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim())
  if (!match) return `expected a shard as i/n (e.g. 0/3), got ${JSON.stringify(text)}`
  const index = Number(match[1])
  const count = Number(match[2])
  if (count < 1) return `the number of shards must be at least 1, got ${JSON.stringify(text)}`
  if (index >= count) return `shard index must be 0 to ${count - 1} for ${count} shards, got ${JSON.stringify(text)}`
  return { index, count }
}
