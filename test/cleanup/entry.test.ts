import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { stringify } from 'yaml'
import { cleanedUp, entryOf, renderEntry, secretReadsOf } from '../../src/cleanup/entry.ts'
import { createdAtMs, nextPage, type Sweep, verdict } from '../../src/cleanup/sweep.ts'
import type { Probe } from '../../src/config/probe-schema.ts'
import { SecretMask } from '../../src/config/secrets.ts'
import { loadConfig } from '../../src/loader/load.ts'

const TOKEN = 'entry-token-at-journal-time'
const ROTATED = 'entry-token-rotated-since'

async function load(
  probe: Record<string, unknown>,
  env: Record<string, string>,
): Promise<{ probe: Probe; secrets: SecretMask; names: string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'entry-'))
  await writeFile(path.join(dir, 'p.yaml'), stringify(probe))
  const loaded = await loadConfig({ probePaths: [path.join(dir, 'p.yaml')], alertingPath: null, env })
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics))
  return { probe: loaded.config.probes[0]!, secrets: loaded.config.secrets, names: [...loaded.config.secretNames.keys()] }
}

const PROBE = {
  name: 'p',
  vars: { base: '{{ env.BASE }}', tenant: 't-{{ run.id }}' },
  defaults: { headers: { authorization: 'Bearer {{ secret.API_TOKEN }}', 'x-api-key': '{{ env.API_KEY }}' } },
  steps: [
    { name: 'create', request: { method: 'POST', url: '{{ base }}/items' }, capture: { id: '$.id' } },
    {
      name: 'delete',
      cleanup: true,
      request: { method: 'DELETE', url: '{{ base }}/{{ tenant }}/items/{{ id }}', json: { why: 'smoke {{ run.id }}', n: 1 } },
    },
  ],
}
const ENV = { BASE: 'http://127.0.0.1:9', API_TOKEN: TOKEN, API_KEY: 'entry-api-key-1234' }

describe('journal entries', () => {
  test('hold templates and captured values, never a resolved secret; secrets are resolved again at retry', async () => {
    const { probe, secrets, names } = await load(PROBE, ENV)
    const values = new Map<string, unknown>([
      ['run.id', 'r1'],
      ['run.timestamp', 1],
      ['probe.name', 'p'],
      ['base', ENV.BASE],
      ['tenant', 't-r1'],
      ['id', 'a/b'],
    ])
    const entry = entryOf(probe, probe.steps[1]!, values, secrets, names, 1_000)
    if (typeof entry === 'string') throw new Error(entry)
    const text = JSON.stringify(entry)
    expect(text).not.toContain(TOKEN)
    expect(text).not.toContain(ENV.API_KEY)
    expect(entry.values).toEqual({ 'run.id': 'r1', 'run.timestamp': 1, 'probe.name': 'p', id: 'a/b' })
    expect(secretReadsOf(entry)).toEqual(['API_TOKEN'])

    const mask = new SecretMask()
    const env = { ...ENV, API_TOKEN: ROTATED }
    const request = renderEntry(entry, {
      env,
      secrets: mask,
      secretNames: new Map(entry.secretEnv.map((n) => [n, []])),
      readSecret: (name) => ({ value: env[name as keyof typeof env] }),
    })
    if (typeof request === 'string') throw new Error(request)
    expect(request.url).toBe('http://127.0.0.1:9/t-r1/items/a%2Fb')
    expect(request.headers.authorization).toBe(`Bearer ${ROTATED}`)
    expect(request.headers['content-type']).toBe('application/json')
    expect(JSON.parse(request.body!)).toEqual({ why: 'smoke r1', n: 1 })
    expect(request.secretHeaders.has('authorization')).toBe(true)
    // The values resolved at retry time are masked like the configuration's.
    expect(mask.mask(`${ROTATED} ${ENV.API_KEY}`)).not.toContain(ROTATED)
    expect(mask.mask(ENV.API_KEY)).not.toContain(ENV.API_KEY)
  })

  test('a captured value that holds a secret is not journaled', async () => {
    const { probe, secrets, names } = await load(PROBE, ENV)
    const values = new Map<string, unknown>([
      ['run.id', 'r1'],
      ['id', `x${TOKEN}`],
    ])
    expect(entryOf(probe, probe.steps[1]!, values, secrets, names, 0)).toBe(
      'the value of {{ id }} holds a secret; it is not written to the journal',
    )
  })

  test('an entry whose environment is gone says why it cannot be sent', async () => {
    const { probe, secrets, names } = await load(PROBE, ENV)
    const entry = entryOf(
      probe,
      probe.steps[1]!,
      new Map<string, unknown>([
        ['run.id', 'r'],
        ['id', 1],
      ]),
      secrets,
      names,
      0,
    )
    if (typeof entry === 'string') throw new Error(entry)
    const problem = renderEntry(entry, {
      env: {},
      secrets: new SecretMask(),
      readSecret: () => ({ problem: 'secret API_TOKEN is not set' }),
    })
    expect(problem).toContain('environment variable BASE is not set')
    expect(problem).toContain('secret API_TOKEN is not set')
  })

  test.each([
    [200, true],
    [204, true],
    [404, true],
    [410, true],
    [301, false],
    [409, false],
    [500, false],
    [503, false],
  ])('status %i cleaned up: %s', (status, done) => {
    expect(cleanedUp(status)).toBe(done)
  })
})

