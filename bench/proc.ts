/**
 * Child processes of the benchmark: started with the bench's own Node,
 * measured through /proc or their own exit report, and always ended by pid
 * within a bound.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { cpuFromProcStat, statusMiB } from './stats.ts'

export const NODE = process.execPath
export const ROOT = path.resolve(import.meta.dirname, '..')
/** Preloaded into a child to write its own CPU and peak RSS when it exits (see exit-report.js). */
export const CPU_REPORT = path.join(ROOT, 'bench', 'exit-report.js')

const children = new Set<ChildProcess>()

export interface Started {
  readonly child: ChildProcess
  readonly pid: number
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>
  /** Everything it wrote to stdout so far. */
  stdout(): string
  stderr(): string
}

/** Starts a process; its output is collected in memory (bounded to the last 1 MB per stream). */
export function start(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Started {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  children.add(child)
  let out = ''
  let err = ''
  const keep = (text: string) => (text.length > 1_000_000 ? text.slice(-1_000_000) : text)
  child.stdout?.on('data', (chunk: Buffer) => {
    out = keep(out + chunk.toString())
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    err = keep(err + chunk.toString())
  })
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child)
      resolve(code ?? signal ?? 'unknown')
    })
  })
  return { child, pid: child.pid, exited, stdout: () => out, stderr: () => err }
}

/** Waits for a process to end by itself; kills it (by pid) and throws after `timeoutMs`. */
export async function finish(started: Started, timeoutMs: number, what: string): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  const result = await Promise.race([started.exited, timeout])
  clearTimeout(timer)
  if (result === 'timeout') {
    await stop(started, 2_000)
    throw new Error(`${what}: still running after ${timeoutMs} ms; killed (stderr: ${started.stderr().slice(-500)})`)
  }
  return result
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has ended. */
export async function stop(started: Started, graceMs = 5_000): Promise<void> {
  if (started.child.exitCode !== null || started.child.signalCode !== null) return
  process.kill(started.pid, 'SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const grace = new Promise<'grace'>((resolve) => {
    timer = setTimeout(() => resolve('grace'), graceMs)
  })
  if ((await Promise.race([started.exited, grace])) === 'grace') {
    process.kill(started.pid, 'SIGKILL')
    await started.exited
  }
  clearTimeout(timer)
}

/** Kills every child still running: on the way out after an error. */
export function killAll(): void {
  for (const child of children) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
}

/** Waits until the process prints a line matching `pattern` on stdout, within `timeoutMs`. */
export async function waitForOutput(started: Started, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const match = pattern.exec(started.stdout()) ?? pattern.exec(started.stderr())
    if (match) return match
    if (started.child.exitCode !== null) break
    await sleep(20)
  }
  throw new Error(`no ${pattern} from pid ${started.pid} within ${timeoutMs} ms (stderr: ${started.stderr().slice(-500)})`)
}

/** User + system CPU seconds a running process has used so far (all its threads). */
export async function cpuSeconds(pid: number): Promise<number> {
  return cpuFromProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'))
}

/** Peak resident set (VmHWM) of a running process, in MiB. */
export function peakRssMiB(pid: number): number {
  return statusMiB(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmHWM')
}

export interface ExitReport {
  /** User + system CPU seconds of the whole process. */
  readonly cpuSeconds: number
  readonly maxRssMiB: number
}

/** Runs a Node script with exit-report.js preloaded and returns its exit code, output and CPU report. */
export async function runMeasured(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number; what: string; cwd?: string },
): Promise<{ code: number | string; stdout: string; stderr: string; report: ExitReport }> {
  const reportFile = path.join(tmpdir(), `smokeprobe-bench-cpu-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`)
  const env = { ...options.env, BENCH_CPU_REPORT: reportFile }
  const started = start(NODE, ['--import', CPU_REPORT, ...args], { env, ...(options.cwd ? { cwd: options.cwd } : {}) })
  const code = await finish(started, options.timeoutMs, options.what)
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as ExitReport
  await rm(reportFile, { force: true })
  return { code, stdout: started.stdout(), stderr: started.stderr(), report }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
