import { describe, expect, test } from 'vitest'
import { canariesOnTargets } from '../../src/loader/canary-targets.ts'
import { buildProbe } from '../probe/servers.ts'

const BASE = 'http://items.internal:8080'

function probe(vars: Record<string, string>, urls: string[]) {
  return buildProbe({
    name: 'items',
    vars,
    steps: urls.map((url, i) => ({ name: `s${i}`, request: { url }, ...(i === 0 ? { capture: { id: '$.id' } } : {}) })),
  }).probe
}

describe('a canary that is a probe target', () => {
  test.each([
    ['the same URL', `${BASE}/health`, [`${BASE}/health`], [0]],
    ['the same origin and path, another query', `${BASE}/health?canary=1`, [`${BASE}/health`], [0]],
    ['the same path with another host case (URLs normalise it)', 'http://ITEMS.internal:8080/health', [`${BASE}/health`], [0]],
    ['a URL built from vars known at load', `${BASE}/health`, ['{{ base }}/health'], [0]],
    ['another path on the same origin', `${BASE}/`, [`${BASE}/health`], []],
    ['another port', 'http://items.internal:8081/health', [`${BASE}/health`], []],
    ['a step URL that needs a capture is not compared', `${BASE}/items/1`, [`${BASE}/items`, '{{ base }}/items/{{ id }}'], []],
    ['a step URL that needs run.* is not compared', `${BASE}/items/x`, ['{{ base }}/items/{{ run.id }}'], []],
  ])('%s', (_, canary, urls, expected) => {
    const problems = canariesOnTargets({ canaries: [{ url: canary }] }, [probe({ base: BASE }, urls)])
    expect(problems.map((p) => p.index)).toEqual(expected)
  })

  test('names the probe, its file and the step', () => {
    const [problem] = canariesOnTargets({ canaries: [{ url: 'http://127.0.0.1:9/ok' }, { url: `${BASE}/health` }] }, [
      probe({}, ['http://127.0.0.1:9/other', `${BASE}/health`]),
    ])
    expect(problem).toEqual({
      index: 1,
      message:
        'this canary is also a target: probe "items" (test.yaml: steps[1].request.url) has the same origin and path; a canary must be outside the targets, or an outage of that target would read as the monitor\'s network being down',
    })
  })
})
