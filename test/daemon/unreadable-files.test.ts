/**
 * File-system trouble under a running daemon (real `probe` processes): a
 * probe file that turns into a dangling symlink, a probes folder that cannot
 * be listed. Each is a configuration error — the reload is refused and
 * exported as `probe_config_last_reload_successful 0`, the last good
 * configuration keeps running, nothing is resolved — and never a crash.
 *
 * The folder is made unreadable with `chmod 000`, which root ignores; when
 * the tests run as root (CI containers do) the `probe` child runs as
 * `nobody` instead (spawn's `uid`/`gid`), so the permission error is real.
 */
import { chmod, chown, readdir, rm, symlink } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { probeCli, type RunAs, spawnDaemon } from './child.ts'
import { Cleanups, type Config, probeFile, probeMetrics, scrape, waitFor, writeConfig } from './harness.ts'
import { startTarget, startWebhookSink } from './sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

const NOBODY: RunAs = { uid: 65534, gid: 65534 }
const asRoot = process.getuid?.() === 0

/** As root, hands the config dir to `nobody` and returns it as the child's user; otherwise the child runs as us. */
async function unprivileged(config: Config): Promise<RunAs | undefined> {
  if (!asRoot) return undefined
  const own = async (dir: string): Promise<void> => {
    await chown(dir, NOBODY.uid, NOBODY.gid)
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) await own(full)
      else await chown(full, NOBODY.uid, NOBODY.gid)
    }
  }
  await own(config.dir)
  return NOBODY
}

async function lastReloadOk(url: string): Promise<number | undefined> {
  return (await scrape(url)).find((s) => s.name === 'probe_config_last_reload_successful')?.value
}

async function moreRuns(url: string, probe: string, n: number): Promise<void> {
  const total = (m: Awaited<ReturnType<typeof probeMetrics>>) => m.runsOk + m.runsFailed
  const before = total(await probeMetrics(url, probe))
  await waitFor(`${n} more runs of ${probe}`, async () => total(await probeMetrics(url, probe)) >= before + n)
}

describe('file-system errors under the daemon', () => {
  it('a firing probe whose file became a dangling symlink is not retired: reload refused, no resolve', async () => {
    const target = await startTarget('fail')
    const healthy = await startTarget('ok')
    const hook = await startWebhookSink()
    cleanups.defer(() => Promise.all([target.close(), healthy.close(), hook.close()]))
    const alerting = {
      defaults: { failureThreshold: 2, channels: ['hook'] },
      channels: { hook: { type: 'webhook', url: `${hook.url}/hook` } },
    }
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'pay', target: target.url }), probeFile({ name: 'keep', target: healthy.url })],
      alerting,
    })
    const daemon = await spawnDaemon(cleanups, config)
    await waitFor('the firing of pay', () => hook.delivered().some((p) => p.event === 'firing'))

    // A deploy tool that swaps files through symlinks, caught halfway; the target is still down.
    const file = path.join(config.probesDir, 'pay.yaml')
    await rm(file)
    await symlink('pay.v2.yaml', file)
    daemon.process.kill('SIGHUP')
    await waitFor('the reload to be refused', async () => (await lastReloadOk(daemon.url)) === 0)
    const refusal = await waitFor('the refusal in the log', () =>
      daemon.logs().find((line) => line.msg.includes('configuration rejected') && line.file === file),
    )
    expect(refusal.reason).toBe('a symbolic link to pay.v2.yaml, which does not exist')
    await moreRuns(daemon.url, 'pay', 2)
    expect(await probeMetrics(daemon.url, 'pay')).toMatchObject({ firing: 1 })
    expect(hook.delivered().map((p) => `${p.event} ${p.probe}`)).toEqual(['firing pay'])
    expect(daemon.process.exitCode).toBeNull()

    const validate = await probeCli(['validate', '--probes', 'probes', '--alerting', 'alerting.yaml'], config.dir)
    expect(validate).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('probes/pay.yaml: a symbolic link to pay.v2.yaml, which does not exist'),
    })
  }, 60_000)

  it('SIGHUP with an unreadable probes folder keeps the daemon running; the next SIGHUP after the fix reloads', async () => {
    const target = await startTarget('ok')
    cleanups.defer(() => target.close())
    const config = await writeConfig(cleanups, { probes: [probeFile({ name: 'api', target: target.url })], alerting: { channels: {} } })
    const daemon = await spawnDaemon(cleanups, config, {}, [], await unprivileged(config))

    await chmod(config.probesDir, 0o000)
    cleanups.defer(() => chmod(config.probesDir, 0o755))
    daemon.process.kill('SIGHUP')
    await waitFor('the reload to be refused', async () => (await lastReloadOk(daemon.url)) === 0)
    const refusal = await waitFor('the refusal in the log', () => daemon.logs().find((line) => line.msg.includes('configuration rejected')))
    expect(refusal).toMatchObject({ file: config.probesDir, reason: 'cannot list the folder (permission denied)' })
    await moreRuns(daemon.url, 'api', 2)
    expect(daemon.process.exitCode).toBeNull()

    await chmod(config.probesDir, 0o755)
    daemon.process.kill('SIGHUP')
    await waitFor('the reload to be taken', async () => (await lastReloadOk(daemon.url)) === 1)
    expect(daemon.stderr()).not.toContain('EACCES')
  }, 60_000)

  it('an unreadable probes folder at start is a diagnostic with exit 2 from validate and run, not an internal error', async () => {
    const config = await writeConfig(cleanups, {
      probes: [probeFile({ name: 'api', target: 'http://127.0.0.1:9' })],
      alerting: { channels: {} },
    })
    const as = await unprivileged(config)
    await chmod(config.probesDir, 0o000)
    cleanups.defer(() => chmod(config.probesDir, 0o755))
    const files = ['--probes', 'probes', '--alerting', 'alerting.yaml']
    const [validate, run] = await Promise.all([
      probeCli(['validate', ...files], config.dir, {}, 30_000, as),
      probeCli(['run', ...files, '--listen', '127.0.0.1:0', '--state-dir', 'state'], config.dir, {}, 30_000, as),
    ])
    for (const result of [validate, run]) {
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 2,
        stderr: expect.stringContaining('probes: cannot list the folder (permission denied)'),
      })
      expect(result.stderr).not.toContain('internal error')
    }
  }, 60_000)
})
