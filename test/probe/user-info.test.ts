import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterEach, describe, expect, test } from 'vitest'
import { userInfoCredentials } from '../../src/probe/exchange.ts'
import { runProbe } from '../../src/probe/run.ts'
import { buildProbe, startServer, type TestServer } from './servers.ts'

/**
 * A URL's user-info is a credential (README "Secrets"): the step sends it as
 * `Basic`, as curl does with the `reproduce:` line, and never puts it on the
 * request line; every output masks it.
 */
const exec = promisify(execFile)
const servers: TestServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`

describe('userInfoCredentials', () => {
  test.each([
    ['http://probe:s3cret-pass@h/x', {}, 'http://h/x', basic('probe:s3cret-pass')],
    // Escapes are decoded as curl decodes them; a lone % is kept.
    ['http://pr%20obe:a%26b%3A%22c%@h/', {}, 'http://h/', basic('pr obe:a&b:"c%')],
    ['http://:only-a-password@h/', {}, 'http://h/', basic(':only-a-password')],
    ['http://probe@h/', {}, 'http://h/', basic('probe:')],
    // The step's own authorization wins; the user-info still leaves the URL.
    ['http://probe:pw@h/', { Authorization: 'Bearer t' }, 'http://h/', 'Bearer t'],
    ['http://h/x', { 'x-a': '1' }, 'http://h/x', undefined],
  ])('%s %j', (url, headers, sent, authorization) => {
    const out = userInfoCredentials(new URL(url), headers)
    expect(out.url.href).toBe(sent)
    expect(out.headers.authorization ?? out.headers.Authorization).toBe(authorization)
  })
})

describe('a step whose URL holds user-info', () => {
  test('sends it as Basic, the server checks it; the reproduce line gets the same status from curl', async () => {
    const password = 'Vq7&Zp+!"x%'
    const seen: { authorization?: string; url?: string }[] = []
    const server = await startServer((req, res) => {
      seen.push({ authorization: req.headers.authorization, url: req.url })
      res.writeHead(req.headers.authorization === basic(`probe:${password}`) ? 503 : 401).end()
    })
    servers.push(server)
    const file = {
      name: 'basic',
      steps: [{ name: 'read', request: { url: `http://probe:{{ secret.PASS }}@127.0.0.1:${server.port}/items` }, expect: { status: 200 } }],
    }
    const { probe, secrets } = buildProbe(file, { PASS: password })
    const result = await runProbe(probe, { secrets })
    expect(result.failure).toMatchObject({ step: 'read', status: 503 })
    expect(seen[0]).toEqual({ authorization: basic(`probe:${password}`), url: '/items' })
    const command = result.steps[0]?.reproduce ?? ''
    expect(command).toContain('"$PASS"')
    const { stdout } = await exec('sh', ['-c', `${command} -o /dev/null -w '%{http_code}'`], { env: { PATH: process.env.PATH, PASS: password } })
    expect(stdout).toBe('503')
  })
})
