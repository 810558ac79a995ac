import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, test } from 'vitest'
import { type TestServer, startServer } from '../probe/servers.ts'

/**
 * DNS lookups share libuv's thread pool with fs calls. With the default 4
 * threads, 8 stuck pool jobs (hung lookups, a stalled disk) made a probe of
 * `localhost` time out; `bin/probe.js` widens the pool before anything starts it.
 */
const run = promisify(execFile)
const servers: TestServer[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

describe('the thread pool', () => {
  test('8 stuck pool jobs: a probe of localhost still resolves and passes within its 1s timeout', async () => {
    const server = await startServer((_req, res) => res.end('ok'))
    servers.push(server)
    const dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-pool-'))
    dirs.push(dir)
    const fifo = path.join(dir, 'fifo')
    await run('mkfifo', [fifo])
    await writeFile(
      path.join(dir, 'local.yaml'),
      `name: local\ntimeout: 1s\nsteps:\n  - name: get\n    request: { url: "http://localhost:${server.port}/" }\n`,
    )
    const { UV_THREADPOOL_SIZE: _, ...env } = process.env
    const child = await run(
      process.execPath,
      ['--import', './test/cli/busy-threadpool.ts', 'bin/probe.js', 'run', '--once', '--json', '--probes', dir],
      { env: { ...env, BUSY_FIFO: fifo, BUSY_JOBS: '8' }, timeout: 30_000 },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
    const report = JSON.parse(child.stdout) as { results: { outcome: string; failure: { message: string } | null }[] }
    expect(report.results[0]?.failure?.message ?? null).toBeNull()
    expect(report.results[0]?.outcome).toBe('success')
  }, 40_000)
})
