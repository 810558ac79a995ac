/**
 * A configuration the daemon must refuse at startup: `probe validate` and
 * `probe run` both exit 2 and name the file, the field and the reason; the
 * daemon does not start (nothing listens, no state is written).
 */
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { CHANNELS } from '../../src/alerting/channels/index.ts'
import { probeCli } from './child.ts'
import { Cleanups, probeFile, writeConfig } from './harness.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const CASES = [
  {
    what: 'an alerting file with an unknown channel type',
    probes: [probeFile({ name: 'api', target: 'http://127.0.0.1:9' })],
    alerting: { channels: { team: { type: 'carrier-pigeon', url: 'http://127.0.0.1:9/hook' } } },
    // Every type of the channel table, so that adding a channel changes nothing here.
    message: `alerting.yaml: channels.team.type: unknown channel type "carrier-pigeon" (expected ${Object.keys(CHANNELS).join(', ')})`,
  },
  {
    what: 'a probe naming a channel that does not exist',
    probes: [probeFile({ name: 'api', target: 'http://127.0.0.1:9', alert: { channels: ['hook', 'pager'] } })],
    alerting: { channels: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' } } },
    message: 'probes/api.yaml: alert.channels[1]: unknown channel "pager" (alerting.yaml defines: hook)',
  },
]

describe('startup with an invalid configuration', () => {
  it.each(CASES)('refuses $what with exit 2 from validate and from run', async ({ probes, alerting, message }) => {
    const config = await writeConfig(cleanups, { probes, alerting })
    const files = ['--probes', 'probes', '--alerting', 'alerting.yaml']
    const [validate, run] = await Promise.all([
      probeCli(['validate', ...files], config.dir),
      probeCli(['run', ...files, '--listen', '127.0.0.1:0', '--state-dir', 'state'], config.dir),
    ])
    for (const result of [validate, run]) {
      expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 2, stderr: expect.stringContaining(message) })
    }
    expect(validate.stdout).toBe('')
    expect(run.stderr).toContain('probe run: not started')
    expect(run.stdout).not.toContain('smokeprobe started')
    expect(existsSync(config.stateDir)).toBe(false)
  })

  it('refuses to start when the listen address is taken: exit 2 with the reason', async () => {
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'api', target: 'http://127.0.0.1:9' })],
      alerting: { channels: {} },
    })
    const taken = createServer().listen(0, '127.0.0.1')
    await once(taken, 'listening')
    cleanups.defer(() => new Promise((resolve) => taken.close(resolve)))
    const { port } = taken.address() as AddressInfo
    const run = await probeCli(
      ['run', '--probes', 'probes', '--alerting', 'alerting.yaml', '--listen', `127.0.0.1:${port}`, '--state-dir', 'state'],
      config.dir,
    )
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the address is already in use`)
    expect(existsSync(config.stateDir)).toBe(false)
  })
})
