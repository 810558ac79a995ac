import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, test } from 'vitest'
import { compileCacheDir, DAEMON_V8_FLAGS, entryModule, heapFlags, startsDaemon } from '../../bin/startup.js'

/** What bin/probe.js settles before the first module loads: the daemon's heap flags and the compile cache. */
const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})
async function scratch(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-startup-'))
  dirs.push(dir)
  return dir
}
const uid = process.getuid?.() ?? -1

describe('heap flags', () => {
  test.each([
    [['run'], true],
    [['run', '--probes', 'p'], true],
    [['run', '--once'], false],
    [['run', '--probes', 'p', '--once'], false],
    [['run', '--once=true'], false],
    [['validate'], false],
    [['list', 'run'], false],
    [[], false],
  ])('%j starts the daemon: %s', (argv, daemon) => {
    expect(startsDaemon(argv)).toBe(daemon)
  })

  test.each([
    ['the daemon, no operator flags', ['run'], [], undefined, DAEMON_V8_FLAGS],
    ['the daemon, unrelated NODE_OPTIONS', ['run'], [], '--enable-source-maps --import x.js', DAEMON_V8_FLAGS],
    ['a one-shot command', ['run', '--once'], [], undefined, []],
    ['validate', ['validate'], [], undefined, []],
    ['NODE_OPTIONS sizes the young generation', ['run'], [], '--max-semi-space-size=4', []],
    ['NODE_OPTIONS caps the old generation: a cap goes with the settings', ['run'], [], '--import x.js  --max-old-space-size=384', DAEMON_V8_FLAGS],
    ['NODE_OPTIONS sizes the young generation beside a cap', ['run'], [], '--max-semi-space-size=4 --max-old-space-size=384', []],
    ['NODE_OPTIONS with underscores', ['run'], [], '--max_semi_space_size=4', []],
    ['a node flag before the bin', ['run'], ['--semi-space-growth-factor=2'], undefined, []],
    ['--max-heap-size before the bin: a cap', ['run'], ['--max-heap-size=256'], '', DAEMON_V8_FLAGS],
    ['the growing percent chosen by the operator', ['run'], [], '--heap-growing-percent=50', []],
    ['a flag that only starts like one', ['run'], ['--max-old-space-size-x'], undefined, DAEMON_V8_FLAGS],
  ])('%s', (_name, argv, execArgv, nodeOptions, expected) => {
    expect(heapFlags(argv, execArgv, nodeOptions)).toEqual(expected)
  })
})

describe('the compile cache directory', () => {
  test('a directory of its own under the temp dir, created private', async () => {
    const tmp = await scratch()
    const dir = compileCacheDir({}, tmp, uid)
    expect(dir).toBe(path.join(tmp, `smokeprobe-compile-cache-${uid}`))
    expect(statSync(dir as string).mode & 0o077).toBe(0)
    expect(compileCacheDir({}, tmp, uid)).toBe(dir)
  })

  test('the daemon, which applies V8 flags, has its own: V8 rejects code cached under other flags', async () => {
    const tmp = await scratch()
    const dir = compileCacheDir({}, tmp, uid, DAEMON_V8_FLAGS)
    expect(dir).toBe(path.join(tmp, `smokeprobe-compile-cache-${uid}-semi-space-growth-factor-1-heap-growing-percent-20`))
    expect(dir).not.toBe(compileCacheDir({}, tmp, uid))
  })

  test('refused when others could write to it: its entries are code Node runs', async () => {
    const tmp = await scratch()
    const dir = path.join(tmp, `smokeprobe-compile-cache-${uid}`)
    mkdirSync(dir)
    chmodSync(dir, 0o777)
    expect(compileCacheDir({}, tmp, uid)).toBeNull()
  })

  test('refused when it belongs to another user', async () => {
    const tmp = await scratch()
    const other = uid + 1
    mkdirSync(path.join(tmp, `smokeprobe-compile-cache-${other}`), { mode: 0o700 })
    expect(compileCacheDir({}, tmp, other)).toBeNull()
  })

  test('a symlink in its place is refused', async () => {
    const tmp = await scratch()
    const { symlinkSync } = await import('node:fs')
    symlinkSync(tmp, path.join(tmp, `smokeprobe-compile-cache-${uid}`))
    expect(compileCacheDir({}, tmp, uid)).toBeNull()
  })

  test('a temp dir that cannot hold it means no cache, not an error', async () => {
    const tmp = await scratch()
    const file = path.join(tmp, 'not-a-dir')
    writeFileSync(file, '')
    expect(compileCacheDir({}, file, uid)).toBeNull()
  })

  test("the operator's NODE_COMPILE_CACHE is used as given; NODE_DISABLE_COMPILE_CACHE=1 turns it off", () => {
    expect(compileCacheDir({ NODE_COMPILE_CACHE: '/var/cache/x' }, '/nonexistent', uid)).toBe('/var/cache/x')
    expect(compileCacheDir({ NODE_DISABLE_COMPILE_CACHE: '1' }, tmpdir(), uid)).toBeNull()
  })
})

