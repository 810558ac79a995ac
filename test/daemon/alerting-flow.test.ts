/**
 * Issue 3 "Done when": a probe at 1 s against a target that starts failing,
 * email + webhook + PagerDuty on loopback. One firing per channel after the
 * fifth failure, none more across a restart, one resolved after recovery,
 * and /metrics and /api/probes telling the same story at every phase.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  apiProbe,
  Cleanups,
  type Config,
  metric,
  probeFile,
  probeMetrics,
  readState,
  startRuntime,
  waitFor,
  writeConfig,
} from './harness.ts'
import {
  type PagerDutySink,
  type SmtpSink,
  startPagerDutySink,
  startSmtpSink,
  startTarget,
  startWebhookSink,
  type WebhookSink,
} from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const PROBE = 'checkout'
const ENV = { PD_ROUTING_KEY: 'pd-routing-key-0123456789abcdef' }

interface Sinks {
  readonly hook: WebhookSink
  readonly pager: PagerDutySink
  readonly smtp: SmtpSink
}

async function setup(target: string): Promise<{ config: Config; sinks: Sinks }> {
  const hook = await startWebhookSink()
  // The first trigger is throttled: the daemon must wait (Retry-After) and try again, once.
  const pager = await startPagerDutySink([429])
  pager.retryAfterSeconds = 1
  const smtp = await startSmtpSink()
  cleanups.defer(() => Promise.all([hook.close(), pager.close(), smtp.close()]))
  const config = await writeConfig(cleanups, {
    probes: [probeFile({ name: PROBE, target, labels: { team: 'shop' } })],
    alerting: {
      defaults: { failureThreshold: 5, successThreshold: 1, channels: ['mail', 'hook', 'pager'] },
      channels: {
        mail: {
          type: 'email',
          timeout: '2s',
          smtp: { host: '127.0.0.1', port: smtp.port },
          from: 'smokeprobe@example.com',
          to: ['oncall@example.com'],
        },
        hook: { type: 'webhook', timeout: '2s', url: `${hook.url}/hook` },
        pager: { type: 'pagerduty', timeout: '2s', routingKey: '{{ env.PD_ROUTING_KEY }}', url: pager.url },
      },
    },
  })
  return { config, sinks: { hook, pager, smtp } }
}

/** Everything each sink has been sent (answered or not), by event. */
function sent(sinks: Sinks) {
  const hook = sinks.hook.requests.map((r) => (JSON.parse(r.body) as { event: string }).event)
  const pager = sinks.pager.requests.map((r) => (JSON.parse(r.body) as { event_action: string }).event_action)
  const mail = sinks.smtp.inbox.map((m) => m.event)
  const count = (events: string[], event: string) => events.filter((e) => e === event).length
  return {
    total: hook.length + pager.length + mail.length,
    hookFiring: count(hook, 'firing'),
    hookResolved: count(hook, 'resolved'),
    pagerTrigger: count(pager, 'trigger'),
    pagerResolve: count(pager, 'resolve'),
    mailFiring: count(mail, 'firing'),
    mailResolved: count(mail, 'resolved'),
  }
}

/** Delivered (acknowledged) notices per channel and event. */
function delivered(sinks: Sinks) {
  const hook = sinks.hook.delivered().map((p) => p.event)
  const pager = sinks.pager.accepted().map((e) => e.event_action)
  const mail = sinks.smtp.inbox.map((m) => m.event)
  const count = (events: string[], event: string) => events.filter((e) => e === event).length
  return {
    firing: { mail: count(mail, 'firing'), hook: count(hook, 'firing'), pager: count(pager, 'trigger') },
    resolved: { mail: count(mail, 'resolved'), hook: count(hook, 'resolved'), pager: count(pager, 'resolve') },
    total: mail.length + hook.length + pager.length,
  }
}

