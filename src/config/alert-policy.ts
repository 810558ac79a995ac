import * as z from 'zod'
import { duration } from './duration.ts'

/** Alert policy fields shared by `alerting.yaml` `defaults:` and a probe's `alert:` override. */
export const alertPolicyFields = {
  /** Consecutive failed runs before the alert fires. @defaultValue 5 */
  failureThreshold: z.int().min(1).max(1000).optional().meta({ description: 'Consecutive failed runs before firing (default 5)' }),
  /** Consecutive passing runs before a firing alert resolves. @defaultValue 1 */
  successThreshold: z.int().min(1).max(1000).optional().meta({ description: 'Consecutive passing runs before resolving (default 1)' }),
  /**
   * Re-notify while still firing; `0` (as README shows it, unquoted) = never; otherwise at least 1m,
   * at most 24d. PagerDuty and Alertmanager get no reminders. @defaultValue 4h
   */
  reminderInterval: duration({ zero: true, min: 60_000 })
    .optional()
    .meta({ description: 'Re-notify while firing; 0 = never, otherwise 1m to 24d (default 4h)' }),
  /** Send a resolved notification when the probe recovers. @defaultValue true */
  sendResolved: z.boolean().optional().meta({ description: 'Send a resolved notification on recovery (default true)' }),
  /** Channel names (keys of `channels:` in alerting.yaml) that receive this probe's notifications. */
  channels: z.array(z.string().min(1)).optional().meta({ description: 'Names of channels in alerting.yaml' }),
}

export const AlertPolicyOverride = z.strictObject(alertPolicyFields)
export type AlertPolicyOverride = z.output<typeof AlertPolicyOverride>

/** The effective policy for one probe: alerting.yaml defaults, then the probe's override. */
export interface AlertPolicy {
  readonly failureThreshold: number
  readonly successThreshold: number
  readonly reminderIntervalMs: number
  readonly sendResolved: boolean
  readonly channels: readonly string[]
}

export const BUILTIN_POLICY: AlertPolicy = {
  failureThreshold: 5,
  successThreshold: 1,
  reminderIntervalMs: 4 * 3_600_000,
  sendResolved: true,
  channels: [],
}

export function resolvePolicy(...layers: (AlertPolicyOverride | undefined)[]): AlertPolicy {
  let policy = BUILTIN_POLICY
  for (const layer of layers) {
    if (!layer) continue
    policy = {
      failureThreshold: layer.failureThreshold ?? policy.failureThreshold,
      successThreshold: layer.successThreshold ?? policy.successThreshold,
      reminderIntervalMs: layer.reminderInterval ?? policy.reminderIntervalMs,
      sendResolved: layer.sendResolved ?? policy.sendResolved,
      channels: layer.channels ?? policy.channels,
    }
  }
  return policy
}
