import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ChannelDeps } from '../../../src/alerting/channel.ts'
import { CHANNELS, type ChannelConfigOf, type ChannelType } from '../../../src/alerting/channels/index.ts'
import type { Notification } from '../../../src/alerting/notification.ts'
import { alertingSecretUses } from '../../../src/config/secret-use.ts'
import { SecretMask } from '../../../src/config/secrets.ts'
import { silentLogger } from '../../../src/log.ts'

/** Environment values every channel test loads its config with: each becomes a secret. */
export const ENV = {
  WEBHOOK_TOKEN: 'tok-0123456789abcdef',
  PD_ROUTING_KEY: 'R0UT1NGKEY0123456789abcdefABCDEF',
  SMTP_PASS: 'hunter2-smtp-pass',
  SECRET_PATH: 'path-secret-4f7a',
}

export function notification(overrides: Partial<Notification> = {}): Notification {
  return {
    id: 'inc1234-firing',
    event: 'firing',
    probe: 'items-crud',
    location: 'eu-1',
    incidentId: 'inc1234',
    since: '2026-01-01T10:00:00.000Z',
    at: '2026-01-01T10:05:00.000Z',
    consecutiveFailures: 5,
    summary: 'FIRING items-crud from eu-1: read: expected status 200, got 500 (5 consecutive failures since 2026-01-01T10:00:00.000Z)',
    error: { step: 'read', message: 'read: expected status 200, got 500' },
    labels: { team: 'storefront' },
    ...overrides,
  }
}

/**
 * A channel config parsed through its real schema with `ENV` as the
 * environment, so the secret mask knows every secret, as after a real load.
 */
export function loadChannel<T extends ChannelType>(
  type: T,
  entry: Record<string, unknown>,
  env: Record<string, string> = {},
): { config: ChannelConfigOf<T>; secrets: SecretMask } {
  const secrets = new SecretMask()
  // Which names are secrets is decided as the loader does: by their use in the channel's credential fields.
  const secretNames = new Map<string, string[]>()
  alertingSecretUses({ channels: { test: { type, ...entry } } }, 'alerting.yaml', secretNames)
  const schema = CHANNELS[type].schema({ env: { ...ENV, ...env }, secrets, secretNames })
  return { config: schema.parse({ type, ...entry }) as ChannelConfigOf<T>, secrets }
}

export function deps(secrets: SecretMask, extra: Partial<ChannelDeps> = {}): ChannelDeps {
  return { name: 'test-channel', logger: silentLogger(), secrets, ...extra }
}

export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  readonly body: string
}

/** A real HTTP server on 127.0.0.1:0 that records each request and answers with `handler`. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      handler(req, res, body)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

/** A signal that never aborts, for sends bounded only by the channel's own timeout. */
export function noSignal(): AbortSignal {
  return new AbortController().signal
}

/**
 * A firing whose failed step got an answer: the body echoes `secret` (one the
 * channel's config uses, so the mask must catch it in every payload) and carries what chat tools would
 * render (`<!channel>`, a fence).
 */
export function evidenceNotification(secret: string, overrides: Partial<Notification> = {}): Notification {
  return notification({
    error: {
      step: 'read',
      message: 'read: expected status 200, got 500',
      status: 500,
      contentType: 'application/json',
      excerpt: `{"error":"db down","echo":"${secret}","note":"<!channel> \`\`\`"}`,
    },
    ...overrides,
  })
}

/** The excerpt of `evidenceNotification()` as every channel must show it: the secret masked. */
export const MASKED_EXCERPT = '{"error":"db down","echo":"***","note":"<!channel> ```"}'
