/**
 * The benchmark's target: a minimal in-memory CRUD API on node:http, run in
 * its own process (`node bench/target.ts [--delay ms]`) so its CPU is never
 * counted against a prober. Prints `listening <port>` when ready.
 *
 * POST /items → 201 {id,name,createdAt}; GET /items/:id → 200 or 404;
 * DELETE /items/:id → 204 or 404; GET /healthz → 200. `--delay` holds every
 * response that long (setTimeout), for the timing-accuracy measurement.
 */
import { createServer, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { delay: { type: 'string', default: '0' }, port: { type: 'string', default: '0' } } })
const delayMs = Number(values.delay)
/** Probes that fail before their delete would otherwise grow the store without bound. */
const MAX_ITEMS = 100_000
const items = new Map<string, { id: string; name: string; createdAt: string }>()
let nextId = 1

function reply(res: ServerResponse, status: number, body?: unknown): void {
  const send = () => {
    if (body === undefined) res.writeHead(status).end()
    else {
      const text = JSON.stringify(body)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
    }
  }
  if (delayMs > 0) setTimeout(send, delayMs)
  else send()
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const url = req.url ?? '/'
    if (req.method === 'POST' && url === '/items') {
      let name = 'unnamed'
      try {
        name = String((JSON.parse(Buffer.concat(chunks).toString()) as { name?: unknown }).name ?? name)
      } catch {
        return reply(res, 400, { error: 'body is not JSON' })
      }
      if (items.size >= MAX_ITEMS) items.clear()
      const item = { id: String(nextId++), name, createdAt: new Date().toISOString() }
      items.set(item.id, item)
      return reply(res, 201, item)
    }
    if (url === '/healthz') return reply(res, 200, { ok: true })
    const match = /^\/items\/([^/]+)$/.exec(url)
    const item = match ? items.get(match[1] as string) : undefined
    if (match && req.method === 'GET') return item ? reply(res, 200, item) : reply(res, 404, { error: 'not found' })
    if (match && req.method === 'DELETE') {
      if (!item) return reply(res, 404, { error: 'not found' })
      items.delete(item.id)
      return reply(res, 204)
    }
    reply(res, 404, { error: 'no such route' })
  })
})
server.keepAliveTimeout = 5_000
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`)
})
process.on('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
