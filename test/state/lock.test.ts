import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LOCK_FILE, lockStateDir, processAlive } from '../../src/state/lock.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-lock-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  if (!child.pid) throw new Error('could not start a child process')
  return child.pid
}

describe('state directory lock', () => {
  it('creates the directory and the lock with our pid; release removes it', async () => {
    const lock = await lockStateDir(join(dir, 'state'))
    expect(lock.kind).toBe('locked')
    expect(await readFile(join(dir, 'state', LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`)
    if (lock.kind === 'locked') await lock.release()
    await expect(readFile(join(dir, 'state', LOCK_FILE))).rejects.toThrow(/ENOENT/)
  })

  it('a live holder is reported with its pid and its lock is left alone', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' })
    try {
      await once(holder, 'spawn')
      await writeFile(join(dir, LOCK_FILE), `${holder.pid}\n`)
      const lock = await lockStateDir(dir)
      expect(lock).toMatchObject({ kind: 'held', pid: holder.pid })
      if (lock.kind === 'held') expect(lock.message).toContain(`state directory ${dir} is in use by another smokeprobe (pid ${holder.pid}`)
      expect(await readFile(join(dir, LOCK_FILE), 'utf8')).toBe(`${holder.pid}\n`)
    } finally {
      holder.kill('SIGKILL')
    }
  })

  const STALE: [string, () => string][] = [
    ['a dead pid', () => `${deadPid()}\n`],
    ['our own pid (the previous container start, pid 1 too)', () => `${process.pid}\n`],
    ['no pid at all (a crash right after creating it)', () => ''],
    ['garbage', () => 'not a pid\n'],
  ]
  for (const [what, content] of STALE) {
    it(`a lock holding ${what} is stale and taken over`, async () => {
      await writeFile(join(dir, LOCK_FILE), content())
      expect((await lockStateDir(dir)).kind).toBe('locked')
      expect(await readFile(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`)
    })
  }

  it('release leaves a lock another process took over meanwhile', async () => {
    const lock = await lockStateDir(dir)
    await writeFile(join(dir, LOCK_FILE), `${process.ppid}\n`)
    if (lock.kind === 'locked') await lock.release()
    expect(await readFile(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.ppid}\n`)
  })

  it('a directory that cannot be created is reported as unavailable, not thrown', async () => {
    await writeFile(join(dir, 'file'), 'not a directory')
    expect(await lockStateDir(join(dir, 'file', 'state'))).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringMatching(/ENOTDIR|EEXIST/),
    })
  })

  it('processAlive: a live parent yes; a dead pid, our own pid and nonsense no', () => {
    expect(processAlive(process.ppid)).toBe(true)
    expect(processAlive(deadPid())).toBe(false)
    expect(processAlive(process.pid)).toBe(false)
    expect(processAlive(0)).toBe(false)
    expect(processAlive(-1)).toBe(false)
    expect(processAlive(Number.NaN)).toBe(false)
  })
})
