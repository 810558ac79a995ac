import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { formatDiagnostic, type LoadOptions, loadConfig } from '../../src/loader/load.ts'
import { TEST_ENV } from './env.ts'

const VALID = 'test/fixtures/valid'
const ALERTING = 'test/fixtures/alerting/basic.yaml'

async function load(options: Partial<LoadOptions>) {
  const result = await loadConfig({ probePaths: [VALID], alertingPath: ALERTING, env: TEST_ENV, ...options })
  if (!result.ok) throw new Error(`unexpected diagnostics:\n${result.diagnostics.map(formatDiagnostic).join('\n')}`)
  return result.config
}

async function problems(options: Partial<LoadOptions>): Promise<string[]> {
  const result = await loadConfig({ probePaths: [VALID], alertingPath: ALERTING, env: TEST_ENV, ...options })
  if (result.ok) throw new Error('expected the configuration to be refused')
  return result.diagnostics.map(formatDiagnostic)
}

describe('loadConfig', () => {
  test('loads a folder’s .yaml and .yml files in name order, not its subfolders or other files', async () => {
    const config = await load({})
    expect(config.probes.map((p) => [p.name, p.file])).toEqual([
      ['health', path.join(VALID, 'health.yml')],
      ['items-crud', path.join(VALID, 'items.yaml')],
    ])
    expect(config.files).toEqual([path.join(VALID, 'health.yml'), path.join(VALID, 'items.yaml'), ALERTING])
  })

  test('compiles the probe: durations in ms, env substituted and recorded as a secret', async () => {
    const config = await load({})
    const items = config.probes.find((p) => p.name === 'items-crud')
    expect(items?.timeout).toBe(10_000)
    expect(items?.intervalMs).toBe(60_000)
    expect(config.probes.find((p) => p.name === 'health')?.intervalMs).toBeNull()
    expect(config.secrets.mask(`Bearer ${TEST_ENV.API_TOKEN}`)).toBe('Bearer ***')
    expect(config.secrets.mask(TEST_ENV.UNRELATED ?? '')).toBe(TEST_ENV.UNRELATED)
  })

  test('resolves each probe’s policy from the alerting defaults and its own alert:', async () => {
    const config = await load({})
    expect(config.policies.get('items-crud')).toMatchObject({
      failureThreshold: 3,
      channels: ['oncall'],
      reminderIntervalMs: 4 * 3_600_000,
    })
    expect(config.policies.get('health')).toMatchObject({ failureThreshold: 5, channels: ['chat'] })
    expect(config.alerting?.channels.chat?.type).toBe('webhook')
  })

  test('without an alerting file the built-in policy applies and alerting is null', async () => {
    const config = await load({ probePaths: [path.join(VALID, 'health.yml')], alertingPath: null })
    expect(config.alerting).toBeNull()
    expect(config.policies.get('health')).toMatchObject({ failureThreshold: 5, channels: [] })
  })

  test('a probe naming a channel needs an alerting file, unless channels are ignored (run --once)', async () => {
    expect(await problems({ alertingPath: null })).toEqual([
      `${path.join(VALID, 'items.yaml')}: alert.channels[0]: channel "oncall" needs an alerting file, and none is loaded (give --alerting <file>)`,
    ])
    const config = await load({ alertingPath: null, ignoreChannels: true })
    expect(config.probes).toHaveLength(2)
  })

  test('alertingRequired refuses a missing alerting file', async () => {
    expect(await problems({ alertingPath: null, alertingRequired: true, ignoreChannels: true })).toEqual([
      'no alerting file: give --alerting <file> (default ./alerting/alerting.yaml)',
    ])
    expect(await problems({ alertingPath: 'nowhere/alerting.yaml' })).toEqual(['nowhere/alerting.yaml: no such file'])
  })

  test('a path that does not exist is a problem, a file given twice is loaded once', async () => {
    expect(await problems({ probePaths: ['no/such/dir'] })).toEqual(['no/such/dir: no such file or folder'])
    const config = await load({ probePaths: [VALID, `./${VALID}/items.yaml`] })
    expect(config.probes).toHaveLength(2)
  })

  test('reports every problem of every file at once, grouped by file', async () => {
    const lines = await problems({
      probePaths: [
        'test/fixtures/invalid/bad-status.yaml',
        'test/fixtures/invalid/duplicate-name',
        'test/fixtures/invalid/yaml-syntax.yaml',
      ],
      alertingPath: 'test/fixtures/invalid/alerting-unknown-channel-type.yaml',
    })
    expect(lines.map((line) => line.split(':')[0])).toEqual([
      'test/fixtures/invalid/bad-status.yaml',
      'test/fixtures/invalid/duplicate-name/b.yaml',
      'test/fixtures/invalid/yaml-syntax.yaml',
      'test/fixtures/invalid/alerting-unknown-channel-type.yaml',
    ])
  })
})

describe('configuration hash', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-load-'))
    await cp(VALID, path.join(dir, 'probes'), { recursive: true })
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  test('is the same however the paths are spelled, and changes with any file’s content', async () => {
    const a = await load({ probePaths: ['probes'], alertingPath: null, ignoreChannels: true, cwd: dir })
    const b = await load({ probePaths: [path.join(dir, 'probes/')], alertingPath: null, ignoreChannels: true, cwd: dir })
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(b.sha256).toBe(a.sha256)
    const withAlerting = await load({ probePaths: ['probes'], alertingPath: path.resolve(ALERTING), cwd: dir })
    expect(withAlerting.sha256).not.toBe(a.sha256)
    await writeFile(path.join(dir, 'probes/health.yml'), '# a comment changes the hash too\n', { flag: 'a' })
    const c = await load({ probePaths: ['probes'], alertingPath: null, ignoreChannels: true, cwd: dir })
    expect(c.sha256).not.toBe(a.sha256)
  })
})
