/**
 * `npm run demo` as a newcomer runs it, as a process: the demo breaks its API
 * on purpose (here 1 s in, for 16 s: three failed runs of the 5-second probe),
 * the firing arrives by email and webhook and is printed, the status page
 * shows the incident and who was told, and healing prints the resolve.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../daemon/harness.ts'

let child: ChildProcess | undefined
let dir: string | undefined
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL')
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('npm run demo', () => {
  it('shows the firing by email and webhook within a minute, the incident on the page, and the resolve after healing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'smokeprobe-demo-'))
    const port = await freePort()
    child = spawn(process.execPath, ['scripts/demo.ts', '--listen', `127.0.0.1:${port}`, '--state-dir', join(dir, 'state')], {
      env: { ...process.env, DEMO_FAULT_AT_MS: '1000', DEMO_FAULT_FOR_MS: '16000', SMOKEPROBE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
    const notifications = () => out.split('\n').filter((line) => line.startsWith('>>> notification: '))

    await waitFor('the firing by email and webhook', () => notifications().length >= 2, 60_000)
    expect(out).toContain('demo: fault injected')
    expect(notifications().sort()).toEqual([
      expect.stringMatching(
        /^>>> notification: email to oncall@demo\.invalid: \[smokeprobe\] FIRING demo-items-fast: list: expected status 200, got 500/,
      ),
      expect.stringMatching(
        /^>>> notification: webhook firing: FIRING demo-items-fast: list: expected status 200, got 500 \(3 consecutive failures/,
      ),
    ])
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text()
    expect(page).toContain('Incident open since')
    await waitFor('both deliveries on the page', async () => {
      const html = await (await fetch(`http://127.0.0.1:${port}/`)).text()
      return html.includes('mail: firing sent') && html.includes('hook: firing sent')
    })

    await waitFor('the resolve by email and webhook', () => notifications().length >= 4, 30_000)
    expect(out).toContain('demo: fault healed')
    expect(notifications().slice(2).sort()).toEqual([
      expect.stringMatching(/^>>> notification: email to oncall@demo\.invalid: \[smokeprobe\] RESOLVED demo-items-fast/),
      expect.stringMatching(/^>>> notification: webhook resolved: RESOLVED demo-items-fast: passing again/),
    ])
    child.kill('SIGTERM')
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(0)
  }, 90_000)
})
