/**
 * A real SMTP server on 127.0.0.1 (`smtp-server`) that keeps every mail it
 * accepts: what the email channel's tests and the daemon's tests send to.
 * Plain SMTP, no STARTTLS; authentication is optional, but a client that
 * authenticates must give `user` and `password`. Each SMTP phase can be made
 * to refuse with a reply code, so tests decide how the server says no.
 */
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

export interface Mail {
  /** The envelope's MAIL FROM address ('' for a null sender). */
  readonly from: string
  /** The envelope's accepted RCPT TO addresses. */
  readonly to: string[]
  /** The message as sent after DATA, headers and body. */
  readonly raw: string
}

export interface SmtpSinkOptions {
  readonly user: string
  /** The only password AUTH accepts; none given, every AUTH is refused with 535. */
  readonly password?: string | undefined
  /** A reply code to refuse MAIL FROM with, asked at each command; undefined accepts. */
  readonly mailFrom?: () => number | undefined
  /** A reply code to refuse this recipient with; undefined accepts. */
  readonly rcpt?: (address: string) => number | undefined
  /** A reply code to refuse every message with, once its DATA is read. */
  readonly data?: number
}

export interface SmtpSink {
  readonly port: number
  /** Mails accepted, in order of arrival. */
  readonly inbox: Mail[]
  close(): Promise<void>
}

/** An SMTP refusal: below 500 a temporary one (the client may retry), from 500 a permanent one. */
function smtpError(responseCode: number): Error {
  return Object.assign(new Error(responseCode < 500 ? 'Try again later' : 'Refused for good'), { responseCode })
}

export async function startSmtpSink(options: SmtpSinkOptions): Promise<SmtpSink> {
  const inbox: Mail[] = []
  const refuse = (code: number | undefined) => (code === undefined ? null : smtpError(code))
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: true,
    onAuth(auth, _session, callback) {
      if (auth.username === options.user && auth.password === options.password) callback(null, { user: auth.username })
      else callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }))
    },
    onMailFrom(_address, _session, callback) {
      callback(refuse(options.mailFrom?.()))
    },
    onRcptTo(address, _session, callback) {
      callback(refuse(options.rcpt?.(address.address)))
    },
    onData(stream, session, callback) {
      let raw = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk: string) => {
        raw += chunk
      })
      stream.on('end', () => {
        if (options.data !== undefined) return callback(smtpError(options.data))
        inbox.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        })
        callback()
      })
    },
  })
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  return {
    port: (server.server.address() as AddressInfo).port,
    inbox,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
