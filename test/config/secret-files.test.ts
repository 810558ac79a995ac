import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { loadConfig } from '../../src/loader/load.ts'
import { cli } from '../cli/helpers.ts'

let dir: string
let secretsDir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-secret-files-'))
  secretsDir = path.join(dir, 'secrets')
  await mkdir(secretsDir)
  await writeFile(
    path.join(dir, 'probe.yaml'),
    'name: filed\nsteps: [{ name: a, request: { url: "http://127.0.0.1:9/", headers: { authorization: "Bearer {{ secret.API_TOKEN }}" } } }]\n',
  )
})
afterEach(async () => {
  await chmod(secretsDir, 0o755).catch(() => {})
  await rm(dir, { recursive: true, force: true })
})

async function load(env: Record<string, string> = {}, dirOverride: string | null = secretsDir) {
  return loadConfig({ probePaths: [path.join(dir, 'probe.yaml')], alertingPath: null, env, secretsDir: dirOverride })
}

async function problems(env: Record<string, string> = {}, dirOverride: string | null = secretsDir) {
  const result = await load(env, dirOverride)
  if (result.ok) throw new Error('expected the configuration to be refused')
  return result.diagnostics.map((d) => d.message)
}

function header(result: Awaited<ReturnType<typeof load>>): string | undefined {
  if (!result.ok) throw new Error(JSON.stringify(result.diagnostics))
  return result.config.probes[0]?.steps[0]?.request.headers.authorization?.parts.map((p) => ('text' in p ? p.text : '')).join('')
}

describe('{{ secret.NAME }} from a file', () => {
  test('reads the file NAME in the secrets directory, one trailing newline dropped; the environment wins', async () => {
    await writeFile(path.join(secretsDir, 'API_TOKEN'), 'from-file-0123456789\n')
    const result = await load()
    expect(header(result)).toBe('Bearer from-file-0123456789')
    expect(result.ok && result.config.secrets.mask('from-file-0123456789')).toBe('***')
    expect(header(await load({ API_TOKEN: 'from-env-0123456789' }))).toBe('Bearer from-env-0123456789')
    await writeFile(path.join(secretsDir, 'API_TOKEN'), 'crlf-file-0123456789\r\n')
    expect(header(await load())).toBe('Bearer crlf-file-0123456789')
  })

  test('a second trailing newline is a line break: an error naming the variable', async () => {
    await writeFile(path.join(secretsDir, 'API_TOKEN'), 'from-file-0123456789\n\n')
    expect(await problems()).toEqual(['secret API_TOKEN holds a line break (a trailing newline?); remove it'])
  })

  test('missing: the error names the variable and the file it looked for', async () => {
    expect(await problems()).toEqual([
      `secret API_TOKEN is not set: no environment variable API_TOKEN, and no file ${path.join(secretsDir, 'API_TOKEN')}`,
    ])
    expect(await problems({}, null)).toEqual([
      'secret API_TOKEN is not set: no environment variable API_TOKEN, and no secrets directory (give --secrets-dir)',
    ])
  })

  test('a file larger than 64 KiB, and an unreadable directory, are clear errors', async () => {
    await writeFile(path.join(secretsDir, 'API_TOKEN'), 'x'.repeat(64 * 1024 + 1))
    expect(await problems()).toEqual([`secret API_TOKEN: ${path.join(secretsDir, 'API_TOKEN')} is 65537 bytes; a secret file holds at most 64 KiB`])
    if (process.getuid?.() === 0) return // root reads any directory
    await chmod(secretsDir, 0o000)
    expect(await problems()).toEqual([
      `secret API_TOKEN is not set in the environment, and the secrets directory ${secretsDir} cannot be read (EACCES)`,
    ])
  })

  test('--secrets-dir and SMOKEPROBE_SECRETS_DIR reach the loader', async () => {
    await writeFile(path.join(secretsDir, 'API_TOKEN'), 'from-file-0123456789\n')
    const flag = await cli(['validate', '--probes', path.join(dir, 'probe.yaml'), '--secrets-dir', secretsDir], { env: {} })
    expect(flag.stderr).toBe('')
    expect(flag.stdout).toContain('API_TOKEN: secret (read with {{ secret.API_TOKEN }} in filed)')
    const env = await cli(['validate', '--probes', path.join(dir, 'probe.yaml')], { env: { SMOKEPROBE_SECRETS_DIR: secretsDir } })
    expect(env.code).toBe(0)
    const none = await cli(['validate', '--probes', path.join(dir, 'probe.yaml')], { env: {} })
    expect(none.code).toBe(2)
  })
})
