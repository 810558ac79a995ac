import { readFileSync } from 'node:fs'
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import * as z from 'zod'
import { type Probe, probeFileSchema } from '../../src/config/probe-schema.ts'
import { probeSecretUses } from '../../src/config/secret-use.ts'
import { SecretMask } from '../../src/config/secrets.ts'

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

export interface TestServer {
  readonly url: string
  readonly port: number
  /** `METHOD /path` of every request, in order of arrival. */
  readonly requests: string[]
  /** TCP connections accepted so far. */
  connections: number
  /** Connections open right now. */
  readonly open: Set<Socket>
  close(): Promise<void>
}

const TLS_DIR = new URL('../fixtures/tls/', import.meta.url)

/** A server on 127.0.0.1, a random port; `tls` uses the self-signed fixture certificate. */
export async function startServer(handler: Handler, options: { tls?: boolean } = {}): Promise<TestServer> {
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    state.requests.push(`${req.method} ${req.url}`)
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')))
  }
  const server: Server = options.tls
    ? createHttpsServer({ key: readFileSync(new URL('key.pem', TLS_DIR)), cert: readFileSync(new URL('cert.pem', TLS_DIR)) }, listener)
    : createServer(listener)
  const state = { requests: [] as string[], connections: 0, open: new Set<Socket>() }
  server.on('connection', (socket: Socket) => {
    state.connections++
    state.open.add(socket)
    socket.on('close', () => state.open.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    close: async () => {
      for (const socket of state.open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  })
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * A tiny items API (POST /items, GET/DELETE /items/:id); `read` replaces the
 * GET handler to inject a fault exactly where the probe reads back.
 */
export function itemsApi(read?: Handler): Handler {
  const items = new Map<string, { id: string; name: string }>()
  let next = 1
  return (req, res, body) => {
    const id = /^\/items\/([^/?]+)/.exec(req.url ?? '')?.[1]
    if (req.method === 'POST' && req.url === '/items') {
      const item = { id: String(next++), name: (JSON.parse(body) as { name: string }).name }
      items.set(item.id, item)
      return json(res, 201, item)
    }
    if (req.method === 'GET' && id !== undefined) {
      if (read) return read(req, res, body)
      const item = items.get(id)
      return item ? json(res, 200, item) : json(res, 404, { error: 'not found' })
    }
    if (req.method === 'DELETE' && id !== undefined) {
      items.delete(id)
      res.writeHead(204).end()
      return
    }
    json(res, 404, { error: 'no route' })
  }
}

export function json(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
}

/** A probe compiled exactly as a probe file would be, with its own secret mask. */
export function buildProbe(file: unknown, env: Record<string, string> = {}): { probe: Probe; secrets: SecretMask } {
  const secrets = new SecretMask()
  const secretNames = new Map<string, string[]>()
  probeSecretUses(file, 'test.yaml', env, secretNames)
  const parsed = probeFileSchema({ env, secrets, secretNames }).safeParse(file)
  if (!parsed.success) throw new Error(z.prettifyError(parsed.error))
  return { probe: { ...parsed.data, file: 'test.yaml' }, secrets }
}

/** The create → read → delete flow every fault test runs; `read` may point elsewhere. */
export function crudProbe(options: { base: string; readBase?: string; timeout?: string; read?: Record<string, unknown>; extra?: object }) {
  return {
    name: 'items-crud',
    timeout: options.timeout ?? '2s',
    vars: { base: options.base, readBase: options.readBase ?? options.base },
    steps: [
      {
        name: 'create',
        request: { method: 'POST', url: '{{ base }}/items', json: { name: 'smoke-{{ run.id }}' } },
        expect: { status: 201 },
        capture: { itemId: '$.id' },
      },
      {
        name: 'read',
        request: { url: '{{ readBase }}/items/{{ itemId }}', ...options.read },
        expect: { status: 200, json: { '$.name': 'smoke-{{ run.id }}' } },
      },
      {
        name: 'delete',
        cleanup: true,
        request: { method: 'DELETE', url: '{{ base }}/items/{{ itemId }}' },
        expect: { status: [200, 204] },
      },
    ],
    ...options.extra,
  }
}

/** A 150-character secret shaped like a JWT: longer than any cut a message makes. */
export const JWT = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${'eyJzdWIiOiJzbW9rZXByb2JlIn0'.repeat(4)}.${'s1gn4tur3'.repeat(2)}`.slice(0, 150)
