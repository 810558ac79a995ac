/**
 * The daemon as users run it: a real `probe` process on the project's
 * Node 24, for signals, exit codes and the logs it writes on stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Cleanups, type Config, waitFor } from './harness.ts'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The project's Node 24 (the `node` on PATH may be older). */
export const NODE = path.join(ROOT, 'node_modules/.bin/node')
export const PROBE_BIN = path.join(ROOT, 'bin/probe.js')

export interface Child {
  readonly process: ChildProcess
  readonly url: string
  stdout(): string
  stderr(): string
  /** Parsed JSON log lines from stdout. */
  logs(): { msg: string; level: number; [field: string]: unknown }[]
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** A minimal environment for a child: no vitest variables, only what the test gives. */
function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env }
}

/** Whom a child runs as: tests of permission errors run it as an unprivileged user when they themselves are root. */
export interface RunAs {
  readonly uid: number
  readonly gid: number
}

function spawnProbe(args: readonly string[], cwd: string, env: Record<string, string>, as?: RunAs) {
  const child = spawn(NODE, [PROBE_BIN, ...args], { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], ...as })
  const out = { stdout: '', stderr: '' }
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out.stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    out.stderr += chunk
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  )
  return { child, out, exit }
}

/** `probe run` as a real process against `config`; resolves once it logged `smokeprobe started`. Killed by `cleanups`. */
export async function spawnDaemon(
  cleanups: Cleanups,
  config: Config,
  env: Record<string, string> = {},
  extra: string[] = [],
  as?: RunAs,
): Promise<Child> {
  const args = ['run', '--probes', config.probesDir, '--alerting', config.alertingFile, '--state-dir', config.stateDir]
  const { child, out, exit } = spawnProbe([...args, '--listen', '127.0.0.1:0', '--log-level', 'debug', ...extra], config.dir, env, as)
  let exited = false
  void exit.then(() => {
    exited = true
  })
  cleanups.defer(async () => {
    if (exited) return
    child.kill('SIGKILL')
    await exit
  })
  const logs = () =>
    out.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; level: number; [field: string]: unknown })
  const started = await waitFor(
    'the daemon to log "smokeprobe started"',
    () => {
      if (exited) throw new Error(`probe run exited early:\n${out.stdout}\n${out.stderr}`)
      return logs().find((line) => line.msg === 'smokeprobe started')
    },
    30_000,
  )
  return { process: child, url: String(started.url), stdout: () => out.stdout, stderr: () => out.stderr, logs, exit }
}

/** Waits, bounded, for a child to exit. */
export async function exitOf(child: Child, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`probe run did not exit within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([child.exit, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A `probe` command to completion (bounded); for validate and for runs that must refuse to start. */
export async function probeCli(args: readonly string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 30_000, as?: RunAs) {
  const { child, out, exit } = spawnProbe(args, cwd, env, as)
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const { code, signal } = await exit
  clearTimeout(timer)
  return { code, signal, stdout: out.stdout, stderr: out.stderr }
}
