import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { resolveOptions } from '../../src/cli/options.ts'
import { runOnceCommand } from '../../src/cli/run-once.ts'
import { Capture, CRUD_PROBE, type CrudServer, cli, startCrudServer, tempFiles } from './helpers.ts'

const TOKEN = 'cli-test-token-5ecret'
const FIXTURES = 'test/fixtures'
const ENV = {
  API_URL: 'http://127.0.0.1:9/api',
  API_TOKEN: TOKEN,
  SMTP_HOST: 'smtp.test',
  SMTP_PASS: 'smtp-5ecret',
  WEBHOOK_URL: 'http://127.0.0.1:9/hook',
}

describe('probe validate', () => {
  test('a valid configuration: each file, then a summary with the configuration hash; exit 0', async () => {
    const run = await cli(['validate', '--probes', `${FIXTURES}/valid`, '--alerting', `${FIXTURES}/alerting/basic.yaml`], { env: ENV })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`ok  ${path.join(FIXTURES, 'valid/items.yaml')}  (items-crud)`)
    expect(run.stdout).toContain(`ok  ${FIXTURES}/alerting/basic.yaml  (2 channels: oncall, chat)`)
    // Which names are secrets, and why; the base URL (API_URL, used in request URLs) is not one.
    expect(run.stdout).toContain('\nAPI_TOKEN: secret (used in header authorization of items-crud)\n')
    expect(run.stdout).toContain('\nSMTP_PASS: secret (used in smtp.pass of channel oncall)\n')
    expect(run.stdout).not.toContain('API_URL')
    expect(run.stdout).toMatch(/valid: 2 probes; configuration sha256 [0-9a-f]{64}\n$/)
  })

  test('a folder of several bad files: every problem at once, on stderr, no stack trace; exit 2', async () => {
    const rules = ['bad-status', 'unknown-field', 'missing-env', 'yaml-syntax', 'bad-cron']
    const files = Object.fromEntries(rules.map((rule) => [`${rule}.yaml`, readFileSync(`${FIXTURES}/invalid/${rule}.yaml`, 'utf8')]))
    const { dir, remove } = await tempFiles(files)
    try {
      const folder = await cli(['validate', '--probes', dir], { env: ENV, cwd: '/' })
      const expected = rules
        .sort()
        .map((rule) => readFileSync(`${FIXTURES}/invalid/${rule}.expected`, 'utf8').replaceAll(`${FIXTURES}/invalid/`, `${dir}/`))
        .join('')
      expect(folder.code).toBe(2)
      expect(folder.stdout).toBe('')
      expect(folder.stderr).toBe(`${expected}5 problems in 5 files; the configuration was not loaded\n`)
      expect(folder.stderr).not.toMatch(/\n\s+at /)
    } finally {
      await remove()
    }
  })

  test('without --alerting, ./alerting/alerting.yaml is used when it exists in the working directory', async () => {
    const { dir, remove } = await tempFiles({
      'p.yaml': 'name: p\nsteps: [{ name: a, request: { url: "http://127.0.0.1:9/" } }]\nalert: { channels: [nope] }\n',
    })
    try {
      const run = await cli(['validate', '--probes', 'p.yaml'], { cwd: dir })
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(
        'p.yaml: alert.channels[0]: channel "nope" needs an alerting file, and none is loaded (give --alerting <file>)',
      )
    } finally {
      await remove()
    }
  })
})

