import type { DestinationStream } from 'pino'
import { afterEach, describe, expect, test } from 'vitest'
import { createLogger } from '../../src/log.ts'
import { runProbe } from '../../src/probe/run.ts'
import { JWT, type TestServer, buildProbe, json, startServer } from './servers.ts'

/**
 * Long secrets (a JWT) in every message the engine shortens: the text is
 * masked before it is cut, so no prefix of a secret survives a cut.
 */

const servers: TestServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

describe('a 150-character secret in shortened values', () => {
  test('expected and actual values, an invalid URL: masked, then cut; nothing of the secret in the result or the logs', async () => {
    expect(JWT).toHaveLength(150)
    const server = await startServer((req, res) => {
      if (req.url === '/token') return json(res, 200, { token: 'not-the-one' })
      // Echoes the key, as a misbehaving API might, after a short prefix.
      res.writeHead(200, { 'x-echo': `key=${JWT}`, 'content-length': '0' }).end()
    })
    servers.push(server)
    const { probe, secrets } = buildProbe(
      {
        name: 'long-secret',
        vars: { base: server.url },
        steps: [
          { name: 'token', request: { url: '{{ base }}/token' }, expect: { json: { '$.token': '{{ secret.JWT }}' } } },
          { name: 'echo', cleanup: true, request: { url: '{{ base }}/echo' }, expect: { headers: { 'x-echo': 'nope' } } },
          // A space makes the URL invalid; the message quotes it, cut at 200 characters, inside the second copy.
          { name: 'bad-url', cleanup: true, request: { url: 'http://bad host/{{ secret.JWT }}/{{ secret.JWT }}' } },
        ],
      },
      { JWT },
    )
    const lines: string[] = []
    const destination = { write: (line: string) => lines.push(line) } as unknown as DestinationStream
    const result = await runProbe(probe, { secrets, logger: createLogger({ level: 'debug', secrets, destination }) })

    expect(result.steps.map((s) => s.failure?.message)).toEqual([
      'token: $.token expected "***", got "not-the-one"',
      'echo: header x-echo expected "nope", got "key=***"',
      'bad-url: invalid URL "http://bad host/***/***"',
    ])
    const everything = JSON.stringify(result) + lines.join('')
    expect(lines.some((line) => line.includes('step finished'))).toBe(true)
    expect(everything).not.toContain(JWT.slice(0, 12))
  })
})
