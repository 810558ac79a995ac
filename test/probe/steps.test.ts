import { type Dispatcher, MockAgent } from 'undici'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { runProbe } from '../../src/probe/run.ts'
import { buildProbe } from './servers.ts'

/**
 * Sequencing, expectations, captures and redirects, against undici's
 * MockAgent: no sockets, so these say nothing about timings or timeouts.
 */
const ORIGIN = 'http://api.test'
let mock: MockAgent

beforeEach(() => {
  mock = new MockAgent({ enableCallHistory: true })
  mock.disableNetConnect()
})
afterEach(async () => {
  await mock.close()
})

const JSON_HEADERS = { headers: { 'content-type': 'application/json' } }

function oneStep(step: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { name: 'unit', steps: [{ name: 'check', request: { url: `${ORIGIN}/thing` }, ...step }], ...extra }
}

async function run(file: unknown, dispatcher: Dispatcher = mock) {
  const { probe, secrets } = buildProbe(file)
  return runProbe(probe, { secrets, dispatcher, runId: 'r1' })
}

function reply(status: number, body: unknown, headers: Record<string, string> = JSON_HEADERS.headers, path = '/thing', method = 'GET') {
  mock
    .get(ORIGIN)
    .intercept({ path, method })
    .reply(status, typeof body === 'string' ? body : JSON.stringify(body), { headers })
}

describe('status', () => {
  test.each([
    [undefined, 204, null],
    [undefined, 500, 'check: expected a 2xx status, got 500'],
    [201, 200, 'check: expected status 201, got 200'],
    [[200, 201, 204], 500, 'check: expected status 200, 201 or 204, got 500'],
    [[404], 404, null],
  ])('expect %j, got %i', async (status, actual, message) => {
    reply(actual, '')
    const result = await run(oneStep({ expect: { status } }))
    expect(result.failure?.message ?? null).toBe(message)
    expect(result.failure?.kind ?? null).toBe(message ? 'status' : null)
  })
})

describe('JSON expectations', () => {
  const body = { id: 42, name: 'someone-else', active: true, tags: ['a', 'b'], nested: { n: null } }
  test.each([
    ['$.name', 'someone-else', null],
    ['$.name', 'smoke-{{ run.id }}', 'check: $.name expected "smoke-r1", got "someone-else"'],
    ['$.id', '42', null],
    ['$.active', 'true', null],
    ['$.id', 43, 'check: $.id expected 43, got 42'],
    ['$.tags', { equals: ['a', 'b'] }, null],
    ['$.tags', { equals: ['b', 'a'] }, 'check: $.tags expected ["b","a"], got ["a","b"]'],
    ['$.nested.n', null, null],
    ['$.missing', 'x', 'check: $.missing expected "x", found nothing'],
    ['$.id', { exists: true }, null],
    ['$.missing', { exists: true }, 'check: $.missing expected to exist, found nothing'],
    ['$.name', { exists: false }, 'check: $.name expected to be absent, got "someone-else"'],
    ['$.id', { matches: '^\\d+$' }, null],
    ['$.name', { matches: '^smoke-' }, 'check: $.name expected to match /^smoke-/, got "someone-else"'],
    ['$.tags[*]', 'a', null],
  ])('%s: %j', async (path, matcher, message) => {
    reply(200, body)
    const result = await run(oneStep({ expect: { json: { [path]: matcher } } }))
    expect(result.failure?.message ?? null).toBe(message)
    if (message) expect(result.failure).toMatchObject({ kind: 'expectation', reason: 'expectation' })
  })

  test('an empty body is not JSON', async () => {
    reply(200, '', {})
    const result = await run(oneStep({ expect: { json: { '$.id': 1 } } }))
    expect(result.failure).toEqual({
      step: 'check',
      kind: 'expectation',
      reason: 'invalid_body',
      message: 'check: response is not JSON (no content-type): the body is empty',
      // An empty body has no excerpt.
      status: 200,
    })
  })

  test('a body nobody reads is not parsed: HTML passes a status-only step', async () => {
    reply(200, '<html></html>', { 'content-type': 'text/html' })
    expect((await run(oneStep({}))).outcome).toBe('success')
  })

  test('a wrong status is reported before an unreadable body', async () => {
    reply(502, '<html>Bad gateway</html>', { 'content-type': 'text/html' })
    const result = await run(oneStep({ expect: { status: 200, json: { '$.id': 1 } } }))
    expect(result.failure?.message).toBe('check: expected status 200, got 502')
  })
})

