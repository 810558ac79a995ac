import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { lastRunStatus } from '../../src/server/status.ts'
import { cli, tempFiles } from './helpers.ts'

const exec = promisify(execFile)
/** The token as a secret; the tenant as a credential-named header reads it through a var; the base URL is shown. */
const TOKEN = "tok-'quoted' $HOME-0123456789"
const KEY = 'key-abcdef0123456789'

let server: Server
let url: string
let seen: { method: string; url: string; authorization?: string; key?: string; body: string }[]
let answer: { status: number; type?: string; body: Buffer | string }

beforeEach(async () => {
  seen = []
  answer = { status: 500, type: 'application/json', body: '{}' }
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const authorization = req.headers.authorization
      const key = req.headers['x-api-key'] as string | undefined
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization, key, body: Buffer.concat(chunks).toString() })
      // The server checks the credentials, so a reproduction without them would get a 401, not the 500.
      if (authorization !== `Bearer ${TOKEN}` || key !== KEY) return res.writeHead(401).end('who are you?')
      res.writeHead(answer.status, answer.type ? { 'content-type': answer.type } : {}).end(answer.body)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterEach(async () => {
  server.close()
  await once(server, 'close')
})

const PROBE = `name: items-crud
vars:
  base: "{{ env.API_URL }}"
steps:
  - name: read
    request:
      method: POST
      url: "{{ base }}/items/1?tenant=eu"
      headers:
        authorization: "Bearer {{ secret.API_TOKEN }}"
        x-api-key: "{{ env.API_KEY }}"
      json: { note: "it's {{ run.id }}" }
    expect: { status: 200 }
`

async function runOnce(extra: string[] = []) {
  const files = await tempFiles({ 'items.yaml': PROBE })
  try {
    return await cli(['run', '--once', '--probes', files.dir, ...extra], { env: { API_URL: url, API_TOKEN: TOKEN, API_KEY: KEY } })
  } finally {
    await files.remove()
  }
}

describe('failure evidence', () => {
  test('the report shows the excerpt under the reason, masked; the address is shown, no secret is', async () => {
    answer = { status: 500, type: 'application/json', body: JSON.stringify({ error: 'database down', echo: `Bearer ${TOKEN}`, key: KEY }) }
    const run = await runOnce()
    expect(run.code).toBe(1)
    const lines = run.stdout.split('\n')
    const reason = lines.indexOf('      read: expected status 200, got 500')
    expect(reason).toBeGreaterThan(0)
    expect(lines[reason - 1]).toContain(`POST ${url}/items/1?tenant=eu  → 500`)
    expect(lines.slice(reason + 1, reason + 3)).toEqual([
      '      body (application/json):',
      `        ${JSON.stringify({ error: 'database down', echo: 'Bearer ***', key: '***' })}`,
    ])
    for (const secret of [TOKEN, KEY]) {
      for (let i = 0; i + 6 <= secret.length; i++) expect(run.stdout).not.toContain(secret.slice(i, i + 6))
    }
  })

  test('the reproduce: line, run with sh -c where the secrets are set, gets the same status', async () => {
    answer = { status: 500, type: 'text/plain', body: 'boom' }
    const run = await runOnce()
    const line = run.stdout.split('\n').find((l) => l.startsWith('      reproduce: '))
    expect(line).toBeDefined()
    const command = line?.slice('      reproduce: '.length) ?? ''
    expect(command).toContain('"$API_TOKEN"')
    expect(command).toContain('"$API_KEY"')
    expect(command).not.toContain(TOKEN)
    expect(command).not.toContain(KEY)
    const before = seen.length
    const { stdout } = await exec('sh', ['-c', `${command} -o /dev/null -w '%{http_code}'`], {
      env: { PATH: process.env.PATH, API_TOKEN: TOKEN, API_KEY: KEY },
    })
    expect(stdout).toBe('500')
    // The same request: method, URL, credentials and body.
    expect(seen[before]).toEqual({ ...seen[0], method: 'POST' })
  })

  test('a body over 512 bytes is cut after masking: a secret across the cut leaves no prefix; a binary body is summarised', async () => {
    answer = { status: 500, type: 'text/plain; charset=utf-8', body: `${'x'.repeat(505)}${KEY}${'y'.repeat(100)}` }
    const json = await runOnce(['--json'])
    const failure = JSON.parse(json.stdout).results[0].failure
    expect(failure).toMatchObject({ status: 500, contentType: 'text/plain; charset=utf-8' })
    expect(failure.bodyExcerpt).toBe(`${'x'.repeat(505)}***${'y'.repeat(4)}…`)
    expect(json.stdout).not.toContain(KEY.slice(0, 6))

    answer = { status: 500, type: 'image/png', body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]) }
    const binary = await runOnce(['--json'])
    const result = JSON.parse(binary.stdout).results[0]
    expect(result.failure.bodyExcerpt).toBe('<8 bytes of image/png>')
    // /api/probes carries the same evidence.
    expect(lastRunStatus(result).failure).toMatchObject({ status: 500, contentType: 'image/png', bodyExcerpt: '<8 bytes of image/png>' })
  })

  test('control characters in a body are shown, not sent to the terminal', async () => {
    answer = { status: 500, type: 'text/plain', body: 'red \u001b[31malert\u001b[0m\r\nnext' }
    const run = await runOnce()
    expect(run.stdout).toContain('        red \\x1b[31malert\\x1b[0m\n        next\n')
  })
})
