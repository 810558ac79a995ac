/**
 * Reload (SIGHUP, or `reload()` in-process): a broken file is refused and the
 * last good configuration keeps running, exported as
 * `probe_config_last_reload_successful 0` with the old `probe_config_info`;
 * a valid change swaps in with its new sha; a probe removed while firing gets
 * its resolve.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/loader/load.ts'
import type { Sample } from '../metrics/exposition.ts'
import { spawnDaemon } from './child.ts'
import {
  apiProbe,
  apiProbes,
  Cleanups,
  type Config,
  metric,
  probeFile,
  probeMetrics,
  scrape,
  startRuntime,
  waitFor,
  writeConfig,
} from './harness.ts'
import { startTarget, startWebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

/** The sha256 the daemon should export for the files as they are now (it names files relative to its working directory). */
async function shaOf(config: Config, cwd = process.cwd()): Promise<string> {
  const loaded = await loadConfig({ probePaths: [config.probesDir], alertingPath: config.alertingFile, env: {}, cwd })
  if (!loaded.ok) throw new Error('test files do not load')
  return loaded.config.sha256
}

function configInfo(samples: readonly Sample[]): string[] {
  return samples.filter((s) => s.name === 'probe_config_info').map((s) => s.labels.sha256 ?? '')
}

async function reloadState(url: string) {
  const samples = await scrape(url)
  return { shas: configInfo(samples), ok: samples.find((s) => s.name === 'probe_config_last_reload_successful')?.value }
}

async function moreRuns(url: string, probe: string, n: number): Promise<void> {
  const before = await probeMetrics(url, probe)
  const total = (m: typeof before) => m.runsOk + m.runsFailed
  await waitFor(`${n} more runs of ${probe}`, async () => total(await probeMetrics(url, probe)) >= total(before) + n)
}