describe('header and body expectations', () => {
  test.each([
    [{ headers: { 'Content-Type': 'text/plain' } }, null],
    [{ headers: { 'content-type': 'text/html' } }, 'check: header content-type expected "text/html", got "text/plain"'],
    [{ headers: { 'x-id': { exists: true } } }, 'check: header x-id expected to exist, found nothing'],
    [{ headers: { etag: { matches: '^"v\\d+"$' } } }, null],
    [{ headers: { etag: { exists: false } } }, 'check: header etag expected to be absent, got "\\"v7\\""'],
    [{ body: { contains: 'hello' } }, null],
    [{ body: { contains: 'bye {{ run.id }}' } }, 'check: body expected to contain "bye r1"'],
    [{ body: { matches: '^hello, \\w+$' } }, null],
    [{ body: { matches: '^bye' } }, 'check: body expected to match /^bye/'],
  ])('%j', async (expectation, message) => {
    reply(200, 'hello, world', { 'content-type': 'text/plain', etag: '"v7"' })
    const result = await run(oneStep({ expect: expectation }))
    expect(result.failure?.message ?? null).toBe(message)
  })

  test('maxDuration', async () => {
    mock.get(ORIGIN).intercept({ path: '/thing' }).reply(200, '').delay(120)
    const result = await run(oneStep({ expect: { maxDuration: '20ms' } }))
    expect(result.failure).toMatchObject({
      kind: 'expectation',
      message: expect.stringMatching(/^check: took \d+ms, longer than maxDuration 20ms$/),
    })
  })
})

describe('captures and sequencing', () => {
  test('json, header and status captures feed later steps; the request is built from defaults and the step', async () => {
    reply(201, { data: { id: 7 } }, { 'content-type': 'application/json', location: '/things/7' }, '/things', 'POST')
    reply(200, { id: 7 }, JSON_HEADERS.headers, '/things/7?created=201')
    const result = await run({
      name: 'unit',
      defaults: { headers: { Authorization: 'Bearer abc', 'X-Client': 'smoke' } },
      steps: [
        {
          name: 'create',
          request: { method: 'POST', url: `${ORIGIN}/things`, headers: { 'x-client': 'override' }, json: { n: 1 } },
          capture: { id: '$.data.id', where: { header: 'Location' }, code: { status: true } },
        },
        { name: 'read', request: { url: `${ORIGIN}{{ where }}?created={{ code }}` }, expect: { json: { '$.id': '{{ id }}' } } },
      ],
    })
    expect(result.failure).toBeNull()
    const [create] = mock.getCallHistory()?.calls() ?? []
    expect(create?.headers).toMatchObject({ authorization: 'Bearer abc', 'x-client': 'override', 'content-type': 'application/json' })
    expect(create?.body).toBe('{"n":1}')
  })

  test('a capture that finds nothing fails its step; the cleanup that needs it is skipped, one that does not still runs', async () => {
    reply(201, { other: 1 }, JSON_HEADERS.headers, '/things', 'POST')
    reply(204, '', {}, '/audit', 'POST')
    const result = await run({
      name: 'unit',
      steps: [
        { name: 'create', request: { method: 'POST', url: `${ORIGIN}/things` }, capture: { itemId: '$.id' } },
        { name: 'read', request: { url: `${ORIGIN}/things/{{ itemId }}` } },
        { name: 'delete', cleanup: true, request: { method: 'DELETE', url: `${ORIGIN}/things/{{ itemId }}` } },
        { name: 'audit', cleanup: true, request: { method: 'POST', url: `${ORIGIN}/audit`, body: 'run {{ run.id }}' } },
      ],
    })
    expect(result.failure).toEqual({
      step: 'create',
      kind: 'capture',
      reason: 'capture',
      message: 'create: capture itemId: $.id found nothing',
      status: 201,
      contentType: 'application/json',
      bodyExcerpt: '{"other":1}',
    })
    expect(result.steps.map((s) => [s.name, s.status, s.skipReason])).toEqual([
      ['create', 'failed', undefined],
      ['read', 'skipped', 'skipped: an earlier step failed'],
      ['delete', 'skipped', 'skipped: {{ itemId }} was never captured'],
      ['audit', 'passed', undefined],
    ])
  })

  test('an id is captured even when the create fails an expectation, so the cleanup can delete it', async () => {
    reply(201, { id: 9, name: 'wrong' }, JSON_HEADERS.headers, '/things', 'POST')
    reply(204, '', {}, '/things/9', 'DELETE')
    const result = await run({
      name: 'unit',
      steps: [
        {
          name: 'create',
          request: { method: 'POST', url: `${ORIGIN}/things` },
          expect: { json: { '$.name': 'right' } },
          capture: { itemId: '$.id' },
        },
        { name: 'delete', cleanup: true, request: { method: 'DELETE', url: `${ORIGIN}/things/{{ itemId }}` } },
      ],
    })
    expect(result.failure?.message).toBe('create: $.name expected "right", got "wrong"')
    expect(result.steps[1]?.status).toBe('passed')
  })

  test('a dispatcher that throws fails the step, not the run', async () => {
    const broken = {
      dispatch() {
        throw new Error('dispatcher exploded')
      },
    } as unknown as Dispatcher
    const result = await run(oneStep({}), broken)
    expect(result.outcome).toBe('failure')
    expect(result.failure).toMatchObject({ step: 'check', kind: 'transport', message: 'check: dispatcher exploded' })
  })

  test('an invalid URL is a failure, not an exception', async () => {
    const result = await run({ name: 'unit', vars: { base: 'not a url' }, steps: [{ name: 'check', request: { url: '{{ base }}/x' } }] })
    expect(result.failure).toMatchObject({ kind: 'transport', message: 'check: invalid URL "not a url/x"' })
  })
})

