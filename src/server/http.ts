import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { NetworkStatus } from '../judge/canaries.ts'
import type { Logger } from '../log.ts'
import { handleMutes, isMutesPath, type MutesApi } from './mutes-api.ts'
import { type HistoryAccess, historyRoute } from './history-routes.ts'
import { renderStatusPage } from './page.ts'
import { PAGE_CSP } from './page-parts.ts'
import { JSON_TYPE, type Reply } from './reply.ts'
import { type ProbeStatus, publicStatus } from './status.ts'

// Required, not imported: an ES import of node:http makes Node evaluate every export it has, and
// its WebSocket and EventSource getters load Node's own copy of undici (≈ 13 MB resident, 30 ms),
// which nothing here uses (BENCHMARKS.md, "Footprint").
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http')

export interface ServerOptions {
  readonly host: string
  readonly port: number
  readonly registry: Registry
  /** True once the configuration is loaded and the probes are scheduled (`/readyz`). */
  readonly isReady: () => boolean
  /**
   * What is wrong while the daemon still probes and pages (the state
   * directory cannot be written, say): listed on `/readyz` without turning
   * it 503, see README "Metrics and endpoints".
   */
  readonly problems?: () => readonly string[]
  /** The probes as they stand now, already masked by the daemon. */
  readonly probes: () => ProbeStatus[]
  /** What the canaries said at their last check; null (or absent) without canaries. */
  readonly network?: () => NetworkStatus | null
  /** Run and incident history: `/api/probes/<name>/history`, `/probes/<name>` and the page's bars. */
  readonly history?: HistoryAccess
  readonly logger: Logger
  /** Shown on the status page; metrics carry it on their own. */
  readonly location?: string | null
  readonly now?: () => Date
  /** Connection bounds; the defaults suit production (tests shorten them). */
  readonly limits?: Partial<ServerLimits>
  /** `/api/mutes`; absent, it is 404 like any unknown path. */
  readonly mutes?: MutesApi
}

export interface ServerLimits {
  /** Open connections at most; a connection beyond it is closed at once. */
  readonly maxConnections: number
  /** Time a client has to send the request headers. */
  readonly headersTimeoutMs: number
  /** Time a client has to send the whole request. */
  readonly requestTimeoutMs: number
  /** How long an idle keep-alive connection is kept. */
  readonly keepAliveTimeoutMs: number
  /** How often Node checks the two request timeouts: a timeout can be late by this much. */
  readonly checkIntervalMs: number
}

/**
 * Node's defaults (no connection cap, 60 s for the headers, checked every
 * 30 s) let a few hundred unfinished connections use up the file
 * descriptors the probes need, so every probe fails with EMFILE and pages
 * for a monitor problem (README "Metrics and endpoints"). The daemon's
 * clients are a scraper or two and a few browsers, and every request is a
 * small GET: 256 connections is far more than they need and leaves the
 * descriptors to the probes; a client gets 5 s for its headers, 10 s for
 * its request.
 */
export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 256,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
}

export interface RunningServer {
  /** `http://host:port` with the port actually bound (useful with port 0). */
  readonly url: string
  close(): Promise<void>
}

/** Version of the `/api/probes` envelope; bumped only on an incompatible change. */
export const API_VERSION = 1

const TEXT = 'text/plain; charset=utf-8'

/**
 * The daemon's HTTP endpoints (README "Metrics and endpoints"). Rejects with a clear
 * message when the address cannot be bound (in use, not permitted).
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger.child({ component: 'http' })
  const limits = { ...DEFAULT_LIMITS, ...options.limits }
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  }
  const server = createServer(serverOptions, (req, res) => {
    handle(req, options).then(
      (reply) => send(res, reply),
      (err: unknown) => {
        logger.error({ err, path: req.url }, 'request failed')
        send(res, { status: 500, type: TEXT, body: 'internal error\n' })
      },
    )
  })
  server.maxConnections = limits.maxConnections
  await listen(server, options.host, options.port)
  const { port } = server.address() as AddressInfo
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`
  server.on('error', (err) => logger.error({ err }, 'http server error'))
  logger.info({ url }, 'http server listening')
  let closing: Promise<void> | undefined
  return { url, close: () => (closing ??= close(server)) }
}

async function handle(req: IncomingMessage, options: ServerOptions): Promise<Reply> {
  // The one API that changes something: it takes POST and DELETE, behind its token.
  const target = URL.parse(req.url ?? '/', 'http://localhost')?.pathname
  if (target !== undefined && options.mutes && isMutesPath(target)) return handleMutes(req, target, options.mutes)
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return { status: 405, type: TEXT, body: 'method not allowed\n', headers: { allow: 'GET, HEAD' } }
  }
  // The request target is the client's text: one that is no URL (`http://[`) is its mistake, not ours.
  const url = URL.parse(req.url ?? '/', 'http://localhost')
  const path = url?.pathname
  if (!url || path === undefined) return { status: 400, type: TEXT, body: 'bad request\n' }
  const routed = historyRoute(url, options.history, () => options.probes().map(publicStatus), options.now?.() ?? new Date())
  if (routed) return routed
  switch (path) {
    case '/metrics':
      return { status: 200, type: options.registry.contentType, body: await options.registry.metrics() }
    case '/healthz':
      return { status: 200, type: TEXT, body: 'ok\n' }
    case '/readyz': {
      const problems = options.problems?.() ?? []
      const body = problems.map((problem) => `${problem}\n`).join('')
      return options.isReady()
        ? { status: 200, type: TEXT, body: `ready\n${body}` }
        : { status: 503, type: TEXT, body: `not ready\n${body}` }
    }
    case '/api/probes': {
      const network = options.network?.() ?? null
      const body = JSON.stringify({ version: API_VERSION, ...(network ? { network } : {}), probes: options.probes().map(publicStatus) })
      return { status: 200, type: JSON_TYPE, body: `${body}\n` }
    }
    case '/': {
      const page = renderStatusPage(options.probes().map(publicStatus), {
        now: options.now?.() ?? new Date(),
        location: options.location ?? null,
        network: options.network?.() ?? null,
        history: options.history,
      })
      return { status: 200, type: 'text/html; charset=utf-8', body: page, headers: { 'content-security-policy': PAGE_CSP } }
    }
    default:
      return { status: 404, type: TEXT, body: 'not found\n' }
  }
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    'content-type': reply.type,
    'content-length': Buffer.byteLength(reply.body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...reply.headers,
  })
  // Node sends no body for HEAD on its own; the headers still say how long it would be.
  res.end(reply.body)
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.code === 'EACCES' ? 'permission denied' : err.message
      reject(new Error(`cannot listen on ${host}:${port}: ${why}`, { cause: err }))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

/** Stops accepting, ends idle keep-alive connections, and resolves once in-flight responses are done. */
function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()))
    server.closeIdleConnections()
  })
}
