/**
 * The container engine `npm run image` and the image tests drive: Docker
 * when a Docker engine answers (`docker info` succeeds), else Podman.
 * `SMOKEPROBE_ENGINE=docker|podman` picks one explicitly.
 *
 * Podman is driven the way ../shared notes verified on hosts without Docker
 * (cgroups v1 in hybrid mode, hard ulimits below Podman's defaults):
 * `--isolation=chroot` builds, `--format docker` so HEALTHCHECK survives,
 * runc as the runtime when it is installed, and explicit `--ulimit` values
 * within the host's hard limits instead of editing containers.conf.
 */
import { execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

export interface Engine {
  readonly name: 'docker' | 'podman'
  /** Global flags before the subcommand (`podman --runtime runc run …`). */
  readonly global: readonly string[]
  /** Flags for `build`. */
  readonly buildFlags: readonly string[]
  /** Flags every `run` needs on this host. */
  readonly runFlags: readonly string[]
}

function answers(command: string, args: readonly string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 })
  return result.status === 0
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, name)))
}

/**
 * This process's hard limit (a row of /proc/self/limits: "Max open files", "Max processes"), capped.
 * Read from /proc because dash, Debian's sh, has no `ulimit -u`.
 */
function hardLimit(row: string, cap: number): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(row))
    const hard = line?.slice(row.length).trim().split(/\s+/)[1]
    return hard && /^\d+$/.test(hard) ? Math.min(Number(hard), cap) : cap
  } catch {
    return cap
  }
}

function podman(): Engine {
  const global = onPath('runc') ? ['--runtime', 'runc'] : []
  // Podman's default ulimits (nofile 1048576) can exceed the host's hard limits, which fails every
  // start. Even nproc at the shell's hard limit was refused by runc on the machine this was written
  // on, so both are capped: the daemon holds at most a few thousand sockets and spawns nothing.
  const nofile = hardLimit('Max open files', 65_536)
  const nproc = hardLimit('Max processes', 16_384)
  const ulimits = ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`]
  return { name: 'podman', global, buildFlags: ['--isolation=chroot', '--format', 'docker', ...ulimits], runFlags: ulimits }
}

const DOCKER: Engine = { name: 'docker', global: [], buildFlags: [], runFlags: [] }

/** The engine to use, or null with the reason none is usable. */
export function detectEngine(): { engine: Engine; reason?: undefined } | { engine: null; reason: string } {
  const wanted = process.env.SMOKEPROBE_ENGINE
  if (wanted === 'docker' || wanted === 'podman') {
    if (!answers(wanted, wanted === 'docker' ? ['info'] : ['--version']))
      return { engine: null, reason: `SMOKEPROBE_ENGINE=${wanted} does not answer` }
    return { engine: wanted === 'docker' ? DOCKER : podman() }
  }
  if (wanted) return { engine: null, reason: `SMOKEPROBE_ENGINE=${wanted}: expected docker or podman` }
  if (answers('docker', ['info'])) return { engine: DOCKER }
  if (answers('podman', ['--version'])) return { engine: podman() }
  return {
    engine: null,
    reason: 'no container engine: `docker info` fails and podman is not installed (.ci/run installs podman, runc, mmdebstrap)',
  }
}

export interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `<engine> <global> <args>` to completion, bounded; never throws on a non-zero exit. */
export function engineRun(
  engine: Engine,
  args: readonly string[],
  options: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      engine.name,
      [...engine.global, ...args],
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, ...options.env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr: error && code === -1 ? `${stderr}${error.message}` : stderr })
      },
    )
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}

/** Like engineRun, but the output goes to this process's stderr as it comes (for long builds); resolves to the exit code. */
export function engineStream(
  engine: Engine,
  args: readonly string[],
  options: { timeoutMs: number; cwd?: string; log: (chunk: string) => void },
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(engine.name, [...engine.global, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs)
    child.stdout.on('data', (chunk: Buffer) => options.log(chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => options.log(chunk.toString('utf8')))
    child.once('error', (error) => {
      clearTimeout(timer)
      options.log(`${engine.name}: ${error.message}\n`)
      resolve(-1)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve(code ?? -1)
    })
  })
}

/** The image's id, or null when the engine does not have it. */
export async function imageId(engine: Engine, ref: string): Promise<string | null> {
  const result = await engineRun(engine, ['image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 30_000 })
  return result.code === 0 ? result.stdout.trim() : null
}

/** One label of an image, or null when the image or the label is missing. */
export async function imageLabel(engine: Engine, ref: string, label: string): Promise<string | null> {
  const result = await engineRun(engine, ['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, ref], {
    timeoutMs: 30_000,
  })
  const value = result.stdout.trim()
  return result.code === 0 && value !== '' && value !== '<no value>' ? value : null
}
