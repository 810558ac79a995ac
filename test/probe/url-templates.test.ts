import { afterEach, describe, expect, test } from 'vitest'
import { SecretMask } from '../../src/config/secrets.ts'
import { compileUrlTemplate } from '../../src/config/template.ts'
import { runProbe } from '../../src/probe/run.ts'
import { type TestServer, buildProbe, json, startServer } from './servers.ts'

/**
 * Captured values put into a URL are data: percent-encoded for their place,
 * so they cannot turn `DELETE /items/{{ id }}` into another request.
 */
const servers: TestServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

/** An API whose create answers with the given id; every other request gets 204. */
async function createReturning(id: unknown): Promise<TestServer> {
  const server = await startServer((req, res) => {
    if (req.method === 'POST') return json(res, 201, { id })
    res.writeHead(204).end()
  })
  servers.push(server)
  return server
}

function crud(base: string, extra: object = {}) {
  return {
    name: 'items',
    vars: { base },
    steps: [
      { name: 'create', request: { method: 'POST', url: '{{ base }}/items', json: {} }, capture: { itemId: '$.id' } },
      { name: 'read', request: { url: '{{ base }}/items/{{ itemId }}' } },
      { name: 'delete', cleanup: true, request: { method: 'DELETE', url: '{{ base }}/items/{{ itemId }}' } },
    ],
    ...extra,
  }
}

async function run(file: unknown, env: Record<string, string> = {}) {
  const { probe, secrets } = buildProbe(file, env)
  return runProbe(probe, { secrets })
}

describe('captured values in URL paths', () => {
  test.each([
    ['../../admin', '/items/..%2F..%2Fadmin'],
    ['a?admin=1#x', '/items/a%3Fadmin%3D1%23x'],
    ['100% sure', '/items/100%25%20sure'],
    [42, '/items/42'],
  ])('%j stays one path segment: %s', async (id, path) => {
    const server = await createReturning(id)
    const result = await run(crud(server.url))
    expect(result.outcome).toBe('success')
    expect(server.requests).toEqual(['POST /items', `GET ${path}`, `DELETE ${path}`])
  })

  test.each([
    ['', 'capture itemId: $.id found nothing (an empty string)'],
    [null, 'capture itemId: $.id found nothing (null)'],
    [{ id: 1 }, 'capture itemId: $.id found nothing (an object, not a single value)'],
    [[1, 2], 'capture itemId: $.id found nothing (a list, not a single value)'],
  ])('an id of %j is found nothing: no DELETE /items/, the cleanup is skipped and says why', async (id, message) => {
    const server = await createReturning(id)
    const result = await run(crud(server.url))
    expect(result.failure?.message).toBe(`create: ${message}`)
    expect(result.steps[2]).toMatchObject({ status: 'skipped', skipReason: 'skipped: {{ itemId }} was never captured' })
    expect(server.requests).toEqual(['POST /items'])
  })

  test.each(['.', '..'])(
    'an id of %j cannot be a segment (a URL parser reads an encoded dot as a dot): the read fails, the cleanup is skipped',
    async (id) => {
      const server = await createReturning(id)
      const result = await run(crud(server.url))
      const problem = `{{ itemId }} is ${JSON.stringify(id)}, which would change the URL's path`
      expect(result.failure).toMatchObject({ step: 'read', kind: 'capture', reason: 'template', message: `read: ${problem}` })
      expect(result.steps[2]).toMatchObject({ status: 'skipped', skipReason: `skipped: ${problem}` })
      expect(server.requests).toEqual(['POST /items'])
    },
  )
})

describe('the base of a URL is inserted as is', () => {
  test('a var or an env value with a path prefix, then data', async () => {
    const server = await createReturning('a/b')
    const fromVar = await run(crud(`${server.url}/api/v1`))
    expect(fromVar.outcome).toBe('success')
    const fromEnv = await run(crud('{{ env.ITEMS_URL }}'), { ITEMS_URL: `${server.url}/api/v2` })
    expect(fromEnv.outcome).toBe('success')
    expect(server.requests).toEqual([
      'POST /api/v1/items',
      'GET /api/v1/items/a%2Fb',
      'DELETE /api/v1/items/a%2Fb',
      'POST /api/v2/items',
      'GET /api/v2/items/a%2Fb',
      'DELETE /api/v2/items/a%2Fb',
    ])
  })

  test('a query value is one component: & = + and spaces cannot add parameters', async () => {
    const server = await createReturning('x&admin=true +1')
    const result = await run({
      name: 'search',
      vars: { base: server.url },
      steps: [
        { name: 'create', request: { method: 'POST', url: '{{ base }}/items', json: {} }, capture: { term: '$.id' } },
        { name: 'search', request: { url: '{{ base }}/search?q={{ term }}&limit=1' } },
      ],
    })
    expect(result.outcome).toBe('success')
    expect(server.requests[1]).toBe('GET /search?q=x%26admin%3Dtrue%20%2B1&limit=1')
  })

  test('each reference is placed once, at load: base, path segment, query or fragment component', () => {
    const context = { env: {}, secrets: new SecretMask() }
    const compiled = compileUrlTemplate('{{ base }}/a/{{ id }}?q={{ q }}#{{ f }}', context)
    const hostFirst = compileUrlTemplate('http://{{ host }}:{{ port }}/x/{{ id }}', context)
    const places = (t: typeof compiled) =>
      Array.isArray(t) ? t : t.parts.flatMap((p) => ('ref' in p ? [[p.ref, p.encode ?? 'as is']] : []))
    expect(places(compiled)).toEqual([
      ['base', 'as is'],
      ['id', 'segment'],
      ['q', 'component'],
      ['f', 'component'],
    ])
    expect(places(hostFirst)).toEqual([
      ['host', 'as is'],
      ['port', 'as is'],
      ['id', 'segment'],
    ])
  })
})
