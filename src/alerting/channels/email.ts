import * as z from 'zod'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { ChannelDefinition } from '../channel.ts'
import { channelCommonFields } from './common.ts'

function schema(context: TemplateContext) {
  const Text = envString(context)
  return z.strictObject({
    type: z.literal('email'),
    ...channelCommonFields,
    smtp: z.strictObject({
      host: Text,
      /** @defaultValue 587 (465 when secure) */
      port: z
        .union([z.int(), Text.transform(Number)])
        .pipe(z.int('expected a port number').min(1).max(65535))
        .optional(),
      /** Implicit TLS (port 465). @defaultValue false */
      secure: z.boolean().default(false),
      /** Refuse to send unless STARTTLS succeeds. @defaultValue false */
      requireTLS: z.boolean().default(false),
      /** Accept an untrusted server certificate. @defaultValue false */
      insecure: z.boolean().default(false),
      user: Text.optional(),
      pass: Text.optional(),
    }),
    from: Text,
    to: z.array(Text).min(1, 'at least one recipient'),
    /** Prepended to every subject. */
    subjectPrefix: z.string().default('[smokeprobe]'),
  })
}

export type EmailConfig = z.output<ReturnType<typeof schema>>

export const email: ChannelDefinition<ReturnType<typeof schema>> = {
  type: 'email',
  schema,
  create() {
    throw new Error('email channel: not implemented yet')
  },
}
