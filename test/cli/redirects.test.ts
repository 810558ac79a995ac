import { afterEach, describe, expect, test } from 'vitest'
import { type TestServer, json, startServer } from '../probe/servers.ts'
import { cli, tempFiles } from './helpers.ts'

/** The report and --json show where a followed redirect ended. */
const servers: TestServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

describe('run --once after a redirect to another origin', () => {
  test('the report names the final URL; --json has it as request.finalUrl', async () => {
    const other = await startServer((_req, res) => json(res, 200, { ok: true }))
    const start = await startServer((_req, res) => res.writeHead(302, { location: `${other.url}/landing`, 'content-length': '0' }).end())
    servers.push(other, start)
    const probe = `name: moved
steps:
  - name: get
    request: { url: "${start.url}/old", followRedirects: true }
`
    const { dir, remove } = await tempFiles({ 'moved.yaml': probe })
    try {
      const text = await cli(['run', '--once', '--probes', dir])
      const asJson = await cli(['run', '--once', '--json', '--probes', dir])
      expect(text.code).toBe(0)
      expect(text.stdout).toContain(`GET ${start.url}/old  (redirected to ${other.url}/landing)  → 200`)
      const report = JSON.parse(asJson.stdout) as { results: { steps: { request?: unknown }[] }[] }
      expect(report.results[0]?.steps[0]?.request).toEqual({ method: 'GET', url: `${start.url}/old`, finalUrl: `${other.url}/landing` })
    } finally {
      await remove()
    }
  })
})
