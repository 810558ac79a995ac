import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseShard, resolveOptions, resolveShard } from '../../src/cli/options.ts'
import { inShard, podOrdinal, shardOf } from '../../src/daemon/shard.ts'
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

describe('--shard auto: the index from the StatefulSet pod', () => {
  it.each([
    ['the pod-index label', { SMOKEPROBE_POD_INDEX: '2', HOSTNAME: 'smokeprobe-0' }, 2],
    ['the pod name', { SMOKEPROBE_POD_NAME: 'smokeprobe-eu-11' }, 11],
    ['the hostname', { HOSTNAME: 'smokeprobe-3' }, 3],
    ['a pod index that is no number', { SMOKEPROBE_POD_INDEX: 'two' }, 'SMOKEPROBE_POD_INDEX must be a pod index (0, 1, …), got "two"'],
    [
      'a Deployment pod name',
      { HOSTNAME: 'smokeprobe-7d9f8-xk2p' },
      'HOSTNAME "smokeprobe-7d9f8-xk2p" does not end in a StatefulSet ordinal (name-N)',
    ],
    [
      'nothing',
      {},
      "--shard auto needs the pod's ordinal: set SMOKEPROBE_POD_INDEX (the apps.kubernetes.io/pod-index label) or SMOKEPROBE_POD_NAME (the pod name)",
    ],
  ])('%s', (_, env, expected) => {
    expect(podOrdinal(env)).toBe(expected)
  })

  it.each([
    ['auto', '3', { HOSTNAME: 'smokeprobe-1' }, { index: 1, count: 3 }],
    ['auto', '3', { HOSTNAME: 'smokeprobe-3' }, 'pod ordinal 3 is outside --shards 3: scale the StatefulSet and --shards together'],
    ['auto', undefined, { HOSTNAME: 'smokeprobe-1' }, "--shard auto needs --shards N, the StatefulSet's replicas"],
    ['auto', '0', { HOSTNAME: 'smokeprobe-0' }, '--shards must be a whole number of at least 1, got "0"'],
    ['1/3', '3', {}, '--shards goes with --shard auto (with --shard i/n the count is n)'],
    ['1/3', undefined, {}, { index: 1, count: 3 }],
    [undefined, undefined, {}, null],
  ])('--shard %s --shards %s', (shard, shards, env, expected) => {
    expect(resolveShard(shard, shards, env)).toEqual(expected)
  })

  it('reads SMOKEPROBE_SHARD and SMOKEPROBE_SHARDS from the environment, as the StatefulSet sets them', () => {
    const env = { SMOKEPROBE_SHARD: 'auto', SMOKEPROBE_SHARDS: '2', SMOKEPROBE_POD_INDEX: '1' }
    const resolved = resolveOptions({}, env, '/')
    expect(resolved.ok && resolved.options.shard).toEqual({ index: 1, count: 2 })
    const wrong = resolveOptions({ shard: 'auto' }, { SMOKEPROBE_SHARDS: '2', SMOKEPROBE_POD_INDEX: '5' }, '/')
    expect(wrong).toEqual({ ok: false, errors: ['--shard: pod ordinal 5 is outside --shards 2: scale the StatefulSet and --shards together'] })
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