describe('sweep verdicts', () => {
  const NOW = Date.parse('2026-12-01T12:00:00Z')
  test.each([
    ['2026-12-01T10:00:00Z', Date.parse('2026-12-01T10:00:00Z')],
    ['2026-12-01T10:00:00.123+01:00', Date.parse('2026-12-01T09:00:00.123Z')],
    [1_764_590_400, 1_764_590_400_000],
    ['1764590400', 1_764_590_400_000],
    ['', null],
    ['yesterday', null],
    ['Tue 1', null],
    [null, null],
    [Number.NaN, null],
  ])('createdAt %j → %j', (value, ms) => {
    expect(createdAtMs(value)).toBe(ms)
  })

  const sweep = async () => {
    const { probe } = await load(
      {
        ...PROBE,
        sweep: {
          list: { url: '{{ base }}/items' },
          next: '$.next',
          items: '$.data',
          name: '$.name',
          match: '^smoke-',
          createdAt: '$.at',
          minAge: '1h',
          delete: { url: '{{ base }}/items/{{ item.id }}' },
        },
      },
      ENV,
    )
    return probe.sweep as Sweep
  }
  test.each([
    [{ name: 'smoke-1', at: '2026-12-01T10:00:00Z' }, 'orphan'],
    [{ name: 'smoke-1', at: '2026-12-01T11:30:00Z' }, 'too-young'],
    [{ name: 'smoke-1', at: '2026-12-01T11:00:00Z' }, 'too-young'],
    [{ name: 'smoke-1' }, 'no-time'],
    [{ name: 'customer-smoke-1', at: '2026-12-01T10:00:00Z' }, 'not-ours'],
    [{ name: 42, at: '2026-12-01T10:00:00Z' }, 'not-ours'],
    ['smoke-1', 'not-ours'],
  ])('%j is %s', async (item, expected) => {
    expect(verdict(item, await sweep(), NOW).verdict).toBe(expected)
  })

  test.each([
    [{ next: '/items?page=2' }, { url: 'http://127.0.0.1:9/items?page=2' }],
    [{ next: 'http://127.0.0.1:9/items?page=2' }, { url: 'http://127.0.0.1:9/items?page=2' }],
    [{ next: null }, { url: null }],
    [{}, { url: null }],
    [{ next: '' }, { url: null }],
    [
      { next: 'http://localhost:9/items' },
      { problem: 'the next page is on another origin (http://localhost:9, not http://127.0.0.1:9); refused' },
    ],
    [
      { next: 'https://127.0.0.1:9/items' },
      { problem: 'the next page is on another origin (https://127.0.0.1:9, not http://127.0.0.1:9); refused' },
    ],
    [{ next: 7 }, { problem: 'next ($.next) is not a URL' }],
  ])('next of %j → %j', async (page, expected) => {
    expect(nextPage(page, await sweep(), 'http://127.0.0.1:9/items?page=1', 'http://127.0.0.1:9')).toEqual(expected)
  })
})
