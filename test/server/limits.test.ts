/**
 * The HTTP server under hostile clients, over real sockets on 127.0.0.1:
 * connections beyond the cap are closed at once, a client that never
 * finishes its headers is cut off, a request target that is no URL is a
 * 400. Bounds are injected small so that nothing waits for production
 * timeouts; every wait is bounded.
 */
import { serverOptions } from './options.ts'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { pino } from 'pino'
import { afterEach, describe, expect, test } from 'vitest'
import { DEFAULT_LIMITS, type RunningServer, type ServerOptions, startServer } from '../../src/server/http.ts'
import { waitFor } from '../daemon/harness.ts'

let running: RunningServer | undefined
const sockets: Socket[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await running?.close()
  running = undefined
})

async function start(overrides: Partial<ServerOptions> = {}): Promise<{ url: string; port: number }> {
  running = await startServer(serverOptions(overrides))
  return { url: running.url, port: Number(new URL(running.url).port) }
}

/** A raw connection that records what it received and whether the server closed it. */
interface Raw {
  readonly socket: Socket
  received(): string
  closed(): boolean
}

async function open(port: number): Promise<Raw> {
  const socket = connect(port, '127.0.0.1')
  sockets.push(socket)
  let text = ''
  let closed = false
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    text += chunk
  })
  socket.on('error', () => undefined)
  socket.on('close', () => {
    closed = true
  })
  await once(socket, 'connect')
  return { socket, received: () => text, closed: () => closed }
}

/** `/healthz` over a fresh connection: its status, or null when the connection was refused or dropped. */
async function healthz(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })
    await res.body?.cancel()
    return res.status
  } catch {
    return null
  }
}

describe('http server limits', () => {
  test('production bounds are a few seconds and a connection cap', () => {
    expect(DEFAULT_LIMITS.maxConnections).toBe(256)
    expect(DEFAULT_LIMITS.headersTimeoutMs).toBeLessThanOrEqual(10_000)
    expect(DEFAULT_LIMITS.requestTimeoutMs).toBeLessThanOrEqual(10_000)
    expect(DEFAULT_LIMITS.keepAliveTimeoutMs).toBeLessThanOrEqual(10_000)
    expect(DEFAULT_LIMITS.checkIntervalMs).toBeLessThanOrEqual(DEFAULT_LIMITS.headersTimeoutMs)
  })

  test('refuses connections beyond the cap, and answers /healthz again once they close', async () => {
    const cap = 4
    const { url, port } = await start({ limits: { maxConnections: cap } })
    const held: Raw[] = []
    for (let i = 0; i < cap; i++) held.push(await open(port))
    const extra: Raw[] = []
    for (let i = 0; i < 3; i++) extra.push(await open(port))
    // The kernel accepted them; the server closes each one beyond the cap at once.
    await waitFor('the connections beyond the cap to be closed', () => extra.every((raw) => raw.closed()), 5_000)
    expect(await healthz(url)).toBeNull()
    expect(held.some((raw) => raw.closed())).toBe(false)
    for (const raw of held) raw.socket.destroy()
    expect(await waitFor('/healthz to answer again', async () => (await healthz(url)) === 200, 5_000)).toBe(true)
  })

  test('closes a connection that never finishes its headers (slowloris)', async () => {
    const { url, port } = await start({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 400, checkIntervalMs: 50 } })
    const slow = await open(port)
    slow.socket.write('GET /healthz HTTP/1.1\r\nHost: smokeprobe\r\nX-Slow: ')
    const silent = await open(port)
    await waitFor('the slow connections to be closed', () => slow.closed() && silent.closed(), 5_000)
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(await healthz(url)).toBe(200)
  })

  test('a request target that is no URL is a 400, not a logged 500', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) })
    const { url, port } = await start({ logger })
    const raw = await open(port)
    raw.socket.write('GET http://[ HTTP/1.1\r\nHost: smokeprobe\r\nConnection: close\r\n\r\n')
    await waitFor('the answer', () => raw.closed(), 5_000)
    expect(raw.received()).toMatch(/^HTTP\/1\.1 400 /)
    expect(raw.received()).not.toContain('    at ')
    const errors = lines.map((line) => JSON.parse(line) as { level: number; err?: { stack?: string } }).filter((l) => l.level >= 50)
    expect(errors).toEqual([])
    expect(lines.join('')).not.toContain('"stack"')
    expect(await healthz(url)).toBe(200)
  })

  test('/readyz lists what is wrong while the daemon still works, and stays 200', async () => {
    let problems: string[] = []
    const { url } = await start({ problems: () => problems })
    const res = await fetch(`${url}/readyz`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('ready\n')
    problems = ['alert state not written: cannot create the temp file: ENOSPC (no space left on device)']
    const degraded = await fetch(`${url}/readyz`)
    expect(degraded.status).toBe(200)
    expect(await degraded.text()).toBe(`ready\n${problems[0]}\n`)
  })
})
