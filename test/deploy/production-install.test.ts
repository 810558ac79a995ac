/**
 * What the image runs, without a Docker engine: the build stage's files in one
 * clean directory, bundled there (scripts/build.js, with this checkout's
 * installed dependencies, as the stage's `npm ci` installs them from the same
 * lock file), and the runtime stage's files plus that dist/ in another, with
 * no node_modules and no sources, run by Node 24. A dependency the bundle
 * leaves out, or a shipped file the image forgets, fails here.
 */
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DemoApi, startDemoApi } from '../../demo/server.ts'
import { buildBundle } from '../../scripts/build.js'
import { contextCopies, parseDockerfile } from './dockerfile.ts'

const exec = promisify(execFile)
const TOKEN = 'prod-install-token'
const stages = parseDockerfile(readFileSync('Dockerfile', 'utf8'))
const runtime = stages.at(-1)!
const build = stages.find((stage) => stage.name === 'build')!
let dir = ''
let buildDir = ''
let api: DemoApi

/** npm run/exec export settings of this checkout (its local prefix, its package); the clean copy must not see them. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|cafile|userconfig|globalconfig|registry)$/
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || keep.test(key)))
  return { ...env, NO_COLOR: '1', ...extra }
}

async function probe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = cleanEnv({ ITEMS_API_URL: api.url, ITEMS_API_TOKEN: TOKEN })
  try {
    const { stdout, stderr } = await exec(process.execPath, ['bin/probe.js', ...args], { cwd: dir, env, timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string }
    if (typeof failed.code !== 'number') throw error
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

beforeAll(async () => {
  buildDir = mkdtempSync(join(tmpdir(), 'smokeprobe-build-'))
  for (const path of contextCopies(build)) cpSync(path, join(buildDir, path), { recursive: true })
  symlinkSync(resolve('node_modules'), join(buildDir, 'node_modules'))
  expect(await buildBundle(buildDir)).not.toBeNull()
  dir = mkdtempSync(join(tmpdir(), 'smokeprobe-production-'))
  for (const path of contextCopies(runtime)) cpSync(path, join(dir, path), { recursive: true })
  cpSync(join(buildDir, 'dist'), join(dir, 'dist'), { recursive: true })
  api = await startDemoApi({ token: TOKEN })
}, 300_000)

afterAll(async () => {
  await api?.close()
  for (const made of [dir, buildDir]) if (made) rmSync(made, { recursive: true, force: true })
})

describe('production install (what the image runs)', () => {
  it('holds the bundle, and neither node_modules nor sources', () => {
    expect(existsSync(join(dir, 'dist', 'build.json'))).toBe(true)
    for (const absent of ['node_modules', 'src', 'test', 'scripts']) expect(existsSync(join(dir, absent)), absent).toBe(false)
  })

  it('`probe validate` accepts the shipped probes and alerting file', async () => {
    const result = await probe(['validate'])
    expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (package|module)/)
    expect(result.code).toBe(0)
  })

  it('`probe run --once` passes every shipped probe against the demo API and cleans up', async () => {
    const result = await probe(['run', '--once'])
    expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (package|module)/)
    expect(result.code).toBe(0)
    for (const name of ['items-crud', 'items-list', 'demo-health']) expect(result.stdout).toContain(name)
    expect(result.stdout).not.toContain(TOKEN)
    expect(api.items.size).toBe(0)
  })

  it('`probe run --once` exits 1 and names the failing step when the API breaks', async () => {
    api.setFault('error')
    try {
      const result = await probe(['run', '--once', '--only', 'items-crud'])
      expect(result.code).toBe(1)
      expect(result.stdout).toContain('read')
      expect(result.stdout).toContain('500')
      expect(api.items.size).toBe(0)
    } finally {
      api.setFault('ok')
    }
  })
})
