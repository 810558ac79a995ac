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