describe('probe list', () => {
  const args = ['list', '--probes', `${FIXTURES}/valid`, '--alerting', `${FIXTURES}/alerting/basic.yaml`]

  test('a table of name, schedule, timeout, steps and channels', async () => {
    const run = await cli(args, { env: ENV })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(
      [
        'PROBE       SCHEDULE                   TIMEOUT  STEPS  CHANNELS',
        'health      cron */30 * * * * * (UTC)  5s       1      chat',
        'items-crud  every 1m                   10s      3      oncall',
        '',
        'SMTP_PASS: secret (used in smtp.pass of channel oncall)',
        'WEBHOOK_URL: secret (used in url of channel chat)',
        'API_TOKEN: secret (used in header authorization of items-crud)',
        '',
      ].join('\n'),
    )
  })

  test('--json: one versioned document', async () => {
    const run = await cli([...args, '--json'], { env: ENV })
    const document = JSON.parse(run.stdout)
    expect(document.version).toBe(1)
    expect(document.secrets).toContainEqual({ name: 'API_TOKEN', reasons: ['used in header authorization of items-crud'] })
    expect(document.probes[1]).toEqual({
      name: 'items-crud',
      file: path.join(FIXTURES, 'valid/items.yaml'),
      description: 'Create, read and delete an item as a user would',
      runbook: 'https://wiki.example.com/runbooks/items-crud',
      schedule: 'every 1m',
      intervalMs: 60_000,
      cron: null,
      timeoutMs: 10_000,
      steps: ['create', 'read', 'delete'],
      channels: ['oncall'],
      labels: { team: 'storefront' },
      nextWindow: null,
    })
  })

  test('the next maintenance window of each probe, when the alerting file has windows', async () => {
    const files = await tempFiles({
      'alerting.yaml': [
        readFileSync(`${FIXTURES}/alerting/basic.yaml`, 'utf8').trimEnd(),
        'maintenance:',
        '  - { name: weekly-db, probes: [{ team: storefront }], schedule: "0 2 * * SUN", duration: 2h, timezone: Europe/Berlin }',
        '  - { name: migration, probes: [items-crud], start: "2099-12-01T10:00:00Z", end: "2099-12-01T11:00:00Z" }',
        '',
      ].join('\n'),
    })
    const alerting = path.join(files.dir, 'alerting.yaml')
    const run = await cli(['list', '--probes', `${FIXTURES}/valid`, '--alerting', alerting, '--json'], { env: ENV })
    expect(run.stderr).toBe('')
    const probes = JSON.parse(run.stdout).probes as { name: string; nextWindow: { name: string; start: string; end: string } | null }[]
    expect(probes.find((p) => p.name === 'health')?.nextWindow).toBeNull()
    const next = probes.find((p) => p.name === 'items-crud')?.nextWindow
    // The weekly one comes long before 2099: a Sunday, 02:00 in Berlin (01:00 or 00:00 UTC), two hours long.
    expect(next?.name).toBe('weekly-db')
    expect(new Date(String(next?.start)).getUTCDay()).toBe(0)
    expect(next?.start).toMatch(/T0[01]:00:00\.000Z$/)
    expect(Date.parse(String(next?.end)) - Date.parse(String(next?.start))).toBe(2 * 3_600_000)
    const table = await cli(['list', '--probes', `${FIXTURES}/valid`, '--alerting', alerting], { env: ENV })
    await files.remove()
    expect(table.stdout.split('\n')[0]).toMatch(/CHANNELS\s+NEXT WINDOW$/)
    expect(table.stdout).toMatch(/\nhealth .* -\n/)
    expect(table.stdout).toMatch(/\nitems-crud .* weekly-db \d{4}-/)
  })
})

describe('probe run --once', () => {
  let server: CrudServer
  let probes: { dir: string; remove: () => Promise<void> }
  let env: Record<string, string>
  beforeEach(async () => {
    server = await startCrudServer(TOKEN)
    probes = await tempFiles({ 'items.yaml': CRUD_PROBE })
    env = { API_URL: server.url, API_TOKEN: TOKEN }
  })
  afterEach(async () => {
    await server.close()
    await probes.remove()
  })

  test('all steps pass against the API: the report shows each step; the cleanup deleted the item; exit 0', async () => {
    const run = await cli(['run', '--once', '--probes', probes.dir, '--alerting', 'not/read/by/once.yaml'], { env })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^PASS items-crud \(.*items\.yaml\) {2}\d+ ms\n/)
    // The base URL is plain configuration (SPEC "Secrets"): the report shows which host was probed.
    expect(run.stdout).toContain(`  ✓ create  POST ${server.url}/items  → 201  `)
    expect(run.stdout).toMatch(/ {2}✓ delete {2}DELETE http:\/\/127\.0\.0\.1:\d+\/items\/1 {2}→ 204 .*\[cleanup\]\n/)
    expect(run.stdout).not.toContain(TOKEN)
    expect(run.stdout).toMatch(/\n1 passed, 0 failed of 1 probe in \d+ ms\n$/)
    expect(server.requests).toEqual(['POST /items', 'GET /items/1', 'DELETE /items/1'])
    expect(server.items.size).toBe(0)
  })

  test('a failing step: exit 1, the report names the step and the reason, and the cleanup still ran', async () => {
    server.failReads = true
    const run = await cli(['run', '--once', '--probes', probes.dir], { env })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('FAIL items-crud')
    expect(run.stdout).toContain(`  ✗ read    GET ${server.url}/items/1  → 500`)
    expect(run.stdout).toContain('      read: expected status 200, got 500\n')
    expect(run.stdout).toMatch(/ {2}✓ delete {2}DELETE/)
    expect(server.items.size).toBe(0)
  })

  test('--json: one versioned document on stdout, secrets masked, the base URL shown', async () => {
    server.failReads = true
    const run = await cli(['run', '--once', '--json', '--probes', probes.dir], { env })
    expect(run.code).toBe(1)
    const document = JSON.parse(run.stdout)
    expect(document).toMatchObject({ version: 1, passed: 0, failed: 1 })
    expect(Date.parse(document.generatedAt)).not.toBeNaN()
    expect(document.results[0]).toMatchObject({ probe: 'items-crud', outcome: 'failure', failure: { step: 'read', kind: 'status' } })
    expect(document.results[0].steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual([
      'create:passed',
      'read:failed',
      'delete:passed',
    ])
    expect(run.stdout).not.toContain(TOKEN)
    expect(document.results[0].steps[1].request.url).toBe(`${server.url}/items/1`)
  })

  test('--only runs the named probes; an unknown name is a usage error (exit 2)', async () => {
    const { dir, remove } = await tempFiles({
      'items.yaml': CRUD_PROBE,
      'other.yaml': 'name: other\nsteps: [{ name: a, request: { url: "{{ env.API_URL }}/other" }, expect: { status: 401 } }]\n',
    })
    try {
      const only = await cli(['run', '--once', '--probes', dir, '--only', 'other'], { env })
      expect(only.code).toBe(0)
      expect(only.stdout).toContain('PASS other')
      expect(only.stdout).not.toContain('items-crud')
      const unknown = await cli(['run', '--once', '--probes', dir, '--only', 'other', '--only', 'nope'], { env })
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toBe('--only: no probe named "nope" (probes: items-crud, other)\n')
    } finally {
      await remove()
    }
  })

  test('an abort (Ctrl-C) ends runs in flight as aborted; exit 1', async () => {
    const { dir, remove } = await tempFiles({
      'hang.yaml': 'name: hang\ntimeout: 20s\nsteps: [{ name: wait, request: { url: "{{ env.API_URL }}/hang" } }]\n',
    })
    try {
      const resolved = resolveOptions({ probes: [dir] }, {}, process.cwd())
      if (!resolved.ok) throw new Error(resolved.errors.join('\n'))
      const stdout = new Capture()
      const controller = new AbortController()
      void server.hung.then(() => controller.abort())
      const code = await runOnceCommand(
        resolved.options,
        { only: [], json: false },
        { stdout, stderr: new Capture(), env, cwd: process.cwd() },
        controller.signal,
      )
      expect(code).toBe(1)
      expect(stdout.text).toMatch(/^ABORTED hang/)
      expect(stdout.text).toContain('0 passed, 0 failed, 1 aborted of 1 probe')
    } finally {
      await remove()
    }
  })
})

