import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { argsOf, contextCopies, execForm, parseDockerfile, type Stage } from './dockerfile.ts'

const run = promisify(execFile)
const stages = parseDockerfile(readFileSync('Dockerfile', 'utf8'))
const runtime = stages.at(-1)!

function stage(name: string): Stage {
  const found = stages.find((s) => s.name === name)
  if (!found) throw new Error(`Dockerfile has no stage "${name}"`)
  return found
}

describe('Dockerfile', () => {
  it('is multi-stage and ends with the runtime on an official Node 24 slim image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    expect(runtime.name).toBe('runtime')
    for (const s of stages) expect(s.image).toMatch(/^node:24-[a-z]+-slim$/)
  })

  it('bundles in a build stage, without install scripts, and ships only the bundle', () => {
    const installs = stages.flatMap((s) => argsOf(s, 'RUN')).filter((cmd) => cmd.includes('npm ci'))
    expect(installs).toHaveLength(1)
    expect(installs[0]).toContain('--ignore-scripts')
    expect(argsOf(stage('build'), 'RUN').join('\n')).toContain('node scripts/build.js')
    expect(argsOf(runtime, 'RUN').join('\n')).not.toContain('npm ci')
    expect(argsOf(runtime, 'COPY')).toContain('--from=build /app/dist ./dist/')
    expect(argsOf(runtime, 'COPY').join('\n')).not.toContain('node_modules')
  })

  it('runs as the non-root node user', () => {
    expect(argsOf(runtime, 'USER')).toEqual(['node'])
    expect(argsOf(stage('demo-api'), 'USER')).toEqual(['node'])
  })

  it('keeps the app in /app, outside any node_modules path (where Node would refuse to strip types)', () => {
    for (const dir of argsOf(runtime, 'WORKDIR')) expect(dir).not.toContain('node_modules')
    expect(argsOf(runtime, 'WORKDIR')).toEqual(['/app'])
  })

  it('starts `probe run` through a probe command on PATH', () => {
    expect(execForm(argsOf(runtime, 'ENTRYPOINT')[0] ?? '')).toEqual(['probe'])
    expect(execForm(argsOf(runtime, 'CMD')[0] ?? '')).toEqual(['run'])
    expect(argsOf(runtime, 'RUN').join('\n')).toContain('ln -s /app/bin/probe.js /usr/local/bin/probe')
    expect(argsOf(runtime, 'STOPSIGNAL')).toEqual(['SIGTERM'])
  })

  it('keeps alert state on a volume named by SMOKEPROBE_STATE_DIR', () => {
    expect(argsOf(runtime, 'VOLUME')).toEqual(['/var/lib/smokeprobe'])
    expect(argsOf(runtime, 'ENV').join(' ')).toContain('SMOKEPROBE_STATE_DIR=/var/lib/smokeprobe')
    expect(argsOf(runtime, 'RUN').join('\n')).toContain('chown node:node /var/lib/smokeprobe')
  })

  it('bakes in every shipped path, and each exists in the repository', () => {
    const copies = contextCopies(runtime)
    for (const path of ['package.json', 'bin/', 'schema/', 'probes/', 'alerting/']) expect(copies).toContain(path)
    // The sources are in the bundle; the build stage copies them.
    expect(copies).not.toContain('src/')
    expect(contextCopies(stage('build'))).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'scripts/build.js', 'src/', 'bin/']),
    )
    for (const path of [...copies, ...contextCopies(stage('demo-api'))]) expect(existsSync(path), path).toBe(true)
  })

  it('carries OCI labels with the version and revision from build args', () => {
    const labels = argsOf(runtime, 'LABEL').join(' ')
    for (const key of ['title', 'description', 'licenses', 'source', 'created']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`)
    }
    expect(labels).toContain('org.opencontainers.image.version="$' + '{VERSION}"')
    expect(labels).toContain('org.opencontainers.image.revision="$' + '{REVISION}"')
    expect(argsOf(runtime, 'ARG').map((a) => a.split('=')[0])).toEqual(expect.arrayContaining(['VERSION', 'REVISION']))
  })

  it('has a .dockerignore that lets only the shipped paths into the build context', () => {
    const lines = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    expect(lines[0]).toBe('*')
    const allowed = lines.slice(1).map((line) => line.replace(/^!/, ''))
    for (const path of [...contextCopies(runtime), ...contextCopies(stage('demo-api'))]) expect(allowed).toContain(path)
    expect(allowed.some((path) => /node_modules|\.git|\.env|test/.test(path))).toBe(false)
  })
})

describe('Dockerfile HEALTHCHECK', () => {
  let server: Server | undefined
  afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())))

  const check = argsOf(runtime, 'HEALTHCHECK')[0] ?? ''
  const command = execForm(check.slice(check.indexOf('CMD ') + 4)) ?? []

  it('uses node (the image has no curl) against /healthz on the daemon port', () => {
    expect(check).toMatch(/--interval=\d+s/)
    expect(command.slice(0, 2)).toEqual(['node', '-e'])
    expect(command[2]).toContain('http://127.0.0.1:9464/healthz')
  })

  async function healthcheck(status: number | null): Promise<number> {
    let url = 'http://127.0.0.1:1/healthz' // nothing listens on port 1: connection refused
    if (status !== null) {
      server = createServer((req, res) => res.writeHead(req.url === '/healthz' ? status : 404).end())
      await new Promise<void>((listening) => server!.listen(0, '127.0.0.1', listening))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`
    }
    const script = command[2]!.replace('http://127.0.0.1:9464/healthz', url)
    return run(process.execPath, ['-e', script]).then(
      () => 0,
      (error: { code: number }) => error.code,
    )
  }

  it('exits 0 when /healthz answers 200', async () => {
    expect(await healthcheck(200)).toBe(0)
  })

  it('exits 1 when /healthz answers 503 or nothing listens', async () => {
    expect(await healthcheck(503)).toBe(1)
    expect(await healthcheck(null)).toBe(1)
  })
})
