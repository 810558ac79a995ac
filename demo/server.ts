/**
 * A small, real CRUD HTTP API kept in memory, so the example probes have
 * something to run against without any outside service. `PUT /_faults`
 * makes it misbehave on purpose, to show (and test) what a failing probe
 * and its alert look like.
 *
 * Run standalone with `node demo/server.ts` (env DEMO_API_PORT, DEMO_API_HOST,
 * DEMO_API_TOKEN), or start it in-process with `startDemoApi()`.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export const FAULT_MODES = ['ok', 'error', 'slow', 'wrong-name', 'no-delete'] as const
export type FaultMode = (typeof FAULT_MODES)[number]

export interface DemoItem {
  readonly id: string
  readonly name: string
  readonly createdAt: string
}

export interface DemoApiOptions {
  /** @defaultValue 127.0.0.1 */
  readonly host?: string
  /** `0` picks a free port. @defaultValue 0 */
  readonly port?: number
  /** When set, every route but `/healthz` needs `authorization: Bearer <token>`. */
  readonly token?: string
}

export interface DemoApi {
  /** Base URL, e.g. `http://127.0.0.1:41234` (a wildcard host is reported as loopback). */
  readonly url: string
  readonly items: ReadonlyMap<string, DemoItem>
  setFault(mode: FaultMode, delayMs?: number): void
  close(): Promise<void>
}

/** Delay used by the `slow` fault when no `delayMs` is given. */
export const DEFAULT_SLOW_DELAY_MS = 2_000
/** Upper bounds so a long-running demo (or a probe whose cleanup fails) cannot exhaust memory. */
const MAX_ITEMS = 10_000
const MAX_BODY_BYTES = 64 * 1024
const MAX_NAME_LENGTH = 200
const MAX_DELAY_MS = 600_000

interface Fault {
  mode: FaultMode
  delayMs: number
}

interface Reply {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export function startDemoApi(options: DemoApiOptions = {}): Promise<DemoApi> {
  const items = new Map<string, DemoItem>()
  const fault: Fault = { mode: 'ok', delayMs: DEFAULT_SLOW_DELAY_MS }
  // Aborts pending `slow` delays on close, so close() never waits for them.
  const closing = new AbortController()
  const setFault = (mode: FaultMode, delayMs?: number) => {
    const problem = checkFault(mode, delayMs)
    if (problem) throw new Error(`setFault: ${problem}`)
    fault.mode = mode
    fault.delayMs = delayMs ?? DEFAULT_SLOW_DELAY_MS
  }
  const context: RouteContext = { items, fault, setFault, signal: closing.signal }

  const server = createServer((req, res) => {
    handle(req, context, options.token)
      .then((reply) => send(res, reply))
      .catch((error: unknown) => {
        if (closing.signal.aborted) return res.destroy()
        send(res, { status: 500, body: { error: `internal error: ${(error as Error).message}` } })
      })
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve({
        url: baseUrl(server.address() as AddressInfo),
        items,
        setFault,
        close: () => {
          closing.abort()
          const closed = new Promise<void>((done) => server.close(() => done()))
          server.closeAllConnections()
          return closed
        },
      })
    })
  })
}

interface RouteContext {
  readonly items: Map<string, DemoItem>
  readonly fault: Fault
  readonly setFault: (mode: FaultMode, delayMs?: number) => void
  readonly signal: AbortSignal
}

async function handle(req: IncomingMessage, context: RouteContext, token: string | undefined): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://demo')
  const path = url.pathname
  if (path === '/healthz') return only(req, ['GET', 'HEAD'], () => ({ status: 200, body: { status: 'ok' } }))
  if (token !== undefined && !authorized(req, token)) {
    return { status: 401, body: { error: 'missing or wrong bearer token' }, headers: { 'www-authenticate': 'Bearer' } }
  }
  if (path === '/_faults') return faults(req, context)
  if (path !== '/items' && !path.startsWith('/items/')) return { status: 404, body: { error: `no route ${path}` } }

  if (context.fault.mode === 'slow') await sleep(context.fault.delayMs, undefined, { signal: context.signal })
  if (path === '/items') {
    return only(req, ['GET', 'POST'], () => (req.method === 'POST' ? createItem(req, context) : listItems(url, context)))
  }
  const id = decodeId(path.slice('/items/'.length))
  return only(req, ['GET', 'DELETE'], () => (req.method === 'DELETE' ? deleteItem(id, context) : readItem(id, context)))
}

async function createItem(req: IncomingMessage, { items }: RouteContext): Promise<Reply> {
  const body = await readJson(req)
  if ('error' in body) return { status: body.status, body: { error: body.error } }
  const name = (body.value as { name?: unknown } | null)?.name
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    return { status: 400, body: { error: `expected a JSON object with a "name" string of 1 to ${MAX_NAME_LENGTH} characters` } }
  }
  if (items.size >= MAX_ITEMS) return { status: 507, body: { error: `the demo store is full (${MAX_ITEMS} items)` } }
  const item: DemoItem = { id: randomUUID(), name, createdAt: new Date().toISOString() }
  items.set(item.id, item)
  return { status: 201, body: item, headers: { location: `/items/${item.id}` } }
}

