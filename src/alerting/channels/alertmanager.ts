import * as z from 'zod'
import { Duration } from '../../config/duration.ts'
import type { TemplateContext } from '../../config/template.ts'
import { envString } from '../../config/template.ts'
import type { ChannelDefinition } from '../channel.ts'
import { channelCommonFields } from './common.ts'

function schema(context: TemplateContext) {
  const Url = envString(context).pipe(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }))
  return z.strictObject({
    type: z.literal('alertmanager'),
    ...channelCommonFields,
    /** One Alertmanager, or every member of an HA cluster (each is sent to; never load-balance). */
    url: z.union([Url, z.array(Url).min(1)]).transform((u) => (Array.isArray(u) ? u : [u])),
    /** How often firing alerts are re-sent (as Prometheus does). @defaultValue 1m */
    resendInterval: Duration.prefault('1m'),
    /** Extra labels on every alert, e.g. severity. */
    labels: z.record(z.string(), z.string()).default({}),
  })
}

export type AlertmanagerConfig = z.output<ReturnType<typeof schema>>

export const alertmanager: ChannelDefinition<ReturnType<typeof schema>> = {
  type: 'alertmanager',
  schema,
  create() {
    throw new Error('alertmanager channel: not implemented yet')
  },
}
