/**
 * The installed entry point, as a user runs it: `bin/probe.js` in a child
 * process under the project's Node, its exit code and output.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type DemoApi, startDemoApi } from '../../demo/server.ts'
import { type CrudServer, startCrudServer, tempFiles } from './helpers.ts'

const NODE = path.resolve('node_modules/.bin/node')
const BIN = path.resolve('bin/probe.js')
const TOKEN = 'e2e-demo-token-5ecret'

interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

function start(args: readonly string[], env: Record<string, string> = {}): { child: ChildProcess; exit: Promise<Exit> } {
  // Only what the child needs: no NO_COLOR/CI inherited from the test runner to mask colour bugs, no stray secrets.
  const child = spawn(NODE, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const exit = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })))
  return { child, exit }
}

const probe = (args: readonly string[], env?: Record<string, string>) => start(args, env).exit

describe('bin/probe.js', () => {
  let api: DemoApi
  beforeAll(async () => {
    api = await startDemoApi({ token: TOKEN })
  })
  afterAll(() => api.close())

  test('validate passes on the shipped probes/ and alerting/ with the demo environment', async () => {
    const run = await probe(['validate'], { ITEMS_API_URL: api.url, ITEMS_API_TOKEN: TOKEN })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('ok  probes/items-crud.yaml  (items-crud)')
    expect(run.stdout).toContain('ok  alerting/alerting.yaml')
  })

  test('run --once passes against the demo API, and fails naming the step and reason when it misbehaves', async () => {
    const env = { ITEMS_API_URL: api.url, ITEMS_API_TOKEN: TOKEN }
    const healthy = await probe(['run', '--once'], env)
    expect(healthy.code).toBe(0)
    expect(healthy.stdout).toMatch(/\n3 passed, 0 failed of 3 probes in /)
    api.setFault('error')
    try {
      const faulty = await probe(['run', '--once', '--only', 'items-crud'], env)
      expect(faulty.code).toBe(1)
      expect(faulty.stdout).toContain('FAIL items-crud')
      expect(faulty.stdout).toContain('      read: expected status 200, got 500\n')
      expect(faulty.stdout + faulty.stderr).not.toContain(TOKEN)
    } finally {
      api.setFault('ok')
    }
    expect(api.items.size).toBe(0)
  })

  test('a configuration error exits 2 with file, field and reason, and no stack trace', async () => {
    const run = await probe(['validate', '--probes', 'test/fixtures/invalid/bad-status.yaml'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(
      'test/fixtures/invalid/bad-status.yaml: steps[0].expect.status: expected a status code (100-599) or a list of them, got "ok"',
    )
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })

  describe('Ctrl-C during run --once', () => {
    let server: CrudServer
    beforeAll(async () => {
      server = await startCrudServer(TOKEN)
    })
    afterAll(() => server.close())

    test('aborts the runs in flight, reports them as aborted and exits 1', async () => {
      const { dir, remove } = await tempFiles({
        'hang.yaml': 'name: hang\ntimeout: 20s\nsteps: [{ name: wait, request: { url: "{{ env.API_URL }}/hang" } }]\n',
      })
      try {
        const { child, exit } = start(['run', '--once', '--probes', dir], { API_URL: server.url })
        await server.hung
        child.kill('SIGINT')
        const run = await exit
        expect(run.code).toBe(1)
        expect(run.stderr).toContain('interrupted: stopping the runs')
        expect(run.stdout).toMatch(/^ABORTED hang/)
      } finally {
        await remove()
      }
    })
  })
})