describe('reload', () => {
  it('keeps the last good configuration on a broken file, swaps in a valid one, and resolves a probe removed while firing', async () => {
    const healthy = await startTarget('ok')
    const broken = await startTarget('fail')
    const hook = await startWebhookSink()
    cleanups.defer(() => Promise.all([healthy.close(), broken.close(), hook.close()]))
    const keep = probeFile({ name: 'keep', target: healthy.url, labels: { version: 'one' } })
    const alerting = {
      defaults: { failureThreshold: 2, channels: ['hook'] },
      channels: { hook: { type: 'webhook', url: `${hook.url}/hook` } },
    }
    const config = await writeConfig(cleanups, { probes: [keep, probeFile({ name: 'gone', target: broken.url })], alerting })
    const { runtime, url, logs } = await startRuntime(cleanups, config)
    const original = await shaOf(config)
    expect(await reloadState(url)).toEqual({ shas: [original], ok: 1 })
    await waitFor('the firing of gone', () => hook.delivered().some((p) => p.probe === 'gone'))

    // A broken probe file: refused, everything keeps running as before.
    await config.writeProbe('keep', { ...keep, intervall: '1s' })
    expect(await runtime.reload()).toBe(false)
    expect(await reloadState(url)).toEqual({ shas: [original], ok: 0 })
    expect(logs.some((line) => line.includes('configuration rejected') && line.includes('keep.yaml') && line.includes('intervall'))).toBe(
      true,
    )
    await moreRuns(url, 'keep', 2)
    expect((await apiProbes(url)).map((p) => p.name).sort()).toEqual(['gone', 'keep'])
    expect(await probeMetrics(url, 'gone')).toMatchObject({ firing: 1 })

    // A broken alerting file (and the probe file fixed): refused too.
    await config.writeProbe('keep', keep)
    await config.writeAlerting({ ...alerting, channels: { hook: { type: 'carrier-pigeon', url: `${hook.url}/hook` } } })
    expect(await runtime.reload()).toBe(false)
    expect(await reloadState(url)).toEqual({ shas: [original], ok: 0 })
    await moreRuns(url, 'gone', 1)

    // A valid change: the new sha, and the change in effect.
    await config.writeAlerting(alerting)
    await config.writeProbe('keep', { ...keep, labels: { version: 'two' } })
    const changed = await shaOf(config)
    expect(changed).not.toBe(original)
    expect(await runtime.reload()).toBe(true)
    expect(await reloadState(url)).toEqual({ shas: [changed], ok: 1 })
    expect((await apiProbe(url, 'keep')).labels).toEqual({ version: 'two' })
    expect(hook.delivered().map((p) => `${p.event} ${p.probe}`)).toEqual(['firing gone'])

    // The firing probe removed: its incident is resolved, its series are gone.
    await config.writeProbe('gone', null)
    expect(await runtime.reload()).toBe(true)
    expect((await reloadState(url)).shas).toEqual([await shaOf(config)])
    await waitFor('the resolve of the removed probe', () => hook.delivered().some((p) => p.event === 'resolved'))
    const [firing, resolved] = hook.delivered()
    expect(resolved).toMatchObject({ event: 'resolved', probe: 'gone', incidentId: firing?.incidentId })
    expect((await apiProbes(url)).map((p) => p.name)).toEqual(['keep'])
    expect(await metric(url, 'probe_alert_firing', { probe: 'gone' })).toBeUndefined()
    await moreRuns(url, 'keep', 2)
    expect(hook.delivered()).toHaveLength(2)
  }, 60_000)

  it('reloads on SIGHUP: a broken file is refused and logged, the daemon keeps running; a fixed one is taken', async () => {
    const target = await startTarget('ok')
    cleanups.defer(() => target.close())
    const probe = probeFile({ name: 'hup', target: target.url })
    const config = await writeConfig(cleanups, { probes: [probe], alerting: { channels: {} } })
    const daemon = await spawnDaemon(cleanups, config)
    const original = await shaOf(config, config.dir)
    expect(await reloadState(daemon.url)).toEqual({ shas: [original], ok: 1 })
    // Started by bin/probe.js from a tree vitest built (test/support/build-bundle.ts): the bundle, and it says so.
    expect(daemon.logs().find((line) => line.msg === 'smokeprobe started')).toMatchObject({ code: 'bundle' })

    await config.writeProbe('hup', 'name: hup\nsteps: [\n')
    daemon.process.kill('SIGHUP')
    await waitFor('the reload to be refused', async () => (await reloadState(daemon.url)).ok === 0)
    expect((await reloadState(daemon.url)).shas).toEqual([original])
    await waitFor('the refusal in the log', () =>
      daemon.logs().some((line) => line.msg.includes('configuration rejected') && line.file === `${config.probesDir}/hup.yaml`),
    )
    await moreRuns(daemon.url, 'hup', 2)
    expect(daemon.process.exitCode).toBeNull()

    await config.writeProbe('hup', { ...probe, description: 'reloaded' })
    daemon.process.kill('SIGHUP')
    const changed = await shaOf(config, config.dir)
    await waitFor('the reload to be taken', async () => (await reloadState(daemon.url)).ok === 1)
    expect((await reloadState(daemon.url)).shas).toEqual([changed])
    expect((await apiProbe(daemon.url, 'hup')).description).toBe('reloaded')
    await moreRuns(daemon.url, 'hup', 1)
  }, 60_000)

  it('sends a pending notification to the channel as reloaded, and pages a channel added mid-incident', async () => {
    const target = await startTarget('fail')
    const old = await startWebhookSink()
    await old.down()
    const fixed = await startWebhookSink()
    const added = await startWebhookSink()
    cleanups.defer(() => Promise.all([target.close(), old.close(), fixed.close(), added.close()]))
    const probe = probeFile({ name: 'pay', target: target.url })
    const alerting = (url: string, channels: string[]) => ({
      defaults: { failureThreshold: 2, channels },
      channels: { hook: { type: 'webhook', url }, extra: { type: 'webhook', url: added.url } },
    })
    const config = await writeConfig(cleanups, { probes: [probe], alerting: alerting(old.url, ['hook']) })
    const { runtime, url } = await startRuntime(cleanups, config)
    await waitFor('the firing to wait in the outbox', async () => ((await probeMetrics(url, 'pay')).firing ?? 0) === 1)

    // The webhook URL was wrong; the fix arrives by reload while the firing is still undelivered.
    await config.writeAlerting(alerting(fixed.url, ['hook', 'extra']))
    expect(await runtime.reload()).toBe(true)
    await waitFor('the firing on both channels', () => fixed.delivered().length > 0 && added.delivered().length > 0)
    await moreRuns(url, 'pay', 2)
    target.mode = 'ok'
    await waitFor('the resolve on both channels', () => fixed.delivered().length > 1 && added.delivered().length > 1)
    await moreRuns(url, 'pay', 2)
    for (const sink of [fixed, added]) expect(sink.delivered().map((p) => p.event)).toEqual(['firing', 'resolved'])
    expect(fixed.delivered()[0]?.incidentId).toBe(added.delivered()[0]?.incidentId)
    expect(old.requests).toHaveLength(0)
  }, 60_000)
})
