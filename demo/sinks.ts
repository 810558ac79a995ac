/**
 * The demo's notification sinks, in process: an SMTP server and a webhook
 * receiver on loopback that accept everything and tell `print` one line per
 * notification, so a newcomer sees the firing and the resolve arrive without
 * any outside service. The SMTP sink needs `smtp-server` (a dev dependency,
 * installed by `npm ci`); without it the demo runs with the webhook only.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface DemoSinks {
  readonly webhookUrl: string
  /** null when `smtp-server` is not installed. */
  readonly smtpPort: number | null
  close(): Promise<void>
}

/** Bound for one request body or one mail: the demo's own daemon is the only sender. */
const MAX_BYTES = 256 * 1024

export async function startDemoSinks(print: (line: string) => void): Promise<DemoSinks> {
  const webhook = createServer((req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BYTES) chunks.push(chunk)
    })
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event?: string; summary?: string }
        print(`webhook ${body.event ?? '?'}: ${body.summary ?? '(no summary)'}`)
      } catch {
        print('webhook: a request that is not JSON')
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
    })
  })
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve))
  const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`
  const smtp = await startSmtp(print)
  return {
    webhookUrl,
    smtpPort: smtp?.port ?? null,
    async close() {
      webhook.closeAllConnections()
      await new Promise<void>((resolve) => webhook.close(() => resolve()))
      await smtp?.close()
    },
  }
}

async function startSmtp(print: (line: string) => void): Promise<{ port: number; close(): Promise<void> } | null> {
  const loaded = await import('smtp-server').catch(() => null)
  if (!loaded) return null
  const server = new loaded.SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: MAX_BYTES,
    onData(stream, session, callback) {
      let raw = ''
      stream.on('data', (chunk: Buffer) => {
        if (raw.length < MAX_BYTES) raw += chunk.toString('utf8')
      })
      stream.on('end', () => {
        const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(raw)?.[1]?.replace(/\r?\n[ \t]+/g, ' ') ?? '(no subject)'
        const to = session.envelope.rcptTo.map((r) => r.address).join(', ')
        print(`email to ${to}: ${subject}`)
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
