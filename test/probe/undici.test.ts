import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as undici from 'undici'
import { expect, test } from 'vitest'
import { Agent, buildConnector, request } from '../../src/probe/undici.ts'

/** src/probe/undici.ts loads undici's parts one by one; an upgrade that moves one must fail here. */
test('the parts are the very objects undici exports', () => {
  expect(Agent).toBe(undici.Agent)
  expect(buildConnector).toBe(undici.buildConnector)
  expect(undici.Dispatcher.prototype.request).toBeTypeOf('function')
})

test('request() sends method, path with query, headers and body on the dispatcher given', async () => {
  const seen: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-probe']} ${body}`)
      res.writeHead(201, { 'content-type': 'text/plain' }).end('made')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const dispatcher = new Agent({ connections: 1 })
  try {
    const posted = await request(`http://127.0.0.1:${port}/items?x=1&y=2`, {
      dispatcher,
      method: 'POST',
      headers: { 'x-probe': 'a' },
      body: 'hi',
    })
    expect([posted.statusCode, await posted.body.text()]).toEqual([201, 'made'])
    const got = await request(new URL(`http://127.0.0.1:${port}/plain`), { dispatcher, headers: { 'x-probe': 'b' } })
    await got.body.dump()
    expect(seen).toEqual(['POST /items?x=1&y=2 a hi', 'GET /plain b '])
  } finally {
    await dispatcher.close()
    await new Promise((resolve) => server.close(resolve))
  }
})
