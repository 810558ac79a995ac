/**
 * The floor: the least a Node prober can do for a 3-step CRUD run — a plain
 * node:http client that POSTs an item, reads it back and deletes it, parsing
 * the JSON it needs and nothing else. Run as a child process:
 *
 *   node bench/floor-client.ts --url http://127.0.0.1:PORT --runs N --concurrency C [--conn request|run] [--timings] [--warmup W]
 *
 * `--conn request` (default) opens a connection per request (keep-alive
 * off); `--conn run` keeps one connection for the run's three requests, as
 * smokeprobe's per-run agent does. Prints one JSON line: requests, failures,
 * the CPU ms of the measured loop (after the warm-up) and, with --timings,
 * each request's duration in ms (send to end of body).
 */
import { Agent, request } from 'node:http'
import { parseArgs } from 'node:util'
import { measureAndPrint, newCounters } from './closed-loop.ts'

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    runs: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
    conn: { type: 'string', default: 'request' },
    timings: { type: 'boolean', default: false },
    warmup: { type: 'string', default: '0' },
  },
})
const base = new URL(values.url ?? 'http://127.0.0.1:1')
const counters = newCounters()

interface Reply {
  readonly status: number
  readonly body: string
}

function call(method: string, path: string, agent: Agent | false, body?: string): Promise<Reply> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> =
      body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    const req = request({ host: base.hostname, port: base.port, method, path, headers, agent, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        counters.requests++
        if (values.timings) counters.durations.push(performance.now() - started)
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end(body)
  })
}

async function crudRun(index: number): Promise<void> {
  const agent = values.conn === 'run' ? new Agent({ keepAlive: true, maxSockets: 1 }) : false
  try {
    const created = await call('POST', '/items', agent, JSON.stringify({ name: `floor-${index}` }))
    const id = (JSON.parse(created.body) as { id: string }).id
    const read = await call('GET', `/items/${id}`, agent)
    if (created.status !== 201 || read.status !== 200 || (JSON.parse(read.body) as { id: string }).id !== id) counters.failures++
    const deleted = await call('DELETE', `/items/${id}`, agent)
    if (deleted.status !== 204) counters.failures++
  } catch {
    counters.failures++
  } finally {
    if (agent) agent.destroy()
  }
}

await measureAndPrint(
  counters,
  { warmup: Number(values.warmup), runs: Number(values.runs), concurrency: Number(values.concurrency) },
  crudRun,
)
