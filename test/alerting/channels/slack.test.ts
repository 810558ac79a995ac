import { afterEach, describe, expect, it } from 'vitest'
import { channelHash, createChannel } from '../../../src/alerting/channels/index.ts'
import type { SlackMessage } from '../../../src/alerting/channels/slack.ts'
import type { NotificationEvent } from '../../../src/alerting/notification.ts'
import { alertingSecretUses } from '../../../src/config/secret-use.ts'
import { SecretMask } from '../../../src/config/secrets.ts'
import { alertingFileSchema } from '../../../src/loader/alerting-schema.ts'
import { deps, ENV, evidenceNotification, loadChannel, noSignal, notification, startServer } from './helpers.ts'

/** The Slack channel against a real incoming-webhook stand-in on 127.0.0.1. */
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

/** A Slack stand-in: `200 ok`, or the status and plain-text error Slack answers with. */
async function slackHook(status = 200, body = 'ok', headers: Record<string, string> = {}) {
  const s = await startServer((_req, res) => res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body))
  cleanups.push(s.close)
  return s
}

/** The hook's path is the secret part of a real Slack URL: here it comes from the environment. */
function slackTo(base: string, entry: Record<string, unknown> = {}) {
  const { config, secrets } = loadChannel('slack', { url: `${base}/services/{{ env.SECRET_PATH }}`, ...entry })
  return { channel: createChannel(config, deps(secrets)), config, secrets }
}

const posted = (s: { received: { body: string }[] }, index = 0) => JSON.parse(s.received[index]?.body ?? '') as SlackMessage

