import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { DestinationStream } from 'pino'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { percentDecoded, SecretMask } from '../../src/config/secrets.ts'
import { formatDiagnostic, loadConfig } from '../../src/loader/load.ts'
import { createLogger } from '../../src/log.ts'

const ENV = {
  ITEMS_API_URL: 'http://items.internal.test:8080',
  ITEMS_API_TOKEN: 'tok-9f8e7d6c5b4a3210',
  API_KEY: 'key-abcdef123456',
  TENANT: 'storefront-eu',
  ENV_NAME: 'prod',
  BASIC_USER: 'smoke-user',
  BASIC_PASS: 'pa55word-xyz',
  SHORT: 'abc123',
  SMTP_USER: 'smokeprobe',
  SMTP_PASS: 'smtp-5ecret-pass',
  HOOK_URL: 'https://hooks.test/T000/B000/XXXXXXXXXX',
  PD_KEY: 'R0UT1NGKEY0123456789',
  BREAK: 'two\nlines-of-secret',
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-secret-use-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function load(files: Record<string, string>, env: Record<string, string> = ENV) {
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text)
  const alerting = files['alerting.yaml'] === undefined ? null : path.join(dir, 'alerting.yaml')
  const probes = Object.keys(files)
    .filter((f) => f !== 'alerting.yaml')
    .map((f) => path.join(dir, f))
  return loadConfig({ probePaths: probes, alertingPath: alerting, env, ignoreChannels: true })
}

async function loaded(files: Record<string, string>, env?: Record<string, string>) {
  const result = await load(files, env)
  if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'))
  return result.config
}

async function problems(files: Record<string, string>, env?: Record<string, string>) {
  const result = await load(files, env)
  if (result.ok) throw new Error('expected the configuration to be refused')
  return result.diagnostics.map((d) => `${d.path}: ${d.message}`)
}

/** An email channel whose password is a credential and whose user is not. */
const MAIL_CHANNEL = `  mail:
    type: email
    smtp: { host: smtp.test, user: "{{ env.SMTP_USER }}", pass: "{{ env.SMTP_PASS }}" }
    from: a@example.test
    to: [b@example.test]
`

const ITEMS = `name: items-crud
vars:
  base: "{{ env.ITEMS_API_URL }}/{{ env.TENANT }}"
  key: "{{ env.API_KEY }}"
defaults:
  headers:
    authorization: "Bearer {{ env.ITEMS_API_TOKEN }}"
steps:
  - name: products
    request:
      url: "{{ base }}/products?env={{ env.ENV_NAME }}"
      headers: { X-Api-Key: "{{ key }}" }
`

describe('secret by use', () => {
  test('a credential header makes its env value a secret; a base URL, a tenant and an environment name are shown', async () => {
    const config = await loaded({ 'items.yaml': ITEMS })
    expect([...config.secretNames]).toEqual([
      ['ITEMS_API_TOKEN', ['used in header authorization of items-crud']],
      // Through a var: the header uses {{ key }}, which reads API_KEY.
      ['API_KEY', ['used in header x-api-key of items-crud']],
    ])
    const { secrets } = config
    expect(secrets.mask(`GET ${ENV.ITEMS_API_URL}/storefront-eu/products?env=prod`)).toBe(
      'GET http://items.internal.test:8080/storefront-eu/products?env=prod',
    )
    expect(secrets.mask(`authorization: Bearer ${ENV.ITEMS_API_TOKEN}, x-api-key: ${ENV.API_KEY}`)).toBe(
      'authorization: Bearer ***, x-api-key: ***',
    )
  })

  test('user-info in a URL, {{ secret.NAME }} anywhere, and channel credential fields are secrets; other channel fields are not', async () => {
    const config = await loaded({
      'basic.yaml': `name: basic
steps:
  - name: get
    request: { url: "http://{{ env.BASIC_USER }}:{{ env.BASIC_PASS }}@127.0.0.1:9/{{ env.TENANT }}?t={{ secret.ITEMS_API_TOKEN }}" }
`,
      'alerting.yaml': `channels:
${MAIL_CHANNEL}  chat: { type: webhook, url: "{{ env.HOOK_URL }}" }
  pager: { type: pagerduty, routingKey: "{{ env.PD_KEY }}" }
`,
    })
    expect(Object.fromEntries(config.secretNames)).toEqual({
      SMTP_PASS: ['used in smtp.pass of channel mail'],
      HOOK_URL: ['used in url of channel chat'],
      PD_KEY: ['used in routingKey of channel pager'],
      ITEMS_API_TOKEN: ['read with {{ secret.ITEMS_API_TOKEN }} in basic'],
      BASIC_USER: ['used in the user-info of the URL of step get of basic'],
      BASIC_PASS: ['used in the user-info of the URL of step get of basic'],
    })
    for (const name of Object.keys(Object.fromEntries(config.secretNames))) {
      expect(config.secrets.mask(ENV[name as keyof typeof ENV])).toBe('***')
    }
    expect(config.secrets.mask(`${ENV.SMTP_USER} ${ENV.TENANT}`)).toBe(`${ENV.SMTP_USER} ${ENV.TENANT}`)
  })

  test('api.token is a credential: an {{ env.NAME }} there is a secret, masked everywhere, as a {{ secret.NAME }} is', async () => {
    const env = { ...ENV, MUTES_TOKEN: 'mutes-token-0123456789' }
    for (const token of ['{{ env.MUTES_TOKEN }}', '{{ secret.MUTES_TOKEN }}']) {
      const config = await loaded({ 'items.yaml': ITEMS, 'alerting.yaml': `api: { token: "${token}" }\n` }, env)
      expect(config.secretNames.get('MUTES_TOKEN')).toEqual([
        token.includes('env.') ? 'used in api.token' : 'read with {{ secret.MUTES_TOKEN }} in ' + path.join(dir, 'alerting.yaml'),
      ])
      expect(config.alerting?.api?.token).toBe(env.MUTES_TOKEN)
      expect(config.secrets.mask(`Bearer ${env.MUTES_TOKEN}`)).toBe('Bearer ***')
    }
  })

  test('a secret shorter than 8 characters, or holding a line break, is an error naming the variable; a short plain value is fine', async () => {
    const probe = (header: string) =>
      `name: short\nsteps: [{ name: a, request: { url: "http://127.0.0.1:9/{{ env.TENANT }}", headers: { ${header} } } }]\n`
    expect(await problems({ 'a.yaml': probe('authorization: "{{ env.SHORT }}"') })).toEqual([
      'steps[0].request.headers.authorization: secret SHORT is 6 characters long; a secret needs at least 8, or it could not be masked safely',
    ])
    expect(await problems({ 'a.yaml': probe('x-token: "{{ secret.BREAK }}"') })).toEqual([
      'steps[0].request.headers.x-token: secret BREAK holds a line break (a trailing newline?); remove it',
    ])
    await expect(loaded({ 'a.yaml': probe('x-tenant: "{{ env.SHORT }}"') })).resolves.toBeDefined()
  })

  test('a secret name that is not an environment-variable name is an error', async () => {
    expect(
      await problems({ 'a.yaml': 'name: a\nsteps: [{ name: a, request: { url: "http://127.0.0.1:9/{{ secret.bad-name }}" } }]\n' }),
    ).toEqual([
      'steps[0].request.url: invalid secret name "bad-name": a secret name is an environment-variable name (letters, digits and "_", not starting with a digit)',
    ])
  })
})

