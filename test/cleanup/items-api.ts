/**
 * A real loopback CRUD API for the cleanup tests, with the faults they need:
 * a DELETE that fails until told otherwise, a GET that is held, a list
 * that paginates (and can be made to point elsewhere). It records every
 * DELETE per id, with its answer, so a test can prove none came twice.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createJournal } from '../../src/cleanup/journal.ts'

export interface Item {
  readonly id: string
  readonly name: string
  readonly createdAt: string | number
}

export interface ItemsApi {
  readonly url: string
  readonly items: Map<string, Item>
  /** Every id ever created by POST. */
  readonly created: string[]
  /** Per id, the status of each DELETE it got, in order. */
  readonly deletes: Map<string, number[]>
  /** Requests seen, as `METHOD path?query`. */
  readonly requests: string[]
  /** While true, DELETE answers 503 and deletes nothing. */
  deleteBroken: boolean
  /** While true, GET /items/:id is not answered (until `release`). */
  holdReads: boolean
  /** Answers held reads with 200 and stops holding. */
  release(): void
  /** Resolves when a read is being held. */
  readonly held: Promise<void>
  /** Overrides the `next` of a list page: the page number → the URL it points to. */
  nextOverride: ((page: number, url: string) => string) | null
  /** Each list page is answered this late. */
  listDelayMs: number
  /** The most list requests in flight at once, so far. */
  readonly maxListsInFlight: number
  close(): Promise<void>
}

export async function startItemsApi(options: { token?: string } = {}): Promise<ItemsApi> {
  const items = new Map<string, Item>()
  const held: ServerResponse[] = []
  let onHeld: () => void = () => {}
  const api: ItemsApi = {
    url: '',
    items,
    created: [],
    deletes: new Map(),
    requests: [],
    deleteBroken: false,
    holdReads: false,
    release() {
      api.holdReads = false
      for (const res of held.splice(0)) reply(res, 200, { ok: true })
    },
    held: new Promise<void>((resolve) => {
      onHeld = resolve
    }),
    nextOverride: null,
    listDelayMs: 0,
    maxListsInFlight: 0,
    close: async () => {},
  }
  let listsInFlight = 0
  const server = createServer((req, res) => {
    void handle(req, res)
  })
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://api')
    api.requests.push(`${req.method} ${url.pathname}${url.search}`)
    const body = await text(req)
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) return reply(res, 401, { error: 'token' })
    if (url.pathname === '/items' && req.method === 'POST') {
      const name = (JSON.parse(body || '{}') as { name?: string }).name ?? 'unnamed'
      const item = { id: randomUUID(), name, createdAt: new Date().toISOString() }
      items.set(item.id, item)
      api.created.push(item.id)
      return reply(res, 201, item)
    }
    if (url.pathname === '/items' && req.method === 'GET') {
      listsInFlight++
      ;(api as { maxListsInFlight: number }).maxListsInFlight = Math.max(api.maxListsInFlight, listsInFlight)
      if (api.listDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, api.listDelayMs))
      listsInFlight--
      return list(url, res)
    }
    const id = decodeURIComponent(url.pathname.slice('/items/'.length))
    if (req.method === 'GET') {
      if (api.holdReads) {
        held.push(res)
        onHeld()
        return
      }
      const item = items.get(id)
      return item ? reply(res, 200, item) : reply(res, 404, { error: 'no item' })
    }
    if (req.method === 'DELETE') {
      const status = api.deleteBroken ? 503 : items.delete(id) ? 204 : 404
      api.deletes.set(id, [...(api.deletes.get(id) ?? []), status])
      return reply(res, status, status === 204 ? undefined : { error: 'delete' })
    }
    reply(res, 405, { error: 'method' })
  }
  function list(url: URL, res: ServerResponse): void {
    const size = Number(url.searchParams.get('size') ?? 100)
    const page = Number(url.searchParams.get('page') ?? 0)
    const all = [...items.values()]
    const data = all.slice(page * size, (page + 1) * size)
    const more = (page + 1) * size < all.length
    const nextUrl = `/items?size=${size}&page=${page + 1}`
    const next = api.nextOverride ? api.nextOverride(page, nextUrl) : more ? nextUrl : null
    reply(res, 200, { data, next })
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(api, {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const res of held.splice(0)) res.destroy()
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  })
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
}

function text(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let out = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      out += chunk
    })
    req.on('end', () => resolve(out))
  })
}

/** The CRUD probe of these tests: create, read, delete (cleanup), with the API token from the environment. */
export function crudProbe(name: string, base: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    interval: '1s',
    timeout: '800ms',
    vars: { base },
    defaults: { headers: { authorization: 'Bearer {{ env.API_TOKEN }}' } },
    steps: [
      {
        name: 'create',
        request: { method: 'POST', url: '{{ base }}/items', json: { name: 'smoke-{{ run.id }}' } },
        expect: { status: 201 },
        capture: { itemId: '$.id' },
      },
      { name: 'read', request: { url: '{{ base }}/items/{{ itemId }}' }, expect: { status: 200 } },
      {
        name: 'delete',
        cleanup: true,
        request: { method: 'DELETE', url: '{{ base }}/items/{{ itemId }}' },
        expect: { status: [200, 204] },
      },
    ],
    ...extra,
  }
}

/** The ids of the journal's pending entries, as a new process would find them. */
export async function pendingOnDisk(stateDir: string): Promise<string[]> {
  const { entries } = await createJournal({ stateDir }).load()
  return entries.map((e) => e.id)
}
