import { describe, expect, test } from 'vitest'
import { parseListen, resolveOptions } from '../../src/cli/options.ts'
import { tempFiles } from './helpers.ts'

const NOWHERE = '/nonexistent-smokeprobe-dir'

describe('resolveOptions', () => {
  test('defaults: ./probes, no alerting file when ./alerting/alerting.yaml is absent, 0.0.0.0:9464, ./state, info', () => {
    expect(resolveOptions({}, {}, NOWHERE)).toEqual({
      ok: true,
      options: {
        probes: ['./probes'],
        alerting: null,
        listen: { host: '0.0.0.0', port: 9464 },
        stateDir: './state',
        location: null,
        shard: null,
        logLevel: 'info',
        // /run/secrets when it exists (it does not here).
        secretsDir: null,
      },
    })
  })

  test('./alerting/alerting.yaml is the default alerting file when it exists', async () => {
    const { dir, remove } = await tempFiles({})
    try {
      const { mkdir, writeFile } = await import('node:fs/promises')
      await mkdir(`${dir}/alerting`)
      await writeFile(`${dir}/alerting/alerting.yaml`, 'channels: {}\n')
      const resolved = resolveOptions({}, {}, dir)
      expect(resolved.ok && resolved.options.alerting).toBe('./alerting/alerting.yaml')
    } finally {
      await remove()
    }
  })

  test('environment variables fill what flags leave out; a flag wins; an empty variable counts as unset', () => {
    const env = {
      SMOKEPROBE_PROBES: 'a.yaml, b/ ,',
      SMOKEPROBE_ALERTING: 'alerts.yaml',
      SMOKEPROBE_LISTEN: '127.0.0.1:0',
      SMOKEPROBE_STATE_DIR: '/var/lib/smokeprobe',
      SMOKEPROBE_LOCATION: 'eu-west',
      SMOKEPROBE_SHARD: '1/3',
      SMOKEPROBE_LOG_LEVEL: 'DEBUG',
      SMOKEPROBE_SECRETS_DIR: '/run/my-secrets',
    }
    expect(resolveOptions({}, env, NOWHERE)).toEqual({
      ok: true,
      options: {
        probes: ['a.yaml', 'b/'],
        alerting: 'alerts.yaml',
        listen: { host: '127.0.0.1', port: 0 },
        stateDir: '/var/lib/smokeprobe',
        location: 'eu-west',
        shard: { index: 1, count: 3 },
        logLevel: 'debug',
        secretsDir: '/run/my-secrets',
      },
    })
    const flagged = resolveOptions({ probes: ['x.yaml'], location: 'us-east', shard: '0/2' }, { ...env, SMOKEPROBE_LISTEN: '' }, NOWHERE)
    expect(flagged.ok && flagged.options).toMatchObject({
      probes: ['x.yaml'],
      location: 'us-east',
      shard: { index: 0, count: 2 },
      listen: { host: '0.0.0.0', port: 9464 },
    })
  })

  test('reports every bad value at once, naming the flag or the variable it came from', () => {
    expect(resolveOptions({ listen: 'nope', shard: '3/3' }, { SMOKEPROBE_LOG_LEVEL: 'loud' }, NOWHERE)).toEqual({
      ok: false,
      errors: [
        '--listen: expected host:port (e.g. 0.0.0.0:9464 or :9464), got "nope"',
        '--shard: shard index must be 0 to 2 for 3 shards, got "3/3"',
        'SMOKEPROBE_LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"',
      ],
    })
  })
})

describe('parseListen', () => {
  test.each([
    ['0.0.0.0:9464', { host: '0.0.0.0', port: 9464 }],
    [':8080', { host: '0.0.0.0', port: 8080 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
  ])('%s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected)
  })

  test.each(['9464', 'host:', 'host:70000', '::1:9464'])('refuses %s', (text) => {
    expect(parseListen(text)).toMatch(/^expected host:port/)
  })
})
