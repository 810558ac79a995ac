/**
 * Faults of the state directory itself, with real `probe run` processes
 * where exit codes matter: a second daemon on one directory refuses to
 * start, a stale lock of a dead process does not stop a start, a state file
 * that exists but cannot be read stops the start and is left as it is, and
 * a write that fails is counted, shown on /readyz and logged once per cause.
 *
 * As root no mode bit stops a read or a write, so the faults are made of
 * what stops root too: a directory or a symlink where the state file goes.
 */
import { spawnSync } from 'node:child_process'
import { lstat, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LOCK_FILE } from '../../src/state/lock.ts'
import { exitOf, probeCli, spawnDaemon } from './child.ts'
import { Cleanups, type Config, metric, probeFile, readState, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startTarget } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

async function setup(mode: 'ok' | 'fail' = 'ok'): Promise<Config> {
  const target = await startTarget(mode)
  cleanups.defer(() => target.close())
  return writeConfig(cleanups, {
    probes: [probeFile({ name: 'api', target: target.url })],
    alerting: { defaults: { failureThreshold: 100 }, channels: {} },
  })
}

/** `probe run` on `config` to completion (bounded): for starts that must be refused. */
function runToExit(config: Config) {
  const args = ['run', '--probes', config.probesDir, '--alerting', config.alertingFile, '--state-dir', config.stateDir]
  return probeCli([...args, '--listen', '127.0.0.1:0'], config.dir)
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  if (!child.pid) throw new Error('could not start a child process')
  return child.pid
}

const lockFile = (config: Config) => path.join(config.stateDir, LOCK_FILE)

describe('state directory lock', () => {
  it('a second daemon on the same state dir refuses to start, naming the dir and the holder, exit 2', async () => {
    const config = await setup()
    const first = await spawnDaemon(cleanups, config)
    expect(await readFile(lockFile(config), 'utf8')).toBe(`${first.process.pid}\n`)
    const stateBefore = await readFile(config.stateFile, 'utf8')

    const second = await runToExit(config)
    expect(second.code).toBe(2)
    expect(second.stderr).toContain(`state directory ${config.stateDir} is in use by another smokeprobe (pid ${first.process.pid}`)
    expect(second.stderr).toContain('probe run: not started')
    expect(second.stdout).not.toContain('smokeprobe started')

    // The first runs on, its lock and state untouched by the second.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200)
    expect(await readFile(lockFile(config), 'utf8')).toBe(`${first.process.pid}\n`)
    expect(JSON.parse(await readFile(config.stateFile, 'utf8')).probes).toEqual(JSON.parse(stateBefore).probes)

    // A clean shutdown releases the lock.
    first.process.kill('SIGTERM')
    expect((await exitOf(first)).code).toBe(0)
    await expect(lstat(lockFile(config))).rejects.toThrow(/ENOENT/)
  })

  it('a stale lock of a dead process does not stop a start, and the new daemon holds it', async () => {
    const config = await setup()
    await mkdir(config.stateDir)
    await writeFile(lockFile(config), `${deadPid()}\n`)
    const daemon = await spawnDaemon(cleanups, config)
    expect(await readFile(lockFile(config), 'utf8')).toBe(`${daemon.process.pid}\n`)
    daemon.process.kill('SIGTERM')
    expect((await exitOf(daemon)).code).toBe(0)
    await expect(lstat(lockFile(config))).rejects.toThrow(/ENOENT/)
  })
})

const UNREADABLE: [string, (config: Config) => Promise<void>, RegExp][] = [
  ['a directory', (config) => mkdir(config.stateFile), /EISDIR/],
  ['a dangling symlink', (config) => symlink(path.join(config.dir, 'volume-not-mounted', 'alert-state.json'), config.stateFile), /ENOENT/],
  ['a symlink loop', (config) => symlink(config.stateFile, config.stateFile), /ELOOP/],
]

describe('a state file that exists but cannot be read', () => {
  it.each(UNREADABLE)('that is %s: the daemon refuses to start with exit 2 and leaves it as it is', async (_, make, code) => {
    const config = await setup()
    await mkdir(config.stateDir)
    await make(config)
    const before = await lstat(config.stateFile)
    const run = await runToExit(config)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`alert state ${config.stateFile} exists but cannot be read`)
    expect(run.stderr).toMatch(code)
    expect(run.stderr).toContain('probe run: not started')
    const after = await lstat(config.stateFile)
    expect([after.ino, after.isDirectory(), after.isSymbolicLink()]).toEqual([before.ino, before.isDirectory(), before.isSymbolicLink()])
    // It gave its lock back: once the file is fixed, the next start is not refused as "in use".
    await expect(lstat(lockFile(config))).rejects.toThrow(/ENOENT/)
  })
})

describe('a state file that cannot be written', () => {
  it('counts each failed write, says so on /readyz (still 200), logs the cause once, and recovers', async () => {
    const config = await setup('fail')
    const daemon = await startRuntime(cleanups, config)
    await waitFor('the first failure on disk', async () => ((await readState(config))?.probes.api?.state.failures ?? 0) >= 1)
    expect(await metric(daemon.url, 'probe_state_write_failures_total')).toBe(0)

    // A directory where the state file goes: the rename over it fails, for root too.
    await rm(config.stateFile)
    await mkdir(path.join(config.stateFile, 'occupied'), { recursive: true })
    await waitFor('three failed writes', async () => ((await metric(daemon.url, 'probe_state_write_failures_total')) ?? 0) >= 3)
    const ready = await fetch(`${daemon.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.text()).toMatch(/^ready\nalert state not written: cannot rename the temp file over the state file: \w+ \(/)
    const logged = () => daemon.logs.map((line) => JSON.parse(line) as { msg: string; level: number; reason?: string })
    const failures = logged().filter((l) => l.msg === 'cannot write alert state')
    expect(failures).toHaveLength(1)
    expect(failures[0]?.reason).not.toContain('.tmp')

    await rm(config.stateFile, { recursive: true })
    await waitFor('the state file written again', () => readState(config))
    await waitFor('/readyz without the problem', async () => (await (await fetch(`${daemon.url}/readyz`)).text()) === 'ready\n')
    expect(logged().some((l) => l.msg === 'alert state written again')).toBe(true)
  })
})
