/**
 * `npm run demo`: the bundled demo CRUD API on a free loopback port and the
 * daemon running the example probes against it, metrics and status page on
 * :9464. Extra arguments go to `probe run` (e.g. `npm run demo -- --location lab`).
 * Ctrl-C stops both.
 */
import { startDemoApi } from '../demo/server.ts'
import { runCli } from '../src/cli/program.ts'

const token = 'demo-token-please-change'
const api = await startDemoApi({ host: '127.0.0.1', port: Number(process.env.DEMO_API_PORT ?? 0), token })
console.log(`demo API listening on ${api.url}`)
console.log('smokeprobe: metrics on http://127.0.0.1:9464/metrics, status page on http://127.0.0.1:9464/')
console.log(`inject a fault: curl -X PUT -H 'authorization: Bearer ${token}' -d '{"mode":"error"}' ${api.url}/_faults`)

// The example probes read the API's address and token from the environment, as production probes do.
process.env.ITEMS_API_URL = api.url
process.env.ITEMS_API_TOKEN = token
const code = await runCli(['run', ...process.argv.slice(2)], {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
})
await api.close()
process.exit(code)