describe('bin/probe.js', () => {
  const run = promisify(execFile)
  const probe = 'name: one\nsteps:\n  - name: get\n    request: { url: "http://127.0.0.1:1/" }\n'

  test('fills the compile cache in its own directory, and validates the same from it', async () => {
    const tmp = await scratch()
    await writeFile(path.join(tmp, 'one.yaml'), probe)
    const env = { ...process.env, TMPDIR: tmp, NODE_COMPILE_CACHE: '', NODE_DISABLE_COMPILE_CACHE: '' }
    const first = await run(process.execPath, ['bin/probe.js', 'validate', '--probes', path.join(tmp, 'one.yaml')], { env })
    const cache = path.join(tmp, `smokeprobe-compile-cache-${uid}`)
    expect(statSync(cache).isDirectory()).toBe(true)
    const second = await run(process.execPath, ['bin/probe.js', 'validate', '--probes', path.join(tmp, 'one.yaml')], { env })
    expect(second.stdout).toBe(first.stdout)
    expect(first.stdout).toContain('valid: 1 probe')
  }, 30_000)

  test('starts when the temp dir cannot be written (a read-only filesystem): validate exits 0', async () => {
    const tmp = await scratch()
    await writeFile(path.join(tmp, 'one.yaml'), probe)
    const blocked = path.join(tmp, 'blocked')
    writeFileSync(blocked, '')
    const env = { ...process.env, TMPDIR: blocked, NODE_COMPILE_CACHE: '', NODE_DISABLE_COMPILE_CACHE: '' }
    const result = await run(process.execPath, ['bin/probe.js', 'validate', '--probes', path.join(tmp, 'one.yaml')], { env })
    expect(result.stdout).toContain('valid: 1 probe')
    expect(result.stderr).toBe('')
  }, 30_000)

  /** Preloaded: writes every module URL the process resolved to LOADED_FILE at exit. */
  const RECORD = `data:text/javascript,${encodeURIComponent(`
    import { registerHooks } from 'node:module'
    import { writeFileSync } from 'node:fs'
    const seen = new Set()
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.add(r.url); return r } })
    process.on('exit', () => writeFileSync(process.env.LOADED_FILE, JSON.stringify([...seen])))
  `)}`

  /** A package's name from a path under node_modules. */
  const packageOf = (file: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1]

  /**
   * The packages a command loaded: from node_modules when it ran the sources, or, when it ran the
   * bundle, the packages esbuild put into each dist/ file it loaded (dist/meta.json).
   */
  async function packagesLoaded(args: string[], dir: string): Promise<{ bundle: boolean; packages: string[] }> {
    const file = path.join(dir, 'loaded.json')
    // In `dir`, which has no ./alerting/alerting.yaml to load by default.
    const bin = path.resolve('bin/probe.js')
    const env = { ...process.env, LOADED_FILE: file }
    await run(process.execPath, ['--import', RECORD, bin, ...args], { env, cwd: dir }).catch((error: { stdout?: string }) => error)
    const urls = JSON.parse(readFileSync(file, 'utf8')) as string[]
    const dist = path.resolve('dist')
    const meta = JSON.parse(readFileSync(path.join(dist, 'meta.json'), 'utf8')) as {
      outputs: Record<string, { inputs: Record<string, unknown> }>
    }
    const packages = new Set<string>()
    let bundle = false
    for (const url of urls.filter((u) => u.startsWith('file:'))) {
      const loaded = fileURLToPath(url)
      if (loaded.startsWith(dist + path.sep)) {
        bundle = true
        for (const input of Object.keys(meta.outputs[`dist/${path.basename(loaded)}`]?.inputs ?? {})) {
          const name = packageOf(input)
          if (name) packages.add(name)
        }
      } else {
        const name = packageOf(loaded)
        if (name) packages.add(name)
      }
    }
    return { bundle, packages: [...packages] }
  }

  test('starts the bundle the tree was built into (vitest builds it first: test/support/build-bundle.ts)', async () => {
    const tmp = await scratch()
    await writeFile(path.join(tmp, 'one.yaml'), probe)
    const validate = await packagesLoaded(['validate', '--probes', path.join(tmp, 'one.yaml')], tmp)
    expect(validate.bundle).toBe(true)
  }, 30_000)

  test('validate loads no HTTP client, logger or mail client, with an alerting file too, and yaml only for a file with a problem; run --once no mail client or logger', async () => {
    const tmp = await scratch()
    await writeFile(path.join(tmp, 'one.yaml'), probe)
    await writeFile(path.join(tmp, 'alerting.yaml'), 'channels: {}\n')
    const { packages: validate } = await packagesLoaded(
      ['validate', '--probes', path.join(tmp, 'one.yaml'), '--alerting', path.join(tmp, 'alerting.yaml')],
      tmp,
    )
    // An alerting file is read: its channel schemas load, but the mail client waits for the first mail.
    expect(validate).toContain('zod')
    expect(validate).not.toContain('nodemailer')
    await writeFile(path.join(tmp, 'bare.yaml'), probe.replace('one', 'bare'))
    const { packages: bare } = await packagesLoaded(['validate', '--probes', path.join(tmp, 'bare.yaml')], tmp)
    // Plain YAML is read by js-yaml's event parser; yaml, which tells where a problem is, only when one is.
    expect(bare).toContain('js-yaml')
    expect(bare).not.toContain('yaml')
    await writeFile(path.join(tmp, 'broken.yaml'), 'name: [unclosed\n')
    const { packages: broken } = await packagesLoaded(['validate', '--probes', path.join(tmp, 'broken.yaml')], tmp)
    expect(broken).toContain('yaml')
    const told = await run(process.execPath, ['bin/probe.js', 'validate', '--probes', path.join(tmp, 'broken.yaml')]).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    )
    expect(told).toMatchObject({ code: 2 })
    expect(`${told.stdout}${told.stderr}`).toContain('broken.yaml: YAML syntax error at line 2, column 1')
    for (const name of ['undici', 'pino', 'nodemailer', 'prom-client']) expect(bare).not.toContain(name)
    const { packages: once } = await packagesLoaded(['run', '--once', '--probes', path.join(tmp, 'bare.yaml')], tmp)
    expect(once).toContain('undici')
    for (const name of ['nodemailer', 'prom-client', 'pino']) expect(once).not.toContain(name)
  }, 60_000)
})

