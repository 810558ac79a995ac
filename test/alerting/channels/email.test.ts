import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { Channel } from '../../../src/alerting/channel.ts'
import { createChannel } from '../../../src/alerting/channels/index.ts'
import type { Notification } from '../../../src/alerting/notification.ts'
import { type SmtpSink, type SmtpSinkOptions, startSmtpSink } from '../../support/smtp-sink.ts'
import { deps, ENV, evidenceNotification, loadChannel, MASKED_EXCERPT, noSignal, notification } from './helpers.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

/** The sink every test sends to: user `probe` with the env password; closed after the test. */
async function smtpSink(refusals: Pick<SmtpSinkOptions, 'rcpt' | 'data'> = {}): Promise<SmtpSink> {
  const sink = await startSmtpSink({ user: 'probe', password: ENV.SMTP_PASS, ...refusals })
  cleanups.push(() => sink.close())
  return sink
}

/** Accepts connections and never says a word: no SMTP greeting. */
async function silentServer(): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => sockets.add(socket))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy()
    server.close()
    await once(server, 'close')
  })
  return (server.address() as AddressInfo).port
}

function channel(port: number, entry: Record<string, unknown> = {}): Channel {
  const { config, secrets } = loadChannel('email', {
    smtp: { host: '127.0.0.1', port, user: 'probe', pass: '{{ env.SMTP_PASS }}' },
    from: 'smokeprobe@example.test',
    to: ['oncall@example.test'],
    timeout: '2s',
    ...entry,
  })
  const c = createChannel(config, deps(secrets))
  cleanups.push(async () => c.close?.())
  return c
}

/** The readable text of a raw message: folded headers unfolded, the quoted-printable body decoded. */
function text(raw: string): string {
  const split = raw.indexOf('\r\n\r\n')
  const headers = raw.slice(0, split).replace(/\r\n(?=[ \t])/g, '')
  const body = raw
    .slice(split)
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
  return headers + body
}