function readItem(id: string, { items, fault }: RouteContext): Reply {
  if (fault.mode === 'error') return { status: 500, body: { error: 'injected fault: error' } }
  const item = items.get(id)
  if (!item) return { status: 404, body: { error: `no item ${id}` } }
  // Looks like a healthy response; only a probe that checks the content notices.
  if (fault.mode === 'wrong-name') return { status: 200, body: { ...item, name: `someone-else-${item.name}` } }
  return { status: 200, body: item }
}

/** Items per page unless `?size=` says otherwise, and the most a page holds. */
export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1_000

/**
 * `GET /items?size=N&page=P`: one page, oldest first, with the URL of the
 * next page in `next` (null on the last), as a probe's sweep reads it
 * (README "Orphan sweep"). `items` holds the same records as `data`, for clients of the first version.
 */
function listItems(url: URL, { items, fault }: RouteContext): Reply {
  if (fault.mode === 'error') return { status: 500, body: { error: 'injected fault: error' } }
  const size = url.searchParams.has('size') ? Number(url.searchParams.get('size')) : DEFAULT_PAGE_SIZE
  const page = url.searchParams.has('page') ? Number(url.searchParams.get('page')) : 1
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    return { status: 400, body: { error: `size must be an integer from 1 to ${MAX_PAGE_SIZE}` } }
  }
  if (!Number.isInteger(page) || page < 1) return { status: 400, body: { error: 'page must be an integer from 1' } }
  const all = [...items.values()]
  const data = all.slice((page - 1) * size, page * size)
  const next = page * size < all.length ? `/items?size=${size}&page=${page + 1}` : null
  return { status: 200, body: { data, items: data, count: items.size, next } }
}

function deleteItem(id: string, { items, fault }: RouteContext): Reply {
  if (fault.mode === 'no-delete') return { status: 500, body: { error: 'injected fault: no-delete' } }
  if (!items.delete(id)) return { status: 404, body: { error: `no item ${id}` } }
  return { status: 204 }
}

async function faults(req: IncomingMessage, { fault, setFault }: RouteContext): Promise<Reply> {
  if (req.method === 'GET') return { status: 200, body: { ...fault } }
  if (req.method !== 'PUT') return { status: 405, body: { error: 'use GET or PUT' }, headers: { allow: 'GET, PUT' } }
  const body = await readJson(req)
  if ('error' in body) return { status: body.status, body: { error: body.error } }
  const { mode, delayMs } = (body.value ?? {}) as { mode?: unknown; delayMs?: unknown }
  const problem = checkFault(mode, delayMs)
  if (problem) return { status: 400, body: { error: problem } }
  setFault(mode as FaultMode, delayMs as number | undefined)
  return { status: 200, body: { ...fault } }
}

function checkFault(mode: unknown, delayMs: unknown): string | null {
  if (!FAULT_MODES.includes(mode as FaultMode)) return `mode must be one of ${FAULT_MODES.join(', ')}, got ${JSON.stringify(mode)}`
  if (delayMs !== undefined && (!Number.isInteger(delayMs) || (delayMs as number) < 0 || (delayMs as number) > MAX_DELAY_MS)) {
    return `delayMs must be an integer from 0 to ${MAX_DELAY_MS}, got ${JSON.stringify(delayMs)}`
  }
  return null
}

function decodeId(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text // a malformed escape names no item: the route answers 404
  }
}

function only(req: IncomingMessage, methods: string[], route: () => Reply | Promise<Reply>): Reply | Promise<Reply> {
  if (methods.includes(req.method ?? '')) return route()
  return { status: 405, body: { error: `use ${methods.join(' or ')}` }, headers: { allow: methods.join(', ') } }
}

function authorized(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? '')
  const expected = Buffer.from(`Bearer ${token}`)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

async function readJson(req: IncomingMessage): Promise<{ value: unknown } | { status: number; error: string }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) return { status: 413, error: `request body larger than ${MAX_BODY_BYTES} bytes` }
    chunks.push(chunk)
  }
  try {
    return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) }
  } catch {
    return { status: 400, error: 'request body is not valid JSON' }
  }
}

function send(res: ServerResponse, { status, body, headers = {} }: Reply): void {
  if (res.headersSent) return
  if (body === undefined) {
    res.writeHead(status, headers).end()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function baseUrl({ address, port, family }: AddressInfo): string {
  if (address === '0.0.0.0' || address === '::') return `http://127.0.0.1:${port}`
  return family === 'IPv6' ? `http://[${address}]:${port}` : `http://${address}:${port}`
}

async function main(): Promise<void> {
  const port = Number(process.env.DEMO_API_PORT ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`demo API: DEMO_API_PORT must be a port number, got ${JSON.stringify(process.env.DEMO_API_PORT)}`)
    process.exit(2)
  }
  const token = process.env.DEMO_API_TOKEN || undefined
  const api = await startDemoApi({ host: process.env.DEMO_API_HOST || '127.0.0.1', port, token })
  console.log(`demo API listening on ${api.url} (${token ? 'bearer token required' : 'no token required'})`)
  const stop = () => void api.close().then(() => process.exit(0))
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(`demo API: ${(error as Error).message}`)
    process.exit(1)
  })
}
