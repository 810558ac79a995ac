import type { NodemailerError, SMTPSentMessageInfo, Transporter } from 'nodemailer'
import * as z from 'zod'
import type { SecretMask } from '../../config/secrets.ts'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { ChannelDefinition, SendResult } from '../channel.ts'
import { attemptSignal, channelCommonFields } from './common.ts'
import { emailMessage } from './email-message.ts'

function schema(context: TemplateContext) {
  const Text = envString(context)
  return z.strictObject({
    type: z.literal('email').meta({
      description: 'An email through an SMTP server. Subjects contain FIRING, RESOLVED or REMINDER and the probe name.',
    }),
    ...channelCommonFields,
    smtp: z
      .strictObject({
        host: Text.meta({ description: 'Host name; may come from `{{ env.NAME }}`.' }),
        port: z
          // A port from the environment arrives as text; say what it was rather than "got null" for NaN.
          .union([z.int(), Text.transform((text) => (/^\d+$/.test(text.trim()) ? Number(text) : text))])
          .pipe(
            z
              .int({ error: (issue) => `expected a port number (1-65535), got ${JSON.stringify(issue.input)}` })
              .min(1)
              .max(65535),
          )
          .optional()
          // `referenceType`: the README's word for the type (an `{{ env.NAME }}` string is also taken).
          .meta({ description: 'Port. Default: 587, or 465 with `secure`.', referenceType: 'integer' }),
        secure: z
          .boolean()
          .default(false)
          .meta({ description: 'Implicit TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it.' }),
        requireTLS: z.boolean().default(false).meta({ description: 'Refuse to send unless STARTTLS succeeds.' }),
        insecure: z.boolean().default(false).meta({ description: 'Accept an untrusted server certificate.' }),
        user: Text.optional().meta({ description: 'Login user.' }),
        pass: Text.optional().meta({ description: 'Login password; use `{{ env.NAME }}`.' }),
      })
      .meta({ description: 'The SMTP server.' }),
    from: Text.meta({ description: 'The sender address.' }),
    to: z.array(Text).min(1, 'at least one recipient').meta({ description: 'The recipients.' }),
    subjectPrefix: z.string().default('[smokeprobe]').meta({ description: 'Put before every subject.' }),
  })
}

export type EmailConfig = z.output<ReturnType<typeof schema>>

/** Failures that sending the same mail again cannot fix: credentials, configuration, the message itself. */
const PERMANENT_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2', 'ECONFIG', 'EMESSAGE', 'EENVELOPE', 'EREQUIRETLS', 'EMAXRECIPIENTS'])

/**
 * One mail per notification, on a fresh SMTP connection (alerts are too rare
 * for a pool to pay off). nodemailer's own timeouts (2 min to connect, 10 min
 * of socket silence) are cut to the channel timeout, so a silent server
 * fails the attempt instead of pinning it.
 */
export const email: ChannelDefinition<ReturnType<typeof schema>> = {
  schema,
  destination: (config) => ({ host: config.smtp.host, port: config.smtp.port ?? null, to: [...config.to].sort() }),
  create(config, deps) {
    const { smtp } = config
    // nodemailer (≈100 ms and 13 MiB to load) is loaded by the first mail, not by every daemon that
    // configures no email channel or never has to send one.
    let transport: Promise<Transporter<SMTPSentMessageInfo>> | null = null
    const open = () => {
      transport ??= import('nodemailer').then(({ default: nodemailer }) =>
        nodemailer.createTransport({
          host: smtp.host,
          port: smtp.port ?? (smtp.secure ? 465 : 587),
          secure: smtp.secure,
          requireTLS: smtp.requireTLS,
          tls: { rejectUnauthorized: !smtp.insecure },
          ...(smtp.user === undefined ? {} : { auth: { user: smtp.user, pass: smtp.pass ?? '' } }),
          // Connecting and the greeting get half the attempt each, so a silent server fails with
          // the phase named (GREETING_TIMEOUT) before the attempt's overall deadline.
          connectionTimeout: Math.ceil(config.timeout / 2),
          greetingTimeout: Math.ceil(config.timeout / 2),
          dnsTimeout: Math.ceil(config.timeout / 2),
          socketTimeout: config.timeout,
        }),
      )
      return transport
    }
    return {
      events: new Set(['firing', 'resolved', 'reminder', 'test']),
      async send(notification, signal) {
        const message = emailMessage(notification, config.subjectPrefix)
        const attempt = attemptSignal(signal, config.timeout)
        try {
          const info = await (await open()).sendMail({ from: config.from, to: config.to, ...message, signal: attempt.signal })
          return partialRejection(info, config.to.length, deps.secrets) ?? { ok: true }
        } catch (error) {
          if (attempt.signal.aborted) return { ok: false, retryable: true, reason: deps.secrets.mask(attempt.describeAbort()) }
          return classifySmtpError(error as NodemailerError, deps.secrets)
        }
      },
      async close() {
        ;(await transport)?.close()
      },
    }
  },
}

/**
 * A server may refuse some recipients and take the mail for the others;
 * nodemailer then resolves. That is a failure here: someone on the list was
 * not told. It is retryable only when a refusal was transient (4xx) — the
 * retry reaches the accepted recipients a second time, a duplicate rather
 * than a lost page.
 */
function partialRejection(info: SMTPSentMessageInfo, total: number, secrets: SecretMask): SendResult | null {
  if (info.rejected.length === 0) return null
  const errors = info.rejectedErrors ?? []
  const details = errors.length > 0 ? errors.map((e) => `${e.recipient ?? '?'}: ${smtpReply(e)}`) : info.rejected
  return {
    ok: false,
    retryable: errors.some((e) => isTransientReply(e.responseCode)),
    reason: secrets.mask(`${info.rejected.length} of ${total} recipients rejected: ${details.join('; ')}`),
  }
}

/** 4xx (and nodemailer's 503 exception) are worth another attempt; 5xx, bad credentials and bad config are not. */
export function classifySmtpError(error: NodemailerError, secrets: SecretMask): SendResult {
  const code = error.code ?? 'ERROR'
  const retryable = error.responseCode === undefined ? !PERMANENT_CODES.has(code) : isTransientReply(error.responseCode)
  const detail =
    error.responseCode === undefined ? `${code}${error.timeoutType ? ` (${error.timeoutType})` : ''}: ${error.message}` : smtpReply(error)
  return { ok: false, retryable, reason: secrets.mask(`SMTP ${detail}`) }
}

function isTransientReply(responseCode: number | undefined): boolean {
  if (responseCode === undefined) return false
  return responseCode < 500 || responseCode === 503
}

/** `RCPT TO: 550 No such user`. */
function smtpReply(error: NodemailerError): string {
  const reply = (error.response ?? `${error.responseCode ?? ''} ${error.message}`).trim()
  return error.command ? `${error.command}: ${reply}` : reply
}