describe('alerting flow: email, webhook and PagerDuty on loopback', () => {
  it('fires once per channel after the fifth failure, not again across a restart, and resolves once', async () => {
    const target = await startTarget('ok')
    cleanups.defer(() => target.close())
    const { config, sinks } = await setup(target.url)

    // Phase 1: healthy.
    const first = await startRuntime(cleanups, config, { env: ENV })
    await waitFor('a passing run', async () => (await probeMetrics(first.url, PROBE)).success === 1)
    expect(await probeMetrics(first.url, PROBE)).toMatchObject({ success: 1, consecutiveFailures: 0, firing: 0 })
    expect((await apiProbe(first.url, PROBE)).alert.state).toBe('ok')

    // Phase 2: failing, below the threshold. The sinks are read before the scrape
    // that shows 4 failures, so they cannot include anything decided at the fifth.
    target.mode = 'fail'
    const atFour = await waitFor('four consecutive failures', async () => {
      const before = sent(sinks)
      const m = await probeMetrics(first.url, PROBE)
      return m.consecutiveFailures === 4 ? { before, m } : null
    })
    expect(atFour.before.total).toBe(0)
    expect(atFour.m).toMatchObject({ success: 0, firing: 0 })
    const failing = await apiProbe(first.url, PROBE)
    expect(failing.alert.state).toMatch(/failing|firing/)
    expect(failing.lastRun?.failure?.step).toBe('check')

    // Phase 3: the fifth failure fires, once per channel.
    await waitFor('the firing on every channel', () => {
      const d = delivered(sinks).firing
      return d.mail >= 1 && d.hook >= 1 && d.pager >= 1
    })
    expect(delivered(sinks)).toEqual({ firing: { mail: 1, hook: 1, pager: 1 }, resolved: { mail: 0, hook: 0, pager: 0 }, total: 3 })
    const [firing] = sinks.hook.delivered()
    expect(firing).toMatchObject({ event: 'firing', probe: PROBE, consecutiveFailures: 5, labels: { team: 'shop' } })
    expect(firing?.error?.step).toBe('check')
    expect(firing?.error?.message).toContain('503')
    expect(sinks.smtp.inbox[0]?.subject).toMatch(new RegExp(`FIRING ${PROBE}`))
    expect(sinks.smtp.inbox[0]?.to).toEqual(['oncall@example.com'])
    // PagerDuty: the 429 was honoured (Retry-After: 1) and the same trigger sent again.
    const [throttled, trigger] = sinks.pager.requests
    expect([throttled?.answer, trigger?.answer]).toEqual([429, 202])
    expect(trigger!.at - throttled!.at).toBeGreaterThanOrEqual(900)
    expect(JSON.parse(trigger!.body)).toEqual(JSON.parse(throttled!.body))
    const triggerEvent = sinks.pager.accepted()[0]!
    expect(triggerEvent.payload?.custom_details.consecutiveFailures).toBe(5)
    expect(triggerEvent.dedup_key).toBe(firing?.incidentId)

    const firingMetrics = await probeMetrics(first.url, PROBE)
    expect(firingMetrics).toMatchObject({ success: 0, firing: 1 })
    expect(firingMetrics.consecutiveFailures).toBeGreaterThanOrEqual(5)
    const firingStatus = await apiProbe(first.url, PROBE)
    expect(firingStatus.alert.state).toBe('firing')
    expect(firingStatus.alert.since).toBe(firing?.since)
    expect(firingStatus.consecutiveFailures).toBeGreaterThanOrEqual(5)
    const page = await (await fetch(`${first.url}/`)).text()
    expect(page).toContain('<section class="probe firing"')
    // The reason, then the response's excerpt (SPEC "Failure evidence"), escaped, and who was told.
    expect(page).toContain('<p class="reason">check: expected status 200, got 503</p>')
    expect(page).toContain('reason status · response 503, application/json</p><pre class="excerpt">{&#34;status&#34;:&#34;down&#34;}</pre>')
    expect(page).toMatch(/Notified: .*hook: firing sent/)
    for (const channel of ['mail', 'hook', 'pager']) {
      expect(await metric(first.url, 'probe_notifications_total', { channel, event: 'firing', result: 'sent' })).toBe(1)
    }

    // Phase 4: restart while still failing; several more failed runs page nobody.
    await first.stop()
    expect((await readState(config))?.probes[PROBE]?.state.kind).toBe('firing')
    const second = await startRuntime(cleanups, config, { env: ENV })
    expect(await probeMetrics(second.url, PROBE)).toMatchObject({ firing: 1 })
    expect((await apiProbe(second.url, PROBE)).alert.state).toBe('firing')
    // Six: a daemon that forgot the incident would have paged again at its fifth.
    await waitFor('six failed runs after the restart', async () => (await probeMetrics(second.url, PROBE)).runsFailed >= 6, 30_000)
    const afterRestart = await probeMetrics(second.url, PROBE)
    expect(afterRestart).toMatchObject({ success: 0, firing: 1 })
    expect(afterRestart.consecutiveFailures).toBeGreaterThanOrEqual(11)
    expect(sent(sinks)).toMatchObject({ hookFiring: 1, pagerTrigger: 2, mailFiring: 1, hookResolved: 0, pagerResolve: 0, mailResolved: 0 })

    // Phase 5: recovery resolves once per channel, on the same incident.
    target.mode = 'ok'
    await waitFor('the resolve on every channel', () => {
      const d = delivered(sinks).resolved
      return d.mail >= 1 && d.hook >= 1 && d.pager >= 1
    })
    await waitFor('two passing runs', async () => (await probeMetrics(second.url, PROBE)).runsOk >= 2)
    expect(delivered(sinks)).toEqual({ firing: { mail: 1, hook: 1, pager: 1 }, resolved: { mail: 1, hook: 1, pager: 1 }, total: 6 })
    expect(sent(sinks)).toMatchObject({ hookFiring: 1, hookResolved: 1, pagerTrigger: 2, pagerResolve: 1, mailFiring: 1, mailResolved: 1 })
    const resolved = sinks.hook.delivered().find((p) => p.event === 'resolved')
    expect(resolved).toMatchObject({ probe: PROBE, incidentId: firing?.incidentId, since: firing?.since, error: null })
    const resolveEvent = sinks.pager.accepted().find((e) => e.event_action === 'resolve')
    expect(resolveEvent?.dedup_key).toBe(triggerEvent.dedup_key)
    expect(sinks.smtp.inbox.find((m) => m.event === 'resolved')?.subject).toMatch(new RegExp(`RESOLVED ${PROBE}`))
    expect(await probeMetrics(second.url, PROBE)).toMatchObject({ success: 1, consecutiveFailures: 0, firing: 0 })
    const recovered = await apiProbe(second.url, PROBE)
    expect(recovered.alert.state).toBe('ok')
    expect(recovered.consecutiveFailures).toBe(0)
    expect(recovered.lastRun?.outcome).toBe('success')
  }, 90_000)
})
