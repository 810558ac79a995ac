/**
 * Loopback stand-ins for what the daemon talks to: the probed target, a
 * webhook receiver, the PagerDuty Events API and an SMTP server. Each records
 * what it received and can be switched between answering, failing, hanging
 * and refusing connections, so tests decide when a channel is down.
 */
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import * as smtp from '../support/smtp-sink.ts'

/**
 * A node:http server on 127.0.0.1 that can go down (connections refused) and
 * come back on the same port. It records every request, read to its end,
 * before the handler answers it and sets `answer`.
 */
class Loopback {
  readonly requests: Received[] = []
  readonly #handler: (req: IncomingMessage, res: ServerResponse, record: Received) => void
  readonly #sockets = new Set<Socket>()
  #server: Server | null = null
  port = 0

  constructor(handler: (req: IncomingMessage, res: ServerResponse, record: Received) => void) {
    this.#handler = handler
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async up(): Promise<void> {
    if (this.#server) return
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        const record: Received = { path: req.url ?? '', headers: req.headers, body, at: Date.now(), answer: 'hang' }
        this.requests.push(record)
        this.#handler(req, res, record)
      })
    })
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    server.listen(this.port, '127.0.0.1')
    await once(server, 'listening')
    this.port = (server.address() as AddressInfo).port
    this.#server = server
  }

  /** Stops listening and cuts every connection, hanging requests included: the port refuses from now on. */
  async down(): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = null
    for (const socket of this.#sockets) socket.destroy()
    server.close()
    await once(server, 'close')
  }
}

export interface Received {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** When it arrived (ms since the epoch). */
  readonly at: number
  /** The status answered, `hang` (never answered) or `reset` (socket destroyed). */
  answer: number | 'hang' | 'reset'
}

/**
 * ok: 200 `{status: up, who: monitor}`; fail: 503; wrong: 200 but a body that fails a JSON expectation (echoing the caller's authorization); hang: never answers;
 * flaky: resets every other connection (the 1st, 3rd, …) and answers ok between them.
 */
export type TargetMode = 'ok' | 'fail' | 'wrong' | 'hang' | 'flaky'

export interface Target {
  readonly url: string
  mode: TargetMode
  readonly requests: Received[]
  /** Refuse connections from now on. */
  down(): Promise<void>
  /** Listen again, on the same port. */
  up(): Promise<void>
  close(): Promise<void>
}

/** The probed service: `GET /health` answers according to `mode`. */
export async function startTarget(mode: TargetMode = 'ok'): Promise<Target> {
  const target = { mode }
  let flakes = 0
  const loopback = new Loopback((req, res, record) => {
    if (target.mode === 'hang') return
    if (target.mode === 'flaky' && flakes++ % 2 === 0) {
      record.answer = 'reset'
      req.socket.destroy()
      return
    }
    const [status, payload] =
      target.mode === 'ok' || target.mode === 'flaky'
        ? [200, { status: 'up', who: 'monitor' }]
        : target.mode === 'wrong'
          ? [200, { status: 'down', who: req.headers.authorization ?? null }]
          : [503, { status: 'down' }]
    record.answer = status
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(payload))
  })
  await loopback.up()
  return Object.assign(target, {
    url: loopback.url,
    requests: loopback.requests,
    down: () => loopback.down(),
    up: () => loopback.up(),
    close: () => loopback.down(),
  })
}

/** ok: 200; error: 503; hang: never answers; reset: destroys the connection. Refusing is `down()`. */
export type HttpSinkMode = 'ok' | 'error' | 'hang' | 'reset'

export interface WebhookSink {
  readonly url: string
  mode: HttpSinkMode
  readonly requests: Received[]
  /** Requests answered 2xx, bodies parsed. */
  delivered(): WebhookPayload[]
  /** Requests received but not (yet) answered. */
  hanging(): Received[]
  /** Refuse connections from now on (hanging requests are cut). */
  down(): Promise<void>
  /** Listen again, on the same port. */
  up(): Promise<void>
  close(): Promise<void>
}

/** The fields of SPEC "Webhook payload" the tests read. */
export interface WebhookPayload {
  readonly id: string
  readonly event: 'firing' | 'resolved' | 'reminder' | 'test'
  readonly probe: string
  readonly incidentId: string
  readonly consecutiveFailures: number
  readonly since: string
  readonly summary: string
  readonly error: { step: string; message: string } | null
  readonly labels: Record<string, string>
}

