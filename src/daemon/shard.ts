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

/**
 * Where `--shard auto` reads the pod's ordinal, first found wins:
 * `SMOKEPROBE_POD_INDEX`, set from the pod's `apps.kubernetes.io/pod-index`
 * label through the downward API (Kubernetes 1.28+); else the trailing
 * `-N` of `SMOKEPROBE_POD_NAME` (downward API `metadata.name`) or of
 * `HOSTNAME`, which a StatefulSet pod's name is (`smokeprobe-3`).
 */
export const POD_INDEX_ENV = 'SMOKEPROBE_POD_INDEX'
export const POD_NAME_ENV = 'SMOKEPROBE_POD_NAME'

/** The StatefulSet ordinal of this pod, or a message saying why there is none. */
export function podOrdinal(env: Readonly<Record<string, string | undefined>>): number | string {
  const index = env[POD_INDEX_ENV]?.trim()
  if (index) return /^\d+$/.test(index) ? Number(index) : `${POD_INDEX_ENV} must be a pod index (0, 1, …), got ${JSON.stringify(index)}`
  for (const name of [POD_NAME_ENV, 'HOSTNAME']) {
    const value = env[name]?.trim()
    if (!value) continue
    const match = /-(\d+)$/.exec(value)
    if (match) return Number(match[1])
    return `${name} ${JSON.stringify(value)} does not end in a StatefulSet ordinal (name-N)`
  }
  return `--shard auto needs the pod's ordinal: set ${POD_INDEX_ENV} (the apps.kubernetes.io/pod-index label) or ${POD_NAME_ENV} (the pod name)`
}