describe('email channel', () => {
  it('delivers a firing mail whose subject and body say what failed', async () => {
    const sink = await smtpSink()
    expect(await channel(sink.port).send(notification(), noSignal())).toEqual({ ok: true })
    expect(sink.inbox).toHaveLength(1)
    const mail = sink.inbox[0]!
    expect(mail.from).toBe('smokeprobe@example.test')
    expect(mail.to).toEqual(['oncall@example.test'])
    const message = text(mail.raw)
    expect(message).toContain('Subject: [smokeprobe] FIRING items-crud (eu-1): read: expected status 200, got 500')
    expect(message).toContain('Message-ID: <inc1234-firing@smokeprobe>')
    expect(message).toContain('References: <incident-inc1234@smokeprobe>')
    for (const line of [
      'FIRING: probe items-crud is failing (5 consecutive failed runs).',
      'Probe:                items-crud',
      'Location:             eu-1',
      'Failing since:        2026-01-01T10:00:00.000Z',
      'Consecutive failures: 5',
      'Failing step:         read',
      'Reason:               read: expected status 200, got 500',
      'Labels:               team=storefront',
    ]) {
      expect(message).toContain(line)
    }
  })

  it.each<[Notification['event'], string]>([
    ['resolved', 'Subject: [smokeprobe] RESOLVED items-crud (eu-1)\r\n'],
    ['reminder', 'Subject: [smokeprobe] REMINDER items-crud (eu-1): read: expected status 200, got 500'],
    ['test', 'Subject: [smokeprobe] TEST smokeprobe-test (eu-1): test notification, no action needed'],
  ])('a %s mail is marked in its subject', async (event, subject) => {
    const sink = await smtpSink()
    const n = notification({ event, id: `x-${event}`, ...(event === 'test' ? { probe: 'smokeprobe-test', error: null } : {}) })
    expect(await channel(sink.port, { subjectPrefix: '[smokeprobe]' }).send(n, noSignal())).toEqual({ ok: true })
    expect(text(sink.inbox[0]?.raw ?? '')).toContain(subject)
  })

  it('a refused connection is retryable', async () => {
    const sink = await smtpSink()
    const port = sink.port
    await cleanups.pop()!()
    const result = await channel(port).send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable: true })
    expect(result.ok || result.reason).toMatch(/^SMTP (ESOCKET|ECONNECTION): .*ECONNREFUSED/)
  })

  it('a server that never greets fails the attempt within the timeout, naming the phase', async () => {
    const port = await silentServer()
    const result = await channel(port, { timeout: '400ms' }).send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable: true })
    expect(result.ok || result.reason).toMatch(/^SMTP ETIMEDOUT \(GREETING_TIMEOUT\)/)
  })

  it.each([
    [450, true],
    [550, false],
  ])('a recipient refused with %i: retryable %s', async (code, retryable) => {
    const sink = await smtpSink({ rcpt: () => code })
    const result = await channel(sink.port).send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable })
    expect(result.ok || result.reason).toMatch(new RegExp(`^SMTP RCPT TO: ${code} `))
    expect(sink.inbox).toHaveLength(0)
  })

  it.each([
    [451, true],
    [554, false],
  ])('a message refused after DATA with %i: retryable %s', async (code, retryable) => {
    const sink = await smtpSink({ data: code })
    const result = await channel(sink.port).send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable })
    expect(result.ok || result.reason).toMatch(new RegExp(`^SMTP DATA: ${code} `))
  })

  it.each([
    [550, false],
    [452, true],
  ])('one recipient of two refused with %i is a failure (retryable %s), though the other got the mail', async (code, retryable) => {
    const sink = await smtpSink({ rcpt: (address) => (address.endsWith('@bad.test') ? code : undefined) })
    const c = channel(sink.port, { to: ['oncall@example.test', '{{ secret.SECRET_PATH }}@bad.test'] })
    const result = await c.send(notification(), noSignal())
    expect(result).toMatchObject({ ok: false, retryable })
    expect(result.ok || result.reason).toMatch(new RegExp(`^1 of 2 recipients rejected: \\*\\*\\*@bad.test: RCPT TO: ${code} `))
    expect(sink.inbox.map((mail) => mail.to)).toEqual([['oncall@example.test']])
  })

  it('a wrong password is not retried, and the reason holds no credential', async () => {
    const sink = await smtpSink()
    const { config, secrets } = loadChannel(
      'email',
      {
        smtp: { host: '127.0.0.1', port: sink.port, user: 'probe', pass: '{{ env.WRONG }}' },
        from: 'a@example.test',
        to: ['b@example.test'],
      },
      { WRONG: 'wrong-password-123' },
    )
    const c = createChannel(config, deps(secrets))
    const result = await c.send(notification(), noSignal())
    await c.close?.()
    expect(result).toMatchObject({ ok: false, retryable: false })
    expect(result.ok || result.reason).toMatch(/^SMTP AUTH PLAIN: 535 /)
    expect(JSON.stringify(result)).not.toContain('wrong-password-123')
  })

  it('sends without authentication when no user is configured', async () => {
    const sink = await smtpSink()
    const c = channel(sink.port, { smtp: { host: '127.0.0.1', port: sink.port } })
    expect(await c.send(notification(), noSignal())).toEqual({ ok: true })
  })

  it('settles at once when the signal aborts during the greeting wait', async () => {
    const port = await silentServer()
    const controller = new AbortController()
    const sending = channel(port, { timeout: '10s' }).send(notification(), controller.signal)
    setTimeout(() => controller.abort(), 50)
    // The greeting timeout is 5s: only a prompt reaction to the abort gives 'aborted'.
    expect(await sending).toEqual({ ok: false, retryable: true, reason: 'aborted' })
  })

  it('masks secrets quoted in the failure message of the mail it sends', async () => {
    const sink = await smtpSink()
    const n = notification({ error: { step: 'read', message: `read: GET /items?key=${ENV.SMTP_PASS} returned 500` } })
    await channel(sink.port).send(n, noSignal())
    expect(sink.inbox[0]?.raw).not.toContain(ENV.SMTP_PASS)
    expect(text(sink.inbox[0]?.raw ?? '')).toContain('read: GET /items?key=*** returned 500')
  })
})

describe('email channel: failure evidence', () => {
  it('shows the status, content type and response body in the mail, the echoed secret masked (real SMTP sink)', async () => {
    const sink = await smtpSink()
    await channel(sink.port).send(evidenceNotification(ENV.SMTP_PASS), noSignal())
    const raw = sink.inbox[0]?.raw ?? ''
    expect(raw).not.toContain(ENV.SMTP_PASS)
    const body = text(raw).replaceAll('\r\n', '\n')
    expect(body).toContain('Response status:')
    expect(body).toContain('application/json')
    expect(body).toContain(`Response body (first 512 bytes):\n    ${MASKED_EXCERPT}`)
  })
})
