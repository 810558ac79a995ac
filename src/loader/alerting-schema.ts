import * as z from 'zod'
import { channelSchemas } from '../alerting/channels/index.ts'
import { AlertPolicyOverride } from '../config/alert-policy.ts'
import { canariesSchema } from '../config/canaries.ts'
import { apiSchema, MaintenanceSchema } from '../config/maintenance-schema.ts'
import type { TemplateContext } from '../config/template.ts'

const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]*$/

/**
 * `unknown channel "pager" (defined: oncall, chat)`: the one wording for a channel name that is not defined.
 * Given `file`, the alerting file the names come from, it reads `(alerting.yaml defines: oncall, chat)`:
 * a probe file's diagnostic then says where to look; alerting.yaml's own diagnostics need not name it again.
 */
export function unknownChannelMessage(name: string, defined: readonly string[], file?: string): string {
  const names = defined.join(', ') || 'none'
  return `unknown channel "${name}" (${file === undefined ? 'defined' : `${file} defines`}: ${names})`
}

/** The schema of alerting.yaml: default policy and named channels. */
export function alertingFileSchema(context: TemplateContext) {
  // One member per entry of the channel table: a new channel type needs no edit here.
  const Channel = z.discriminatedUnion('type', channelSchemas(context))
  return z
    .strictObject({
      $schema: z.string().optional(),
      defaults: AlertPolicyOverride.prefault({}),
      channels: z.record(z.string().regex(CHANNEL_NAME, 'a channel name is lower-case letters, digits, "-" and "_"'), Channel).default({}),
      canaries: canariesSchema(context),
      // Maintenance windows and the mutes API (README "Fewer false pages").
      maintenance: MaintenanceSchema.default([]),
      api: apiSchema(context).optional(),
    })
    .superRefine((file, ctx) => {
      for (const [index, name] of (file.defaults.channels ?? []).entries()) {
        if (!Object.hasOwn(file.channels, name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['defaults', 'channels', index],
            message: unknownChannelMessage(name, Object.keys(file.channels)),
          })
        }
      }
    })
    .transform(({ $schema: _, ...file }) => file)
}

export type AlertingConfig = z.output<ReturnType<typeof alertingFileSchema>>
export type ChannelConfig = AlertingConfig['channels'][string]
