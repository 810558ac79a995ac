import { afterEach, describe, expect, test } from 'vitest'
import { JWT, type TestServer, json, startServer } from '../probe/servers.ts'
import { cli, tempFiles } from './helpers.ts'

/** The `run --once` report, `--json` and debug logs never show a prefix of a long secret a message had to cut. */
const servers: TestServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

describe('run --once with a 150-character secret in a failure', () => {
  test('the report, --json and the debug logs show it masked, never a cut prefix', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/token') return json(res, 200, { token: 'not-the-one' })
      res.writeHead(200, { 'x-echo': `key=${JWT}`, 'content-length': '0' }).end()
    })
    servers.push(server)
    const probe = `name: long-secret
vars: { base: "${server.url}" }
steps:
  - name: token
    request: { url: "{{ base }}/token" }
    expect: { json: { $.token: "{{ secret.JWT }}" } }
  - name: echo
    cleanup: true
    request: { url: "{{ base }}/echo" }
    expect: { headers: { x-echo: nope } }
`
    const { dir, remove } = await tempFiles({ 'long-secret.yaml': probe })
    try {
      const env = { JWT }
      const text = await cli(['run', '--once', '--probes', dir, '--log-level', 'debug'], { env })
      const asJson = await cli(['run', '--once', '--json', '--probes', dir, '--log-level', 'debug'], { env })
      expect(text.code).toBe(1)
      expect(text.stdout).toContain('token: $.token expected "***", got "not-the-one"')
      expect(text.stdout).toContain('echo: header x-echo expected "nope", got "key=***"')
      const report = JSON.parse(asJson.stdout) as { results: { steps: { failure?: { message: string } }[] }[] }
      expect(report.results[0]?.steps.map((s) => s.failure?.message)).toEqual([
        'token: $.token expected "***", got "not-the-one"',
        'echo: header x-echo expected "nope", got "key=***"',
      ])
      expect(text.stderr + asJson.stderr).toContain('step finished')
      for (const output of [text.stdout, text.stderr, asJson.stdout, asJson.stderr]) expect(output).not.toContain(JWT.slice(0, 12))
    } finally {
      await remove()
    }
  })
})
