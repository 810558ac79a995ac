/**
 * What the loader does with folder entries it cannot read, files too large
 * to be configuration, and durations that may be zero. Real files in a temp
 * dir: symlinks, loops and FIFOs as the file system makes them.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { formatDiagnostic, type LoadOptions, loadConfig } from '../../src/loader/load.ts'
import { TEST_ENV } from './env.ts'

const ALERTING = path.resolve('test/fixtures/alerting/basic.yaml')
const PROBE = (name: string) => `name: ${name}\ninterval: 1m\nsteps:\n  - name: get\n    request: { url: "http://127.0.0.1:9/" }\n`

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-files-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

async function result(options: Partial<LoadOptions>) {
  return loadConfig({ probePaths: [dir], alertingPath: ALERTING, env: TEST_ENV, cwd: dir, ...options })
}

async function problems(options: Partial<LoadOptions> = {}): Promise<string[]> {
  const loaded = await result(options)
  if (loaded.ok) throw new Error('expected the configuration to be refused')
  return loaded.diagnostics.map(formatDiagnostic)
}

async function probeNames(options: Partial<LoadOptions> = {}): Promise<string[]> {
  const loaded = await result(options)
  if (!loaded.ok) throw new Error(`unexpected diagnostics:\n${loaded.diagnostics.map(formatDiagnostic).join('\n')}`)
  return loaded.config.probes.map((p) => p.name)
}

describe('a probes folder with entries that cannot be read', () => {
  test('a dangling symlink named .yaml is an error naming the path and its target, not a probe silently gone', async () => {
    await writeFile(path.join(dir, 'a.yaml'), PROBE('a'))
    await symlink('gone.yaml', path.join(dir, 'b.yaml'))
    expect(await problems()).toEqual([`${path.join(dir, 'b.yaml')}: a symbolic link to gone.yaml, which does not exist`])
  })

  test('a symlink loop is an error', async () => {
    await writeFile(path.join(dir, 'a.yaml'), PROBE('a'))
    await symlink('loop.yaml', path.join(dir, 'loop.yaml'))
    expect(await problems()).toEqual([`${path.join(dir, 'loop.yaml')}: a symbolic link loop`])
  })

  test('a FIFO named .yaml is an error rather than a read that never returns', async () => {
    await writeFile(path.join(dir, 'a.yaml'), PROBE('a'))
    execFileSync('mkfifo', [path.join(dir, 'pipe.yaml')])
    expect(await problems()).toEqual([`${path.join(dir, 'pipe.yaml')}: not a regular file`])
  })

  test('a subfolder (whatever its name), a hidden entry and a dangling link without a YAML name are not probe files', async () => {
    await writeFile(path.join(dir, 'a.yaml'), PROBE('a'))
    await mkdir(path.join(dir, 'drafts.yaml'))
    await writeFile(path.join(dir, 'drafts.yaml', 'b.yaml'), PROBE('b'))
    await symlink('nowhere', path.join(dir, '..data'))
    await symlink('nowhere', path.join(dir, 'README'))
    expect(await probeNames()).toEqual(['a'])
  })

  test('a followed symlink to a file still loads (ConfigMap mounts)', async () => {
    await mkdir(path.join(dir, '..data'))
    await writeFile(path.join(dir, '..data', 'a.yaml'), PROBE('a'))
    await symlink('..data/a.yaml', path.join(dir, 'a.yaml'))
    expect(await probeNames()).toEqual(['a'])
  })

  test('--probes naming a dangling symlink or a path through a file says which, not an exception', async () => {
    await writeFile(path.join(dir, 'file.yaml'), PROBE('a'))
    await symlink('elsewhere', path.join(dir, 'probes'))
    expect(await problems({ probePaths: ['probes', 'file.yaml/inner'] })).toEqual([
      'probes: a symbolic link to elsewhere, which does not exist',
      'file.yaml/inner: a part of the path is not a folder',
    ])
  })
})

describe('file size', () => {
  test('a probe file over 1 MiB is refused with its size, before it is parsed', async () => {
    await writeFile(path.join(dir, 'big.yaml'), `${PROBE('big')}# ${'x'.repeat(1024 * 1024)}\n`)
    expect(await problems()).toEqual([`${path.join(dir, 'big.yaml')}: the file is 1.0 MiB; a configuration file may be at most 1 MiB`])
  })

  test('so is an alerting file', async () => {
    await writeFile(path.join(dir, 'a.yaml'), PROBE('a'))
    const alerting = path.join(dir, 'alerting.yaml.big')
    await writeFile(alerting, `channels: {}\n# ${'x'.repeat(2 * 1024 * 1024)}\n`)
    expect(await problems({ alertingPath: alerting })).toEqual([
      `${alerting}: the file is 2.0 MiB; a configuration file may be at most 1 MiB`,
    ])
  })
})

describe('durations that may be zero', () => {
  const alertingWith = async (reminder: string) => {
    const file = path.join(dir, 'alerting.yml.txt')
    await writeFile(file, `defaults:\n  reminderInterval: ${reminder}\n  channels: []\nchannels: {}\n`)
    return file
  }

  test.each(['0', '"0"', '0s', '4h'])('reminderInterval: %s is accepted, as README writes it', async (reminder) => {
    await writeFile(path.join(dir, 'a.yaml'), `${PROBE('a')}alert: { reminderInterval: ${reminder} }\n`)
    const loaded = await result({ alertingPath: await alertingWith(reminder) })
    if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'))
    expect(loaded.config.policies.get('a')?.reminderIntervalMs).toBe(reminder === '4h' ? 4 * 3_600_000 : 0)
  })

  test('a duration that must not be zero says its minimum; a bare number other than 0 needs a unit', async () => {
    await writeFile(
      path.join(dir, 'a.yaml'),
      'name: a\ntimeout: "0"\nsteps:\n  - name: get\n    request: { url: "http://127.0.0.1:9/", timeout: 0 }\nalert: { reminderInterval: 30 }\n',
    )
    expect(await problems()).toEqual([
      `${path.join(dir, 'a.yaml')}: timeout: expected at least 10ms, got "0"`,
      `${path.join(dir, 'a.yaml')}: steps[0].request.timeout: expected a duration such as 10s, 1m or 250ms, got 0`,
      `${path.join(dir, 'a.yaml')}: alert.reminderInterval: expected a duration such as 10s, 1m or 250ms, or 0, got 30`,
    ])
  })
})