describe('masking that holds', () => {
  test('raw, JSON-escaped, percent-encoded (either case, + for space) and base64 forms, and Basic credentials holding it', () => {
    const secrets = new SecretMask()
    const secret = 'p@ss "w/rd" ünï+cøde'
    secrets.add(secret)
    secrets.add(ENV.BASIC_PASS)
    const forms = [
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      encodeURIComponent(secret).toLowerCase(),
      Buffer.from(secret).toString('base64'),
      `Basic ${Buffer.from(`smoke:${ENV.BASIC_PASS}`).toString('base64')}`,
      `basic ${Buffer.from(`someone-else:${ENV.BASIC_PASS}`).toString('base64')}`,
    ]
    for (const form of forms) expect(secrets.mask(`[${form}]`)).toMatch(/^\[(?:[Bb]asic )?\*\*\*=*\]$/)
    // Basic credentials without a secret stay as they are.
    const other = `Basic ${Buffer.from('user:not-a-secret').toString('base64')}`
    expect(secrets.mask(other)).toBe(other)
  })

  test('the forms a parsed URL prints: user-info, path, query and fragment each percent-encode their own set', () => {
    const secrets = new SecretMask()
    const secret = 'Q7&z"[x]^|<y>+$;%3t'
    secrets.add(secret)
    const url = new URL('http://h/')
    url.password = secret
    url.pathname = `/${secret}`
    url.search = `?k=${secret}`
    url.hash = `#${secret}`
    // None of them is encodeURIComponent's form, nor the raw one.
    expect(url.href).not.toContain(secret)
    expect(url.href).not.toContain(encodeURIComponent(secret))
    expect(secrets.mask(url.href)).toBe('http://:***@h/***?k=***#***')
    // Sent from user-info, its `%3t` stays, its escapes `%3B` and `%E2%82%AC` are decoded (a Basic header, as curl sends it).
    const escaped = 'pa%3Bss%3t-%E2%82%AC-%Ea-word'
    secrets.add(escaped)
    expect(percentDecoded(escaped)).toBe('pa;ss%3t-€-%Ea-word')
    expect(secrets.mask(`Basic ${Buffer.from(`u:${percentDecoded(escaped)}`).toString('base64')}`)).toBe('Basic ***')
  })

  test('log lines mask values, never keys; a plain env value masks nothing', async () => {
    const config = await loaded({
      'items.yaml': ITEMS,
      'alerting.yaml': `channels:
${MAIL_CHANNEL}`,
    })
    const secrets = new SecretMask()
    secrets.absorb(config.secrets)
    // A secret equal to a key name must not rename the key.
    secrets.add('secretkey-as-field')
    const lines: string[] = []
    const destination = { write: (line: string) => lines.push(line) } as unknown as DestinationStream
    const logger = createLogger({ secrets, destination })
    logger.info({ step: 'products', 'secretkey-as-field': `Bearer ${ENV.ITEMS_API_TOKEN}` }, 'smokeprobe started')
    const line = JSON.parse(lines[0] ?? '{}')
    expect(line).toMatchObject({ svc: 'smokeprobe', step: 'products', 'secretkey-as-field': 'Bearer ***', msg: 'smokeprobe started' })
    expect(lines[0]?.endsWith('\n')).toBe(true)
  })
})