describe('redirects', () => {
  test('followed when asked: relative Location, 303 turns a POST into a GET without a body', async () => {
    mock
      .get(ORIGIN)
      .intercept({ path: '/things', method: 'POST' })
      .reply(303, '', { headers: { location: 'things/5' } })
    reply(200, { id: 5 }, JSON_HEADERS.headers, '/things/5')
    const result = await run(
      oneStep({
        request: { method: 'POST', url: `${ORIGIN}/things`, json: { a: 1 }, followRedirects: true },
        expect: { json: { '$.id': 5 } },
      }),
    )
    expect(result.failure).toBeNull()
    const second = mock.getCallHistory()?.calls()[1]
    expect(second?.method).toBe('GET')
    expect(second?.headers).not.toHaveProperty('content-type')
  })

  test('credentials are not carried to another origin', async () => {
    mock
      .get(ORIGIN)
      .intercept({ path: '/thing' })
      .reply(302, '', { headers: { location: 'http://other.test/landing' } })
    mock.get('http://other.test').intercept({ path: '/landing' }).reply(200, 'ok')
    const result = await run(
      oneStep({ request: { url: `${ORIGIN}/thing`, headers: { authorization: 'Bearer abc', 'x-keep': 'yes' }, followRedirects: 2 } }),
    )
    expect(result.failure).toBeNull()
    const landing = mock.getCallHistory()?.calls()[1]
    expect(landing?.headers).not.toHaveProperty('authorization')
    expect(landing?.headers).toHaveProperty('x-keep', 'yes')
  })

  test('at most followRedirects hops', async () => {
    for (const n of [1, 2, 3])
      mock
        .get(ORIGIN)
        .intercept({ path: `/r${n}` })
        .reply(302, '', { headers: { location: `/r${n + 1}` } })
    const result = await run(oneStep({ request: { url: `${ORIGIN}/r1`, followRedirects: 2 } }))
    expect(result.failure).toEqual({
      step: 'check',
      kind: 'transport',
      reason: 'redirect',
      message: 'check: too many redirects (more than 2)',
    })
  })
})

describe('body cap (the reader; the real agent also stops its parser)', () => {
  test.each([
    [10, 'x'.repeat(10), {}, null],
    [10, 'x'.repeat(11), {}, 'check: body too large (more than 10 bytes)'],
    [10, 'short', { 'content-length': '100000' }, 'check: body too large (more than 10 bytes)'],
  ])('maxBodySize %i, a %j body, headers %j', async (maxBodySize, body, headers, message) => {
    reply(200, body, headers)
    const result = await run(oneStep({ expect: { body: { contains: 'x' } } }, { maxBodySize }))
    expect(result.failure?.message ?? null).toBe(message)
    if (message) expect(result.failure).toMatchObject({ kind: 'body_too_large', reason: 'body_too_large' })
  })

  test('a HEAD response announcing a large body passes: nothing is sent', async () => {
    mock
      .get(ORIGIN)
      .intercept({ path: '/thing', method: 'HEAD' })
      .reply(200, '', { headers: { 'content-length': '100000' } })
    const result = await run(oneStep({ request: { method: 'HEAD', url: `${ORIGIN}/thing` } }, { maxBodySize: 10 }))
    expect(result.failure).toBeNull()
  })
})