describe('usage errors exit 2 with a message, help exits 0', () => {
  test.each([
    [['nonsense'], "error: unknown command 'nonsense'"],
    [['validate', '--prbes', 'x'], "error: unknown option '--prbes'"],
    [['run', '--json'], 'error: --only and --json need --once'],
    [['run', '--once', '--listen', 'nope'], 'error: --listen: expected host:port'],
    [['list', '--probes', 'no/such/folder'], 'no/such/folder: no such file or folder'],
  ])('%j', async (argv, message) => {
    const run = await cli(argv)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(message)
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })

  test.each([[['--help']], [['run', '--help']], [['validate', '--help']], [['list', '--help']], [['alert', 'test', '--help']]])(
    '%j',
    async (argv) => {
      const run = await cli(argv)
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/^Usage: probe/)
    },
  )

  test('run --help documents every flag with its environment variable', async () => {
    const run = await cli(['run', '--help'])
    for (const text of ['--probes', 'SMOKEPROBE_PROBES', '--alerting', 'SMOKEPROBE_ALERTING', '--listen', 'SMOKEPROBE_LISTEN'])
      expect(run.stdout).toContain(text)
    for (const text of ['--state-dir', 'SMOKEPROBE_STATE_DIR', '--location', 'SMOKEPROBE_LOCATION', '--shard', 'SMOKEPROBE_SHARD'])
      expect(run.stdout).toContain(text)
    for (const text of ['--log-level', 'SMOKEPROBE_LOG_LEVEL', '--once', '--only', '--json']) expect(run.stdout).toContain(text)
  })
})

describe('probe alert test', () => {
  test('needs an alerting file', async () => {
    // From `/`, where no ./alerting/alerting.yaml can be found by default.
    const run = await cli(['alert', 'test', 'chat', '--probes', path.resolve(`${FIXTURES}/valid/health.yml`)], { env: ENV, cwd: '/' })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('no alerting file: give --alerting <file>')
  })

  test('sends a test notification through the named channel', async () => {
    const received: string[] = []
    const hook = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => {
        body += chunk
      })
      req.on('end', () => {
        received.push(body)
        res.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve))
    const { dir, remove } = await tempFiles({ 'alerting.yaml': 'channels:\n  chat: { type: webhook, url: "{{ env.HOOK_URL }}" }\n' })
    try {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`
      const run = await cli(['alert', 'test', 'chat', '--probes', `${FIXTURES}/valid/health.yml`, '--alerting', `${dir}/alerting.yaml`], {
        env: { ...ENV, HOOK_URL: url },
      })
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      expect(JSON.parse(received[0] ?? '{}')).toMatchObject({ event: 'test' })
      expect(run.stdout).not.toContain(url)
    } finally {
      await remove()
      await new Promise((resolve) => hook.close(resolve))
    }
  })
})
