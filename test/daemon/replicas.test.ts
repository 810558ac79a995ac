/**
 * Issue 10 "Replicas agree": two real `probe run` processes with the same
 * configuration and `--location`, each with its own state directory, one
 * PagerDuty sink. The incident id comes from the scheduled slot that opened
 * it, so both triggers and both resolves carry one dedup_key.
 */
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { incidentId } from '../../src/alerting/notify.ts'
import { stableOffset } from '../../src/scheduler/plan.ts'
import { spawnDaemon } from './child.ts'
import { Cleanups, probeFile, sleep, waitFor, writeConfig } from './harness.ts'
import { startPagerDutySink, startTarget, startWebhookSink, type TargetMode } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const PROBE = 'checkout'
const INTERVAL_MS = 1_000
const ENV = { PD_ROUTING_KEY: 'pd-routing-key-0123456789abcdef' }

/**
 * Switches the target half-way between two slots of the probe: both replicas
 * run each slot within milliseconds of each other, so both see the change at
 * the same slot, as two replicas watching one outage would. Resolves to
 * that slot: the first run to see the change.
 */
async function switchBetweenSlots(target: { mode: TargetMode }, mode: TargetMode): Promise<Date> {
  const offset = stableOffset(PROBE, INTERVAL_MS)
  const now = Date.now()
  const nextSlot = Math.floor((now - offset) / INTERVAL_MS) * INTERVAL_MS + offset + INTERVAL_MS
  const midway = nextSlot - INTERVAL_MS / 2
  const at = midway > now ? midway : midway + INTERVAL_MS
  await sleep(at - now)
  target.mode = mode
  return new Date(at + INTERVAL_MS / 2)
}

describe('two replicas of one location', () => {
  it('send triggers and resolves with the same dedup_key', async () => {
    const target = await startTarget('ok')
    const pager = await startPagerDutySink()
    const hook = await startWebhookSink()
    cleanups.defer(() => Promise.all([target.close(), pager.close(), hook.close()]))
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: PROBE, target: target.url, interval: '1s', timeout: '400ms' })],
      alerting: {
        defaults: { failureThreshold: 2, successThreshold: 1, channels: ['pager', 'hook'] },
        channels: {
          pager: { type: 'pagerduty', timeout: '2s', routingKey: '{{ env.PD_ROUTING_KEY }}', url: pager.url },
          hook: { type: 'webhook', timeout: '2s', url: `${hook.url}/hook` },
        },
      },
    })
    const replicas = await Promise.all(
      ['a', 'b'].map((name) =>
        spawnDaemon(cleanups, config, ENV, ['--location', 'eu-west', '--state-dir', path.join(config.dir, `state-${name}`)]),
      ),
    )
    // Both have run: the outage below starts while both are watching.
    await waitFor('both replicas ran', () =>
      replicas.every((replica) => replica.logs().some((line) => line.msg === 'run finished' && line.probe === PROBE)),
    )
    const opened = await switchBetweenSlots(target, 'fail')
    const triggers = await waitFor('two triggers', () => {
      const sent = pager.accepted().filter((e) => e.event_action === 'trigger')
      return sent.length >= 2 ? sent : null
    })
    await switchBetweenSlots(target, 'ok')
    const resolves = await waitFor('two resolves', () => {
      const sent = pager.accepted().filter((e) => e.event_action === 'resolve')
      return sent.length >= 2 ? sent : null
    })
    const key = triggers[0]?.dedup_key
    // Named by the slot that opened it, not by when either process happened to start its run.
    expect(key).toBe(incidentId(PROBE, 'eu-west', opened.toISOString()))
    expect(triggers.map((e) => e.dedup_key)).toEqual([key, key])
    expect(resolves.map((e) => e.dedup_key)).toEqual([key, key])
    // One incident between them, not one per replica, each process a page of its own.
    expect(new Set(pager.accepted().map((e) => e.dedup_key))).toEqual(new Set([key]))
    // The webhook's Idempotency-Key agrees too: one per event, the same from both replicas.
    await waitFor('two webhook resolves', () => hook.delivered().filter((n) => n.event === 'resolved').length >= 2)
    const keys = (event: string) =>
      hook.requests.filter((r) => (JSON.parse(r.body) as { event: string }).event === event).map((r) => r.headers['idempotency-key'])
    expect(keys('firing')).toEqual([`${key}-firing`, `${key}-firing`])
    expect(keys('resolved')).toEqual([`${key}-resolved`, `${key}-resolved`])
  }, 60_000)
})
