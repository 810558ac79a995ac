import { afterEach, describe, expect, test } from 'vitest'
import { MAX_MATCHED_CHARS } from '../../src/config/probe-schema.ts'
import { runProbe } from '../../src/probe/run.ts'
import { type TestServer, buildProbe, startServer } from './servers.ts'

/**
 * A target's answer is matched by a linear-time engine (RE2): a pattern
 * with nested quantifiers never stalls the event loop on a hostile body.
 */
const servers: TestServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

async function serveText(text: string): Promise<TestServer> {
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) }).end(text)
  })
  servers.push(server)
  return server
}

describe('regular expressions against hostile input', () => {
  test('^(a+)+$ against a body built to backtrack: the step fails on its merits, and the run keeps its deadline', async () => {
    // 26 bytes keep V8's backtracking engine busy for seconds (and 35 for hours); RE2 answers at once.
    const server = await serveText(`${'a'.repeat(25)}!`)
    const { probe, secrets } = buildProbe({
      name: 'hostile',
      timeout: '1s',
      steps: [
        { name: 'match', request: { url: `${server.url}/hostile` }, expect: { body: { matches: '^(a+)+$' } } },
        // Had the match blocked the event loop past the run's deadline, this step would find it expired.
        { name: 'after', cleanup: true, request: { url: `${server.url}/after` } },
      ],
    })
    const result = await runProbe(probe, { secrets })
    expect(result.steps.map((s) => [s.name, s.status, s.failure?.message])).toEqual([
      ['match', 'failed', 'match: body expected to match /^(a+)+$/'],
      ['after', 'passed', undefined],
    ])
  })

  test('the same pattern against the 35-byte body matches or not exactly as JavaScript would say', async () => {
    const server = await serveText(`${'a'.repeat(34)}!`)
    const { probe, secrets } = buildProbe({
      name: 'hostile',
      steps: [
        { name: 'no', request: { url: server.url }, expect: { body: { matches: '^(a+)+$' } } },
        { name: 'yes', cleanup: true, request: { url: server.url }, expect: { body: { matches: '^(a+)+!$' } } },
      ],
    })
    const result = await runProbe(probe, { secrets })
    expect(result.steps.map((s) => s.failure?.message)).toEqual(['no: body expected to match /^(a+)+$/', undefined])
  })

  test('a body longer than the matching cap fails its expectation, saying so', async () => {
    const server = await serveText('x'.repeat(MAX_MATCHED_CHARS + 1))
    const { probe, secrets } = buildProbe({
      name: 'huge',
      maxBodySize: '1MiB',
      steps: [{ name: 'big', request: { url: server.url }, expect: { body: { matches: 'x' } } }],
    })
    const result = await runProbe(probe, { secrets })
    expect(result.failure?.message).toBe(
      `big: body is ${MAX_MATCHED_CHARS + 1} characters long, more than the ${MAX_MATCHED_CHARS} a regular expression is matched against`,
    )
  })

  test('JavaScript spellings RE2 spells differently still work: \\u escapes, named groups, a slash', async () => {
    const server = await serveText('é <id>42</id> a/b')
    const { probe, secrets } = buildProbe({
      name: 'spellings',
      steps: [
        { name: 'u', request: { url: server.url }, expect: { body: { matches: '^\\u00e9' } } },
        { name: 'named', cleanup: true, request: { url: server.url }, expect: { body: { matches: '<id>(?<id>\\d+)</id>' } } },
        { name: 'slash', cleanup: true, request: { url: server.url }, expect: { body: { matches: 'a/b$' } } },
      ],
    })
    const result = await runProbe(probe, { secrets })
    expect(result.steps.map((s) => s.failure?.message)).toEqual([undefined, undefined, undefined])
  })
})
