/**
 * The state file at start: garbage, truncated or empty is reported, set
 * aside and replaced, never a crash (one that exists but cannot be read
 * stops the start: state-dir.test.ts); a probe that left the configuration
 * while the daemon was down and firing still gets its resolve.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { Cleanups, createInProcess, probeFile, probeMetrics, readState, startRuntime, waitFor, writeConfig } from './harness.ts'
import { startTarget, startWebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const TRUNCATED = '{\n  "version": 1,\n  "probes": {\n    "api": {\n      "policy": {\n        "failureThreshold": 5,\n        "succ'

const BROKEN: Record<string, { content: string }> = {
  'a garbage': { content: '\u0000\u00ff not json at all \u0001' },
  'a truncated': { content: TRUNCATED },
  'an empty': { content: '' },
}

describe('state file at start', () => {
  it.each(Object.entries(BROKEN))('starts with %s state file: warns, sets it aside, runs and alerts', async (_, broken) => {
    const target = await startTarget('fail')
    const hook = await startWebhookSink()
    cleanups.defer(() => Promise.all([target.close(), hook.close()]))
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'api', target: target.url })],
      alerting: { defaults: { failureThreshold: 2, channels: ['hook'] }, channels: { hook: { type: 'webhook', url: hook.url } } },
    })
    await mkdir(config.stateDir)
    await writeFile(config.stateFile, broken.content)

    const daemon = await startRuntime(cleanups, config)
    const warning = daemon.logs
      .map((line) => JSON.parse(line) as { msg: string; reason?: string })
      .find((l) => l.msg.includes('could not be restored'))
    expect(warning?.reason).toContain(config.stateFile)
    // The daemon works as if it had no state: it counts, fires and writes state.
    await waitFor('the firing', () => hook.delivered().length > 0)
    expect(await probeMetrics(daemon.url, 'api')).toMatchObject({ firing: 1 })
    expect(await readFile(`${config.stateFile}.corrupt`, 'utf8')).toBe(broken.content)
    expect((await readState(config))?.probes.api?.state.kind).toBe('firing')
  })

  it('resolves at start a probe that was firing when the daemon stopped and was removed meanwhile', async () => {
    const target = await startTarget('fail')
    const other = await startTarget('ok')
    const hook = await startWebhookSink()
    cleanups.defer(() => Promise.all([target.close(), other.close(), hook.close()]))
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'legacy', target: target.url }), probeFile({ name: 'current', target: other.url })],
      alerting: { defaults: { failureThreshold: 2, channels: ['hook'] }, channels: { hook: { type: 'webhook', url: hook.url } } },
    })
    const first = await startRuntime(cleanups, config)
    await waitFor('the firing', () => hook.delivered().length > 0)
    await first.stop()

    await config.writeProbe('legacy', null)
    const second = createInProcess(config)
    cleanups.defer(() => second.runtime.stop())
    expect((await second.runtime.start()).ok).toBe(true)
    await waitFor('the resolve', () => hook.delivered().some((p) => p.event === 'resolved'))
    expect(hook.delivered().map((p) => `${p.event} ${p.probe}`)).toEqual(['firing legacy', 'resolved legacy'])
    expect(hook.delivered()[1]?.incidentId).toBe(hook.delivered()[0]?.incidentId)
    expect(Object.keys((await readState(config))?.probes ?? {})).toEqual(['current'])
  })
})
