import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseShard } from '../../src/cli/options.ts'
import { inShard, shardOf } from '../../src/daemon/shard.ts'
import { apiProbes, Cleanups, probeFile, probeMetrics, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startTarget } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

describe('shard selection', () => {
  it('parses i/n and refuses what is not a shard', () => {
    expect(parseShard('0/3')).toEqual({ index: 0, count: 3 })
    expect(parseShard(' 2/3 ')).toEqual({ index: 2, count: 3 })
    expect(parseShard('3/3')).toBe('shard index must be 0 to 2 for 3 shards, got "3/3"')
    expect(parseShard('0/0')).toBe('the number of shards must be at least 1, got "0/0"')
    expect(parseShard('1-3')).toBe('expected a shard as i/n (e.g. 0/3), got "1-3"')
  })

  it('gives every probe to exactly one replica, the same on every call, and spreads them', () => {
    const names = Array.from({ length: 300 }, (_, i) => `probe-${i}`)
    const counts = [0, 0, 0]
    for (const name of names) {
      const owners = [0, 1, 2].filter((index) => inShard(name, { index, count: 3 }))
      expect(owners).toEqual([shardOf(name, 3)])
      counts[shardOf(name, 3)] = (counts[shardOf(name, 3)] ?? 0) + 1
    }
    // A hash of the name alone: every replica computes the same owner without talking to the others.
    expect(names.map((n) => shardOf(n, 3))).toEqual(names.map((n) => shardOf(n, 3)))
    for (const count of counts) expect(count).toBeGreaterThan(60)
    expect(inShard('anything', null)).toBe(true)
  })
})

describe('two replicas with --shard 0/2 and 1/2', () => {
  it('run disjoint halves of the same configuration, together every probe', async () => {
    const target = await startTarget('ok')
    cleanups.defer(() => target.close())
    const names = Array.from({ length: 8 }, (_, i) => `svc-${i}`)
    const config = await writeConfig(cleanups, { probes: names.map((name) => probeFile({ name, target: target.url })), alerting: {} })
    const replicas = await Promise.all(
      [0, 1].map((index) =>
        startRuntime(cleanups, config, { options: { shard: { index, count: 2 }, stateDir: path.join(config.dir, `state-${index}`) } }),
      ),
    )
    const owned = await Promise.all(replicas.map(async (r) => (await apiProbes(r.url)).map((p) => p.name).sort()))
    expect(owned.flat().sort()).toEqual([...names].sort())
    for (const [index, list] of owned.entries()) {
      expect(list.length).toBeGreaterThan(0)
      for (const name of list) expect(shardOf(name, 2)).toBe(index)
    }
    // Each replica really runs its own probes, and only those.
    for (const [index, replica] of replicas.entries()) {
      const mine = owned[index] ?? []
      await waitFor(`replica ${index} ran its probes`, async () => {
        const runs = await Promise.all(mine.map(async (name) => (await probeMetrics(replica.url, name)).success))
        return runs.every((success) => success === 1)
      })
      const other = owned[1 - index] ?? []
      for (const name of other) expect((await probeMetrics(replica.url, name)).success).toBeUndefined()
    }
  })
})