describe('slack channel', () => {
  it('posts text and blocks to the hook URL and is ok on 200 ok', async () => {
    const s = await slackHook()
    const { channel } = slackTo(s.url)
    expect(await channel.send(notification(), noSignal())).toEqual({ ok: true })
    expect(s.received).toHaveLength(1)
    expect(s.received[0]).toMatchObject({ method: 'POST', url: `/services/${ENV.SECRET_PATH}` })
    expect(s.received[0]?.headers['content-type']).toBe('application/json')
    const message = posted(s)
    expect(message.text).toBe('FIRING items-crud from eu-1: 5 consecutive failures since 2026-01-01T10:00:00.000Z')
    expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context'])
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'FIRING items-crud' } })
    expect(JSON.stringify(message.blocks)).toContain('*Failure:* `read: expected status 200, got 500`')
    expect(JSON.stringify(message.blocks)).toContain('team=storefront')
  })

  it.each<[NotificationEvent, string]>([
    ['firing', 'FIRING items-crud from eu-1: 5 consecutive failures since 2026-01-01T10:00:00.000Z'],
    ['reminder', 'REMINDER items-crud from eu-1: still failing since 2026-01-01T10:00:00.000Z'],
    ['resolved', 'RESOLVED items-crud from eu-1: passing again (failing since 2026-01-01T10:00:00.000Z)'],
    ['test', 'TEST items-crud from eu-1: a test notification from `probe alert test`; no action needed'],
  ])('says what a %s is', async (event, text) => {
    const s = await slackHook()
    const { channel } = slackTo(s.url)
    expect(channel.events.has(event)).toBe(true)
    expect(await channel.send(notification({ event }), noSignal())).toEqual({ ok: true })
    const message = posted(s)
    expect(message.text).toBe(text)
    // The failing step is shown only while the probe fails.
    expect(JSON.stringify(message.blocks).includes('*Failure:*')).toBe(event === 'firing' || event === 'reminder')
  })

  it('is edge-triggered: one message per event, no resume', () => {
    const { channel } = slackTo('http://127.0.0.1:9')
    expect(channel.levelTriggered).toBe(false)
    expect(channel.resume).toBeUndefined()
    expect(channel.type).toBe('slack')
    expect(channel.timeoutMs).toBe(10_000)
  })

  it('masks the hook secret where a failure quoted it, and escapes what Slack would turn into a mention or link', async () => {
    const s = await slackHook()
    const { channel } = slackTo(s.url)
    const leaky = notification({
      summary: `FIRING items-crud: <!channel> hook ${ENV.SECRET_PATH}`,
      error: { step: 'read', message: `read: GET /items?token=${ENV.SECRET_PATH} said <@U123> & \`x\`` },
    })
    await channel.send(leaky, noSignal())
    const body = s.received[0]?.body ?? ''
    expect(body).not.toContain(ENV.SECRET_PATH)
    expect(body).not.toContain('<!channel>')
    expect(body).not.toContain('<@U123>')
    expect(JSON.stringify(posted(s).blocks)).toContain("*Failure:* `read: GET /items?token=*** said &lt;@U123&gt; &amp; 'x'`")
  })

  it.each([400, 403, 404, 410])('HTTP %i (bad payload, missing or archived channel) is not retried', async (status) => {
    const s = await slackHook(status, 'channel_not_found')
    const { channel } = slackTo(s.url)
    expect(await channel.send(notification(), noSignal())).toEqual({
      ok: false,
      retryable: false,
      reason: `HTTP ${status}: channel_not_found`,
    })
  })

  it('429 is retried after the Retry-After Slack asks for; 5xx is retried', async () => {
    const limited = await slackHook(429, 'rate_limited', { 'retry-after': '2' })
    expect(await slackTo(limited.url).channel.send(notification(), noSignal())).toEqual({
      ok: false,
      retryable: true,
      reason: 'HTTP 429: rate_limited',
      retryAfterMs: 2_000,
    })
    const broken = await slackHook(500, 'rollup_error')
    expect(await slackTo(broken.url).channel.send(notification(), noSignal())).toMatchObject({ ok: false, retryable: true })
  })

  it('a hook that never answers ends the attempt at the channel timeout', async () => {
    const s = await startServer(() => {})
    cleanups.push(s.close)
    const { channel } = slackTo(s.url, { timeout: '200ms' })
    expect(await channel.send(notification(), noSignal())).toEqual({ ok: false, retryable: true, reason: 'timed out after 200ms' })
  })

  it('the URL is the identity: another hook is another channel, the timeout is not', () => {
    const hash = (entry: Record<string, unknown>) => channelHash(loadChannel('slack', entry).config)
    const url = 'https://hooks.slack.test/services/T0/B0/abc'
    expect(hash({ url })).toBe(hash({ url, timeout: '30s' }))
    expect(hash({ url })).not.toBe(hash({ url: 'https://hooks.slack.test/services/T0/B0/def' }))
    expect(hash({ url })).not.toContain('abc')
  })

  it('loads from alerting.yaml: the URL from the environment is a secret; a bad URL is refused', () => {
    const secrets = new SecretMask()
    const raw = { channels: { chat: { type: 'slack', url: 'https://hooks.slack.test/services/{{ env.SECRET_PATH }}' } } }
    // Which names are secrets is decided as the loader does: by their use in the channel's credential fields.
    const secretNames = new Map<string, string[]>()
    alertingSecretUses(raw, 'alerting.yaml', secretNames)
    const schema = alertingFileSchema({ env: ENV, secrets, secretNames })
    const file = schema.parse(raw)
    expect(file.channels.chat).toEqual({ type: 'slack', timeout: 10_000, url: `https://hooks.slack.test/services/${ENV.SECRET_PATH}` })
    expect(secrets.mask(`posting to ${ENV.SECRET_PATH}`)).toBe('posting to ***')
    expect(schema.safeParse({ channels: { chat: { type: 'slack', url: 'hooks.slack.test' } } }).success).toBe(false)
    expect(schema.safeParse({ channels: { chat: { type: 'slack', url: 'https://x.test', channel: '#ops' } } }).success).toBe(false)
  })
})

describe('slack channel: failure evidence', () => {
  it('shows the response body in a code block: the echoed secret masked, mentions escaped, the fence unbreakable', async () => {
    const s = await slackHook()
    const { channel } = slackTo(s.url)
    await channel.send(evidenceNotification(ENV.SECRET_PATH), noSignal())
    const body = s.received[0]?.body ?? ''
    expect(body).not.toContain(ENV.SECRET_PATH)
    expect(body).not.toContain('<!channel>')
    expect(JSON.stringify(posted(s).blocks)).toContain(
      JSON.stringify("*Response body:*\n```{\"error\":\"db down\",\"echo\":\"***\",\"note\":\"&lt;!channel&gt; '''\"}```").slice(1, -1),
    )
  })

  it('leaves the body out of the resolve', async () => {
    const s = await slackHook()
    const { channel } = slackTo(s.url)
    await channel.send(evidenceNotification(ENV.SECRET_PATH, { event: 'resolved', id: 'inc1234-resolved' }), noSignal())
    expect(JSON.stringify(posted(s).blocks)).not.toContain('Response body')
  })
})
