import * as z from 'zod'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { ChannelDefinition } from '../channel.ts'
import { channelCommonFields } from './common.ts'

function schema(context: TemplateContext) {
  const Text = envString(context)
  return z.strictObject({
    type: z.literal('webhook'),
    ...channelCommonFields,
    url: Text.pipe(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })),
    /** Extra request headers, e.g. an authorization token. */
    headers: z.record(z.string(), Text).default({}),
  })
}

export type WebhookConfig = z.output<ReturnType<typeof schema>>

export const webhook: ChannelDefinition<ReturnType<typeof schema>> = {
  type: 'webhook',
  schema,
  create() {
    throw new Error('webhook channel: not implemented yet')
  },
}
