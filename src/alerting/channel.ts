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
  /** Time allowed for one attempt (the channel's `timeout`): the delivery wrapper's deadline. */
  readonly timeoutMs: number
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

/**
 * What a channel's file builds. `createChannel` adds the name, type and
 * timeout, and masks every notification before `send` and `resume` see it,
 * so no channel has to remember to.
 */
export type ChannelCore = Omit<Channel, 'name' | 'type' | 'timeoutMs'>

/** Every channel accepts `timeout` (`channelCommonFields`). */
export type ChannelSchema = z.ZodType<{ type: string; timeout: number }>

/** One channel type: one file exporting this, one line in `CHANNELS`. */
export interface ChannelDefinition<Schema extends ChannelSchema> {
  /**
   * The channel's entry in alerting.yaml (strict; templates compiled against
   * the context). Each field's `.meta({ description })` is its README reference.
   */
  readonly schema: (context: TemplateContext) => Schema
  readonly create: (config: z.output<Schema>, deps: ChannelDeps) => ChannelCore
  /**
   * Where notifications land: what makes it another channel when it changes
   * (another service, URL or recipients). Credentials and timings are left
   * out, so rotating a password is not a new channel and pages nobody again.
   */
  readonly destination: (config: z.output<Schema>) => Readonly<Record<string, unknown>>
}
