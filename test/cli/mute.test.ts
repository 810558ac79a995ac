/**
 * `probe mute` as a pipeline runs it: a real `probe` process against a real
 * daemon process on loopback. The token comes from the environment (never
 * argv); exit 0 done, 1 refused or unreachable, 2 usage.
 */
import { readFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { MUTES_FILE } from '../../src/judge/mute-store.ts'
import { probeCli, spawnDaemon } from '../daemon/child.ts'
import { Cleanups, metric, probeFile, waitFor, writeConfig } from '../daemon/harness.ts'
import { startTarget } from '../daemon/sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const TOKEN = 'cli-mute-token-0123456789abcdef'

async function daemon() {
  const target = await startTarget('ok')
  cleanups.defer(() => target.close())
  const config = await writeConfig(cleanups, {
    probes: [probeFile({ name: 'items-crud', target: target.url })],
    alerting: { channels: {}, api: { token: '{{ secret.MUTES_TOKEN }}' } },
  })
  const child = await spawnDaemon(cleanups, config, { MUTES_TOKEN: TOKEN })
  return { config, child }
}

describe('probe mute', () => {
  it('adds, lists and deletes a mute on a running daemon', async () => {
    const { config, child } = await daemon()
    const env = { SMOKEPROBE_API_TOKEN: TOKEN }
    const added = await probeCli(
      ['mute', '--probe', 'items-crud', '--for', '30m', '--reason', 'deploy 42', '--url', child.url],
      config.dir,
      env,
    )
    expect(added.stderr).toBe('')
    expect(added.code).toBe(0)
    const id = /\(id ([0-9a-f]+)\)/.exec(added.stdout)?.[1]
    expect(added.stdout).toMatch(/^muted items-crud until \d{4}-.*: deploy 42\n$/)
    expect(id).toBeDefined()
    await waitFor('probe_muted 1', async () => (await metric(child.url, 'probe_muted', { probe: 'items-crud' })) === 1, 5_000)
    // The daemon logged it with its reason, and wrote it to the state dir.
    expect(child.logs().some((line) => line.msg === 'mute added' && line.reason === 'deploy 42')).toBe(true)
    expect(child.stdout()).not.toContain(TOKEN)
    expect(await readFile(`${config.stateDir}/${MUTES_FILE}`, 'utf8')).toContain(String(id))

    const listed = await probeCli(['mute', '--list', '--url', child.url], config.dir, env)
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain(`${id}  items-crud  until `)

    // --token-env names another variable; the token itself is never an argument.
    const deleted = await probeCli(['mute', '--delete', String(id), '--url', child.url, '--token-env', 'PIPELINE_TOKEN'], config.dir, {
      PIPELINE_TOKEN: TOKEN,
    })
    expect(deleted.code).toBe(0)
    expect(deleted.stdout).toBe(`deleted mute ${id}\n`)
    expect((await probeCli(['mute', '--list', '--url', child.url], config.dir, env)).stdout).toBe('no live mutes\n')
  })

  it('exits 1 when the daemon refuses, with its reason', async () => {
    const { config, child } = await daemon()
    const args = ['mute', '--probe', 'items-crud', '--reason', 'deploy', '--url', child.url]
    const wrong = await probeCli([...args, '--for', '30m'], config.dir, { SMOKEPROBE_API_TOKEN: 'not-the-token' })
    expect([wrong.code, wrong.stderr]).toEqual([1, 'probe mute: refused (401): missing or wrong bearer token\n'])
    const long = await probeCli([...args, '--for', '25h'], config.dir, { SMOKEPROBE_API_TOKEN: TOKEN })
    expect(long.code).toBe(1)
    expect(long.stderr).toMatch(/^probe mute: refused \(400\): duration: 25h is longer than the cap of 24h/)
    const unknown = await probeCli(['mute', '--probe', 'nope', '--for', '1m', '--reason', 'x', '--url', child.url], config.dir, {
      SMOKEPROBE_API_TOKEN: TOKEN,
    })
    expect([unknown.code, unknown.stderr]).toEqual([1, 'probe mute: refused (400): probes: unknown probe "nope"\n'])
  })

  it('exits 2 on a usage problem, and 1 when no daemon answers', async () => {
    const cwd = process.cwd()
    const noToken = await probeCli(['mute', '--probe', 'a', '--for', '1m', '--reason', 'x'], cwd)
    expect(noToken.code).toBe(2)
    expect(noToken.stderr).toContain('SMOKEPROBE_API_TOKEN, which is not set')
    const env = { SMOKEPROBE_API_TOKEN: TOKEN }
    const missing = await probeCli(['mute', '--probe', 'a'], cwd, env)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--for <duration> is required')
    expect(missing.stderr).toContain('--reason <text> is required')
    expect((await probeCli(['mute', '--list', '--delete', 'x'], cwd, env)).code).toBe(2)
    // A port nobody listens on (the discard port on loopback).
    const down = await probeCli(['mute', '--list', '--url', 'http://127.0.0.1:9'], cwd, env)
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('probe mute: cannot reach http://127.0.0.1:9')
  })
})
