/**
 * A reload keeps each built channel whose entry is unchanged (runtime.reload
 * → buildChannels with the previous set): the alerter then neither resumes it
 * nor re-posts its firing Alertmanager alerts. A changed entry is rebuilt.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Alerter, createAlerter } from '../../src/alerting/alerter.ts'
import { BUILTIN_POLICY } from '../../src/config/alert-policy.ts'
import { SecretMask } from '../../src/config/secrets.ts'
import { buildChannels, type ChannelSet, closeChannels } from '../../src/daemon/channels.ts'
import { alertingFileSchema } from '../../src/loader/alerting-schema.ts'
import { startServer } from '../alerting/channels/helpers.ts'
import { captureLogger, until } from '../alerting/fakes.ts'

let dir: string
const cleanups: (() => Promise<void>)[] = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smokeprobe-channels-'))
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await rm(dir, { recursive: true, force: true })
})

const secrets = new SecretMask()
const { logger } = captureLogger()
const load = (channels: Record<string, unknown>) => alertingFileSchema({ env: {}, secrets }).parse({ channels })
const PROBE = { name: 'items-crud', labels: {}, policy: { ...BUILTIN_POLICY, failureThreshold: 1, channels: ['am', 'chat'] } }

/** As runtime.reload does: build against the previous set, swap, reconfigure, close what was replaced. */
async function reload(alerter: Alerter, previous: ChannelSet, channels: Record<string, unknown>): Promise<ChannelSet> {
  const next = buildChannels(load(channels), { logger, secrets }, previous)
  alerter.setChannels(next.channels, next.identities)
  await alerter.configure([PROBE])
  await closeChannels(previous, next)
  return next
}

describe('channels across a reload', () => {
  it('an unchanged entry keeps its channel and posts nothing again; a changed one is rebuilt and resumed', async () => {
    const am = await startServer((_req, res) => res.writeHead(200).end())
    const hook = await startServer((_req, res) => res.writeHead(204).end())
    cleanups.push(am.close, hook.close)
    const entries = { am: { type: 'alertmanager', url: am.url, resendInterval: '1m' }, chat: { type: 'webhook', url: hook.url } }
    const first = buildChannels(load(entries), { logger, secrets })
    const alerter = createAlerter({ stateDir: dir, channels: first.channels, channelIdentities: first.identities, location: null, logger })
    let current = first
    cleanups.push(async () => {
      await alerter.close()
      await closeChannels(current)
    })
    await alerter.load()
    await alerter.configure([PROBE])
    await alerter.record({
      probe: 'items-crud',
      runId: 'run-1',
      startedAt: new Date().toISOString(),
      durationMs: 1,
      outcome: 'failure',
      failure: { step: 'read', kind: 'status', reason: 'status', message: 'read: expected status 200, got 500' },
      steps: [],
    })
    await until(() => am.received.length === 1 && hook.received.length === 1, 'the firing on both channels')

    const same = await reload(alerter, first, entries)
    current = same
    expect(same.channels.get('am')).toBe(first.channels.get('am'))
    expect(same.channels.get('chat')).toBe(first.channels.get('chat'))

    // Only the webhook's entry changes: it is rebuilt; the Alertmanager channel is still the first one.
    const moved = await reload(alerter, same, { ...entries, chat: { type: 'webhook', url: hook.url, timeout: '5s' } })
    current = moved
    expect(moved.channels.get('am')).toBe(first.channels.get('am'))
    expect(moved.channels.get('chat')).not.toBe(first.channels.get('chat'))
    expect(moved.channels.get('chat')?.timeoutMs).toBe(5_000)

    // A changed Alertmanager entry (same destination, another resendInterval) is rebuilt and told what fires.
    const resent = await reload(alerter, moved, { ...entries, am: { ...entries.am, resendInterval: '2m' } })
    current = resent
    expect(resent.channels.get('am')).not.toBe(first.channels.get('am'))
    await until(() => am.received.length >= 2, 'the rebuilt channel re-posting what fires')
    // endsAt is four intervals ahead: 4m from the first channel, 8m from the rebuilt one.
    const aheadMinutes = am.received.map((r) => {
      const [alert] = JSON.parse(r.body) as { endsAt: string }[]
      return Math.round((Date.parse(alert?.endsAt ?? '') - Date.now()) / 60_000)
    })
    // Neither reload before it posted again: the second post is the rebuilt channel's.
    expect(aheadMinutes).toEqual([4, 8])
    expect(hook.received).toHaveLength(1)
  })
})
