import type { Logger } from 'pino'
import type * as z from 'zod'
import type { SecretMask } from '../config/secrets.ts'
import type { TemplateContext } from '../config/template.ts'
import type { Notification } from './notification.ts'

/**
 * A channel's answer to one attempt. The delivery wrapper decides about
 * retries from `retryable` (5xx, 429, network: yes; other 4xx, bad config: no).
 */
export type SendResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly retryable: boolean; readonly reason: string; readonly retryAfterMs?: number }

export interface Channel {
  readonly name: string
  readonly type: string
  /**
   * Events this channel is sent. PagerDuty and Alertmanager take no
   * reminders (PagerDuty escalates by itself; Alertmanager is re-sent the
   * firing state every minute instead).
   */
  readonly events: ReadonlySet<Notification['event']>
  /** One attempt; must settle promptly once `signal` aborts. Never throws for a wire fault. */
  send(notification: Notification, signal: AbortSignal): Promise<SendResult>
  /**
   * Level-triggered (Alertmanager): the receiver holds an alert only while it
   * is re-sent, so the channel is told the state always. It gets the resolve
   * even with `sendResolved: false` (otherwise it re-posts the alert as firing
   * forever) and is told at start what still fires. Edge-triggered channels
   * (email, webhook, PagerDuty) get one message per event, the resolve only
   * when `sendResolved` asks for it.
   */
  readonly levelTriggered?: boolean
  /** Level-triggered channels are told at start what is still firing. */
  resume?(firing: readonly Notification[]): void
  close?(): Promise<void>
}

export interface ChannelDeps {
  readonly name: string
  readonly logger: Logger
  readonly secrets: SecretMask
  /** Injected for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch
}

export interface ChannelDefinition<Schema extends z.ZodType<{ type: string }>> {
  readonly type: z.output<Schema>['type']
  /** The channel's entry in alerting.yaml (strict; templates compiled against the context). */
  readonly schema: (context: TemplateContext) => Schema
  readonly create: (config: z.output<Schema>, deps: ChannelDeps) => Channel
}
