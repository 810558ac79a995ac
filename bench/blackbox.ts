/**
 * Prometheus blackbox_exporter probing the same target: one HTTP GET per
 * probe via its `/probe?target=…&module=http_2xx` endpoint, driven by a load
 * loop in this process at run --once's concurrency. Only the exporter's CPU
 * counts (from /proc, a running process, so no startup cost).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { cpuSeconds, start, stop } from './proc.ts'

const EXPORTER = '/usr/bin/prometheus-blackbox-exporter'
const CONFIG = `modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
`

export type BlackboxResult =
  | { readonly ok: true; readonly version: string; readonly probes: number; readonly cpuSeconds: number; readonly failures: number }
  | { readonly ok: false; readonly note: string }

/** Installs the Debian package when the binary is missing; a note says why when that fails. */
async function ensureExporter(): Promise<string | null> {
  if (existsSync(EXPORTER)) return null
  const run = promisify(execFile)
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    await run('apt-get', ['update', '-qq'], { timeout: 180_000, env })
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus-blackbox-exporter'], { timeout: 300_000, env })
  } catch (error) {
    return `blackbox_exporter not installed (apt-get failed: ${(error as Error).message.split('\n')[0]})`
  }
  return existsSync(EXPORTER) ? null : 'blackbox_exporter not installed (apt-get did not provide it)'
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

export async function measureBlackbox(targetUrl: string, probeCounts: readonly number[], concurrency: number): Promise<BlackboxResult[]> {
  const missing = await ensureExporter()
  if (missing) return probeCounts.map(() => ({ ok: false, note: missing }))
  const config = path.join(tmpdir(), `smokeprobe-bench-blackbox-${process.pid}.yml`)
  await writeFile(config, CONFIG)
  const port = await freePort()
  const exporter = start(EXPORTER, [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'])
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  try {
    await waitForListening(port, 10_000)
    const version = await new Promise<string>((resolve) => {
      execFile(EXPORTER, ['--version'], (_error, stdout, stderr) => resolve(/version (\S+)/.exec(stdout + stderr)?.[1] ?? '?'))
    })
    const url = `http://127.0.0.1:${port}/probe?module=http_2xx&target=${encodeURIComponent(`${targetUrl}/healthz`)}`
    await drive(url, agent, 200, concurrency)
    const results: BlackboxResult[] = []
    for (const probes of probeCounts) {
      const before = await cpuSeconds(exporter.pid)
      const failures = await drive(url, agent, probes, concurrency)
      results.push({ ok: true, version, probes, cpuSeconds: (await cpuSeconds(exporter.pid)) - before, failures })
    }
    return results
  } finally {
    agent.destroy()
    await stop(exporter)
  }
}

async function waitForListening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await get(`http://127.0.0.1:${port}/-/healthy`, new Agent()).then(
      () => true,
      () => false,
    )
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`blackbox_exporter did not listen on ${port} within ${timeoutMs} ms`)
}

/** `count` probes through the exporter, `concurrency` at a time; returns how many did not report probe_success 1. */
async function drive(url: string, agent: Agent, count: number, concurrency: number): Promise<number> {
  let next = 0
  let failures = 0
  const worker = async () => {
    while (next < count) {
      next++
      const body = await get(url, agent).catch(() => '')
      if (!/^probe_success 1$/m.test(body)) failures++
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return failures
}

function get(url: string, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`))))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}