export async function startWebhookSink(mode: HttpSinkMode = 'ok'): Promise<WebhookSink> {
  const sink = { mode }
  const loopback = new Loopback((req, res, record) => {
    if (sink.mode === 'hang') return
    if (sink.mode === 'reset') {
      record.answer = 'reset'
      req.socket.destroy()
      return
    }
    record.answer = sink.mode === 'ok' ? 200 : 503
    res.writeHead(record.answer, { 'content-type': 'text/plain' })
    res.end(sink.mode === 'ok' ? 'ok\n' : 'unavailable\n')
  })
  await loopback.up()
  const requests = loopback.requests
  return Object.assign(sink, {
    url: loopback.url,
    requests,
    delivered: () => requests.filter((r) => isSuccess(r.answer)).map((r) => JSON.parse(r.body) as WebhookPayload),
    hanging: () => requests.filter((r) => r.answer === 'hang'),
    down: () => loopback.down(),
    up: () => loopback.up(),
    close: () => loopback.down(),
  })
}

export interface PagerDutyEvent {
  readonly routing_key: string
  readonly event_action: 'trigger' | 'resolve'
  readonly dedup_key: string
  readonly payload?: { summary: string; custom_details: Record<string, unknown> }
}

export interface PagerDutySink {
  readonly url: string
  readonly requests: Received[]
  /** Statuses to answer before the normal 202s, in order (e.g. `[429]`). */
  readonly script: number[]
  /** `Retry-After` sent with a scripted 429, in seconds. */
  retryAfterSeconds: number | null
  /** Events answered 202. */
  accepted(): PagerDutyEvent[]
  close(): Promise<void>
}

/** The Events API v2 at `/v2/enqueue`: 202 `{status: success}`, unless the script says otherwise. */
export async function startPagerDutySink(script: number[] = []): Promise<PagerDutySink> {
  const sink = { script: [...script], retryAfterSeconds: null as number | null }
  const loopback = new Loopback((_req, res, record) => {
    const scripted = sink.script.shift()
    if (scripted !== undefined) {
      record.answer = scripted
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (scripted === 429 && sink.retryAfterSeconds !== null) headers['retry-after'] = String(sink.retryAfterSeconds)
      res.writeHead(scripted, headers)
      res.end(JSON.stringify({ status: 'throttled', message: 'Requests for this service are arriving too quickly' }))
      return
    }
    record.answer = 202
    const event = JSON.parse(record.body) as PagerDutyEvent
    res.writeHead(202, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: event.dedup_key }))
  })
  await loopback.up()
  const requests = loopback.requests
  return Object.assign(sink, {
    url: `${loopback.url}/v2/enqueue`,
    requests,
    accepted: () => requests.filter((r) => r.answer === 202).map((r) => JSON.parse(r.body) as PagerDutyEvent),
    close: () => loopback.down(),
  })
}

export interface Mail extends smtp.Mail {
  /** The `X-Smokeprobe-Event` header. */
  readonly event: string
  readonly subject: string
}

/** ok: take every mail; tempfail: 451 at MAIL FROM (a server that is "down for a while" but talking). */
export type SmtpMode = 'ok' | 'tempfail'

export interface SmtpSink {
  readonly port: number
  mode: SmtpMode
  readonly inbox: Mail[]
  /** MAIL FROM commands refused while in tempfail mode. */
  refused: number
  close(): Promise<void>
}

export const SMTP_USER = 'smokeprobe'

/** A real SMTP server on 127.0.0.1: plain SMTP; auth optional, but when given it must be `SMTP_USER` and `password`. */
export async function startSmtpSink(options: { password?: string } = {}): Promise<SmtpSink> {
  const server = await smtp.startSmtpSink({
    user: SMTP_USER,
    password: options.password,
    mailFrom() {
      if (sink.mode === 'ok') return undefined
      sink.refused++
      return 451
    },
  })
  const sink: SmtpSink = {
    port: server.port,
    mode: 'ok',
    refused: 0,
    // Read from the server's inbox on each access, so a test sees mails that arrived since.
    get inbox() {
      return server.inbox.map((mail) => ({ ...mail, event: header(mail.raw, 'x-smokeprobe-event'), subject: header(mail.raw, 'subject') }))
    },
    close: () => server.close(),
  }
  return sink
}

/** A header of a raw mail, folded lines joined. */
function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? ''
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ')
  const line = unfolded.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name}:`))
  return line ? line.slice(name.length + 1).trim() : ''
}

function isSuccess(answer: Received['answer']): boolean {
  return typeof answer === 'number' && answer >= 200 && answer < 300
}
