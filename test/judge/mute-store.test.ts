import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createMuteStore, MAX_MUTES, MUTES_FILE } from '../../src/judge/mute-store.ts'
import { silentLogger } from '../../src/log.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-mutes-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

const T0 = Date.parse('2026-12-01T10:00:00Z')

function store(clock: { now: number }) {
  return createMuteStore({ stateDir: dir, logger: silentLogger(), now: () => new Date(clock.now) })
}

describe('the mute store', () => {
  it('answers for the named probes until the mute ends, then forgets it', async () => {
    const clock = { now: T0 }
    const mutes = store(clock)
    await mutes.load()
    const added = await mutes.add({ probes: ['a', 'a', 'b'], durationMs: 60_000, reason: 'deploy' })
    if ('error' in added) throw new Error(added.error)
    expect(added.probes).toEqual(['a', 'b'])
    expect(mutes.mutes('a', {}, new Date(T0 + 59_999))).toEqual({ kind: 'mute', name: added.id, until: new Date(T0 + 60_000) })
    expect(mutes.mutes('c', {}, new Date(T0))).toBeNull()
    // The end is exclusive, and a time before the mute began is not covered.
    expect(mutes.mutes('a', {}, new Date(T0 + 60_000))).toBeNull()
    expect(mutes.mutes('a', {}, new Date(T0 - 1))).toBeNull()
    clock.now = T0 + 60_000
    expect(mutes.list()).toEqual([])
  })

  it('persists live mutes for the next process and drops the expired ones at load', async () => {
    const clock = { now: T0 }
    const first = store(clock)
    await first.load()
    const long = await first.add({ probes: ['a'], durationMs: 3_600_000, reason: 'long' })
    await first.add({ probes: ['b'], durationMs: 60_000, reason: 'short' })
    const text = JSON.parse(await readFile(path.join(dir, MUTES_FILE), 'utf8'))
    expect(text.version).toBe(1)
    expect(text.mutes).toHaveLength(2)
    clock.now = T0 + 120_000
    const second = store(clock)
    expect(await second.load()).toEqual({ warning: null })
    expect(second.list().map((m) => m.id)).toEqual(['id' in long ? long.id : ''])
  })

  it('sets a corrupt file aside and starts without mutes, with a warning', async () => {
    await writeFile(path.join(dir, MUTES_FILE), '{"version": 1, "mutes": [{"id": 3}]}')
    const mutes = store({ now: T0 })
    const { warning } = await mutes.load()
    expect(warning).toMatch(/does not match the expected shape/)
    expect(mutes.list()).toEqual([])
    await expect(readFile(path.join(dir, `${MUTES_FILE}.corrupt`), 'utf8')).resolves.toContain('"id": 3')
  })

  it(`refuses the mute beyond ${MAX_MUTES} live ones`, async () => {
    const mutes = store({ now: T0 })
    await mutes.load()
    for (let i = 0; i < MAX_MUTES; i++) await mutes.add({ probes: ['a'], durationMs: 60_000, reason: `r${i}` })
    expect(await mutes.add({ probes: ['a'], durationMs: 60_000, reason: 'one too many' })).toEqual({
      error: `too many live mutes (at most ${MAX_MUTES})`,
    })
    expect(mutes.list()).toHaveLength(MAX_MUTES)
  })

  it('refuses a mute it cannot save, and keeps none in memory', async () => {
    // The state "directory" is a file: nothing can be written under it.
    const blocked = path.join(dir, 'not-a-dir')
    await writeFile(blocked, '')
    const mutes = createMuteStore({ stateDir: blocked, logger: silentLogger(), now: () => new Date(T0) })
    await mutes.load()
    const added = await mutes.add({ probes: ['a'], durationMs: 60_000, reason: 'deploy' })
    expect(added).toEqual({ error: expect.stringMatching(/^the mute could not be saved: /) })
    expect(mutes.list()).toEqual([])
    expect(mutes.mutes('a', {}, new Date(T0))).toBeNull()
  })
})
