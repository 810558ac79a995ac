import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { CliIo } from '../../src/cli/io.ts'
import { runCli } from '../../src/cli/program.ts'
import { crudProbeFile } from '../support/crud-probe.ts'

/** A stream that keeps what is written, optionally pretending to be a terminal. */
export class Capture extends Writable {
  text = ''
  isTTY: boolean
  constructor(isTTY = false) {
    super()
    this.isTTY = isTTY
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString()
    callback()
  }
}

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the real `probe` command line in-process. */
export async function cli(
  argv: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; tty?: boolean } = {},
): Promise<CliRun> {
  const stdout = new Capture(options.tty)
  const stderr = new Capture()
  const io: CliIo = { stdout, stderr, env: options.env ?? {}, cwd: options.cwd ?? process.cwd() }
  const code = await runCli(argv, io)
  return { code, stdout: stdout.text, stderr: stderr.text }
}

/** A temporary folder with the given files; `remove()` deletes it. */
export async function tempFiles(files: Record<string, string>): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-cli-'))
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text)
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

export interface CrudServer {
  readonly url: string
  /** Items currently stored: what a cleanup step must have deleted. */
  readonly items: Map<string, { id: string; name: string }>
  /** Requests seen, as `METHOD /path`. */
  readonly requests: string[]
  /** `read` answers 500 while set. */
  failReads: boolean
  /** Resolves when a request to /hang arrives (it is never answered). */
  readonly hung: Promise<void>
  close(): Promise<void>
}

/** A tiny items API on 127.0.0.1: POST /items, GET and DELETE /items/:id, and /hang, which never answers. */
export async function startCrudServer(token: string): Promise<CrudServer> {
  let nextId = 1
  let onHang: () => void = () => {}
  const items = new Map<string, { id: string; name: string }>()
  const requests: string[] = []
  const control = { failReads: false }
  const send = (res: ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' })
    res.end(body === undefined ? undefined : JSON.stringify(body))
  }
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`)
    if (req.url === '/hang') return onHang()
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: 'unauthorized' })
    const id = /^\/items\/([^/]+)$/.exec(req.url ?? '')?.[1]
    if (req.method === 'POST' && req.url === '/items') {
      let raw = ''
      for await (const chunk of req) raw += chunk
      const item = { id: String(nextId++), name: String((JSON.parse(raw) as { name?: unknown }).name) }
      items.set(item.id, item)
      return send(res, 201, item)
    }
    const item = id === undefined ? undefined : items.get(id)
    if (req.method === 'GET' && id !== undefined) {
      if (control.failReads) return send(res, 500, { error: 'boom' })
      return item ? send(res, 200, item) : send(res, 404)
    }
    if (req.method === 'DELETE' && id !== undefined) return items.delete(id) ? send(res, 204) : send(res, 404)
    send(res, 404)
  }
  const server: Server = createServer((req, res) => void handle(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    items,
    requests,
    get failReads() {
      return control.failReads
    },
    set failReads(value: boolean) {
      control.failReads = value
    },
    hung: new Promise<void>((resolve) => {
      onHang = resolve
    }),
    close: () =>
      new Promise<void>((resolve) => {
        // The never-answered /hang request would keep close() waiting; drop its socket instead.
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The CRUD probe run against `startCrudServer`, with `API_URL` and `API_TOKEN` from the environment. */
export const CRUD_PROBE = crudProbeFile({ name: 'items-crud', settings: ['timeout: 5s'], urlEnv: 'API_URL', tokenEnv: 'API_TOKEN' })
