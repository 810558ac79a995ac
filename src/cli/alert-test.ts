import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Writable } from 'node:stream'
import type { SendResult } from '../alerting/channel.ts'
import { createChannel } from '../alerting/channels/index.ts'
import type { Notification } from '../alerting/notification.ts'
import { attemptOnce } from '../alerting/retry.ts'
import { type AlertingConfig, unknownChannelMessage } from '../loader/alerting-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import { type Logger, silentLogger } from '../log.ts'

export const TEST_PROBE = 'smokeprobe-test'

/** The part of `LoadedConfig` (src/loader/load.ts) this command reads. */
export interface AlertTestConfig {
  readonly alerting: AlertingConfig | null
  readonly secrets: SecretMask
}

export interface AlertTestOptions {
  /** The `--location` of this instance, shown in the test notification. */
  readonly location?: string | null
  readonly logger?: Logger
  readonly fetch?: typeof fetch
  /** @defaultValue 3 */
  readonly attempts?: number
  /** Wait before the second attempt, doubled after each; a Retry-After up to 5s is honoured instead. @defaultValue 1000 */
  readonly retryDelayMs?: number
}

const MAX_RETRY_AFTER_MS = 5_000

/**
 * `probe alert test <channel>`: one clearly marked test notification through
 * the real channel, a few quick retries for a transient fault, and the
 * outcome in plain words. Exit 0 delivered, 1 not, 2 no such channel.
 */
export async function alertTest(
  config: AlertTestConfig,
  channelName: string,
  out: { stdout: Writable; stderr: Writable },
  options: AlertTestOptions = {},
): Promise<number> {
  const print = (stream: Writable, line: string) => stream.write(`${config.secrets.mask(line)}\n`)
  const channels = config.alerting?.channels ?? {}
  const channelConfig = Object.hasOwn(channels, channelName) ? channels[channelName] : undefined
  if (!config.alerting) {
    print(out.stderr, 'no alerting file loaded: pass --alerting <file> (default ./alerting/alerting.yaml)')
    return 2
  }
  if (!channelConfig) {
    print(out.stderr, unknownChannelMessage(channelName, Object.keys(channels)))
    return 2
  }
  const channel = createChannel(channelConfig, {
    name: channelName,
    logger: options.logger ?? silentLogger(),
    secrets: config.secrets,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  })
  const what = `channel "${channelName}" (${channelConfig.type})`
  const attempts = Math.max(1, options.attempts ?? 3)
  let delayMs = options.retryDelayMs ?? 1_000
  try {
    const notification = testNotification(new Date(), options.location ?? null)
    let result: SendResult = { ok: false, retryable: false, reason: 'not attempted' }
    // Bounded by `attempts`; stops early on success or on a fault a retry cannot fix.
    for (let attempt = 1; attempt <= attempts; attempt++) {
      // The delivery wrapper's attempt: the channel's timeout holds even for a channel that ignores its signal.
      result = await attemptOnce(channel, notification, new AbortController(), channel.timeoutMs)
      if (result.ok) {
        print(out.stdout, `test notification delivered to ${what}${attempt > 1 ? ` on attempt ${attempt}` : ''}`)
        return 0
      }
      print(out.stderr, `attempt ${attempt}/${attempts} failed: ${result.reason}`)
      if (!result.retryable || attempt === attempts) break
      await sleep(Math.min(result.retryAfterMs ?? delayMs, MAX_RETRY_AFTER_MS))
      delayMs *= 2
    }
    const why = result.ok ? '' : `: ${result.reason}${result.retryable ? '' : ' (not retried: sending it again would fail the same way)'}`
    print(out.stderr, `test notification NOT delivered to ${what}${why}`)
    return 1
  } finally {
    await channel.close?.()
  }
}

/** A notification no receiver can mistake for a real alert: event `test`, probe `smokeprobe-test`. */
export function testNotification(now: Date, location: string | null): Notification {
  const id = randomUUID()
  const at = now.toISOString()
  return {
    id: `test-${id}`,
    event: 'test',
    probe: TEST_PROBE,
    location,
    incidentId: `${TEST_PROBE}-${id}`,
    since: at,
    at,
    consecutiveFailures: 0,
    summary: `TEST ${TEST_PROBE}: a test notification from \`probe alert test\`; no action needed`,
    error: null,
    labels: {},
  }
}
