import * as z from 'zod'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { ChannelDefinition } from '../channel.ts'
import { channelCommonFields } from './common.ts'

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue'

function schema(context: TemplateContext) {
  const Text = envString(context)
  return z.strictObject({
    type: z.literal('pagerduty'),
    ...channelCommonFields,
    routingKey: Text.pipe(z.string().min(1, 'routingKey is empty')),
    /** Override of the Events API v2 endpoint. @defaultValue https://events.pagerduty.com/v2/enqueue */
    url: Text.pipe(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })).default(PAGERDUTY_EVENTS_URL),
    /** @defaultValue critical */
    severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
  })
}

export type PagerDutyConfig = z.output<ReturnType<typeof schema>>

export const pagerduty: ChannelDefinition<ReturnType<typeof schema>> = {
  type: 'pagerduty',
  schema,
  create() {
    throw new Error('pagerduty channel: not implemented yet')
  },
}