describe('entry module', () => {
  const root = '/app'
  const manifest = JSON.stringify({ main: 'main-ABC.js', inputs: { 'src/cli/main.ts': [10, 1000], 'package-lock.json': [20, 2000] } })
  /** A filesystem of `files` (path → [size, mtimeMs]) and dist/build.json's text, or none. */
  const fsOf = (files: Record<string, readonly number[]>, buildJson: string | null) => ({
    existsSync: (p: string) => p in files,
    readFileSync: (p: string) => {
      if (p !== '/app/dist/build.json' || buildJson === null) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
      return buildJson
    },
    statSync: (p: string) => (p in files ? { size: files[p]![0]!, mtimeMs: files[p]![1]! } : undefined),
  })
  const fresh: Record<string, readonly number[]> = { '/app/src/cli/main.ts': [10, 1000], '/app/package-lock.json': [20, 2000] }
  test.each([
    ['a checkout built from these very files: the bundle', fresh, manifest, '/app/dist/main-ABC.js'],
    ['a source edited since (mtime)', { ...fresh, '/app/src/cli/main.ts': [10, 1001] }, manifest, '/app/src/cli/main.ts'],
    ['a source edited since (size)', { ...fresh, '/app/src/cli/main.ts': [11, 1000] }, manifest, '/app/src/cli/main.ts'],
    ['a lock file changed (other dependencies)', { ...fresh, '/app/package-lock.json': [20, 2500] }, manifest, '/app/src/cli/main.ts'],
    ['a recorded file removed', { '/app/src/cli/main.ts': [10, 1000] }, manifest, '/app/src/cli/main.ts'],
    ['never built', fresh, null, '/app/src/cli/main.ts'],
    ['a torn build.json', fresh, '{"main":', '/app/src/cli/main.ts'],
    ['no sources beside it (the image, a package): the bundle', {}, manifest, '/app/dist/main-ABC.js'],
  ])('%s', (_, files, buildJson, expected) => {
    expect(entryModule(root, fsOf(files, buildJson))).toBe(expected)
  })

  test('a checkout edited after its build runs the edit, and the bundle again once rebuilt', async () => {
    const tree = await scratch()
    const { cp, symlink, appendFile } = await import('node:fs/promises')
    for (const part of ['bin', 'src', 'package.json', 'package-lock.json']) await cp(part, path.join(tree, part), { recursive: true })
    await symlink(path.resolve('node_modules'), path.join(tree, 'node_modules'))
    const { buildBundle } = await import('../../scripts/build.js')
    await buildBundle(tree)
    const version = () => promisify(execFile)(process.execPath, [path.join(tree, 'bin', 'probe.js'), '--version'])
    expect((await version()).stderr).toBe('')
    await appendFile(path.join(tree, 'src', 'cli', 'main.ts'), "\nprocess.stderr.write('edited\\n')\n")
    expect((await version()).stderr).toBe('edited\n')
    await buildBundle(tree)
    const rebuilt = await version()
    expect(rebuilt.stderr).toBe('edited\n')
    expect(entryModule(tree, await import('node:fs'))).toMatch(/dist\/main-[A-Z0-9]+\.js$/)
  }, 60_000)
})
