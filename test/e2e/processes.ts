/**
 * Child processes for the real-stack suite: started with their output kept
 * (so a failure can show what each process said), stopped by pid with a
 * bound, and waited on with deadlines instead of sleeps.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Running {
  readonly name: string
  readonly pid: number
  /** Resolves when the process has exited and its output is closed. */
  readonly exit: Promise<Exit>
  /** The exit, once there is one. */
  exited(): Exit | null
  /** The last `lines` lines it wrote, stdout and stderr interleaved. */
  tail(lines?: number): string
  /** SIGTERM, then SIGKILL when it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<Exit>
}

/** Enough to diagnose a failure; bounded so a chatty process cannot fill memory. */
const KEPT_OUTPUT_CHARS = 256 * 1024

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: { env: Record<string, string>; cwd: string },
): Running {
  const child: ChildProcess = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-KEPT_OUTPUT_CHARS)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let result: Exit | null = null
  const exit = new Promise<Exit>((resolve) => {
    // 'error' (e.g. ENOENT) comes without 'close' when the process never started.
    child.once('error', (error) => {
      keep(Buffer.from(`${name}: ${error.message}\n`))
      result ??= { code: null, signal: null }
      resolve(result)
    })
    child.once('close', (code, signal) => {
      result ??= { code, signal }
      resolve(result)
    })
  })
  if (child.pid === undefined) keep(Buffer.from(`${name}: no pid (${command} did not start)\n`))
  const pid = child.pid ?? -1

  return {
    name,
    pid,
    exit,
    exited: () => result,
    tail: (lines = 30) =>
      output
        .split('\n')
        .slice(-lines - 1)
        .join('\n'),
    async stop(graceMs = 5_000) {
      if (result || pid < 0) return exit
      signal(pid, 'SIGTERM')
      const timer = sleep(graceMs, null)
      if ((await Promise.race([exit, timer])) === null) {
        signal(pid, 'SIGKILL')
      }
      return exit
    },
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // Already gone between the check and the signal.
  }
}

/** A port that was free a moment ago on 127.0.0.1; `startListening` retries when someone took it meanwhile. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface WaitOptions {
  readonly timeoutMs: number
  /** @defaultValue 250 */
  readonly intervalMs?: number
  /** Give up at once, with its output, when one of these exits. */
  readonly watch?: readonly Running[]
}

/**
 * Polls `check` until it returns a value other than undefined/false, or the
 * deadline passes. A `check` that throws counts as "not yet"; the last
 * error and value are in the timeout message.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  let last = 'nothing yet'
  for (;;) {
    const dead = options.watch?.find((p) => p.exited())
    if (dead) throw new Error(`${what}: ${dead.name} exited (${JSON.stringify(dead.exited())}) while waiting\n${dead.tail()}`)
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
      last = `got ${JSON.stringify(value)}`
    } catch (error) {
      last = (error as Error).message
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${options.timeoutMs} ms (last: ${last})`)
    await sleep(options.intervalMs ?? 250)
  }
}

/** GET a URL and parse its JSON, with a short bound so one hung request cannot eat a deadline. */
export async function getJson<T = unknown>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) })
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`)
  return (await res.json()) as T
}

/** True when the URL answers 200. */
export async function isUp(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) })
  await res.body?.cancel()
  return res.status === 200
}

/**
 * Starts a server process on a free port and waits until `readyPath`
 * answers 200. Ports are picked before the process binds them, so another
 * test may take one meanwhile: when the process dies saying the address is
 * in use, it is started again on another port.
 */
export async function startListening(
  name: string,
  launch: (port: number) => Running,
  readyPath: string,
  timeoutMs: number,
): Promise<{ process: Running; port: number; url: string }> {
  const attempts = 3
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const running = launch(port)
    const url = `http://127.0.0.1:${port}`
    try {
      await waitFor(`${name} ready at ${url}${readyPath}`, () => isUp(url + readyPath), { timeoutMs, watch: [running] })
      return { process: running, port, url }
    } catch (error) {
      await running.stop(2_000)
      if (attempt < attempts && /already in use/i.test(running.tail(50))) continue
      throw error
    }
  }
}

/** The first of `names` found on PATH (or in the usual bin folders), as an absolute path. */
export function findBinary(...names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin'].filter((d) => d !== '')
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name)
      if (existsSync(candidate)) return candidate
    }
  }
  return undefined
}
