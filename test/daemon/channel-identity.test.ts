/**
 * A reload that points a channel at another PagerDuty service mid-incident
 * (review M2), end to end: the daemon hashes each channel's destination, so
 * the old service gets the resolve of the trigger it saw and the new one gets
 * a trigger before its resolve. Real loopback servers.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Cleanups, probeFile, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startPagerDutySink, startTarget } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

describe('channel identity across a reload', () => {
  it('a changed routing key: the old key gets the resolve, the new key the trigger and later its resolve', async () => {
    const target = await startTarget('fail')
    const pd = await startPagerDutySink()
    cleanups.defer(() => Promise.all([target.close(), pd.close()]))
    const alerting = (routingKey: string) => ({
      defaults: { failureThreshold: 2, channels: ['pager'] },
      channels: { pager: { type: 'pagerduty', routingKey, url: pd.url } },
    })
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'items', target: target.url })],
      alerting: alerting('key-one'),
    })
    const { runtime } = await startRuntime(cleanups, config)
    const events = () => pd.accepted().map((e) => `${e.event_action}:${e.routing_key}`)
    await waitFor('the trigger on the old key', () => events().includes('trigger:key-one'))

    await config.writeAlerting(alerting('key-two'))
    expect(await runtime.reload()).toBe(true)
    await waitFor(
      'resolve on the old key, trigger on the new',
      () => events().includes('resolve:key-one') && events().includes('trigger:key-two'),
    )
    target.mode = 'ok'
    await waitFor('the resolve on the new key', () => events().includes('resolve:key-two'))

    expect(events().sort()).toEqual(['resolve:key-one', 'resolve:key-two', 'trigger:key-one', 'trigger:key-two'])
    expect(events().indexOf('trigger:key-two')).toBeLessThan(events().indexOf('resolve:key-two'))
    expect(new Set(pd.accepted().map((e) => e.dedup_key)).size).toBe(1)
  })
})
