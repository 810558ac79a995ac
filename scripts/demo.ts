/**
 * `npm run demo`: the bundled demo CRUD API on a free loopback port, two
 * notification sinks in process (SMTP and a webhook; each notification they
 * get is printed here), and the daemon running the example probes plus the
 * demo's 5-second probe against the API, with demo/alerting.yaml (3 failures
 * fire). 20 s in, the demo breaks the API on purpose for 25 s, so within a
 * minute the status page shows the incident and the firing and the resolve
 * arrive here. Extra arguments go to `probe run` (e.g. `npm run demo -- --location lab`).
 * DEMO_FAULT_AT_MS and DEMO_FAULT_FOR_MS move the fault (0: no automatic fault).
 * Ctrl-C stops everything.
 */
import { startDemoApi } from '../demo/server.ts'
import { startDemoSinks } from '../demo/sinks.ts'
import { runCli } from '../src/cli/program.ts'

const token = 'demo-token-please-change'
const faultAt = Number(process.env.DEMO_FAULT_AT_MS ?? 20_000)
const faultFor = Number(process.env.DEMO_FAULT_FOR_MS ?? 25_000)
const say = (line: string) => console.log(`demo: ${line}`)

const api = await startDemoApi({ host: '127.0.0.1', port: Number(process.env.DEMO_API_PORT ?? 0), token })
const sinks = await startDemoSinks((line) => console.log(`\n>>> notification: ${line}\n`))
const listen = argValue('--listen') ?? '127.0.0.1:9464'
const fault = (mode: string) => `curl -X PUT -H 'authorization: Bearer ${token}' -d '{"mode":"${mode}"}' ${api.url}/_faults`
say(`demo API listening on ${api.url}`)
say(`status page http://${listen}/ (each probe's page under /probes/<name>), metrics http://${listen}/metrics`)
say(
  `notifications go to an SMTP sink and a webhook sink in this process and are printed here${sinks.smtpPort === null ? ' (webhook only: smtp-server is not installed)' : ''}`,
)
if (faultAt > 0)
  say(`in ${faultAt / 1000} s the demo breaks the API on purpose for ${faultFor / 1000} s: watch demo-items-fast fire, then resolve`)
say(`break it yourself: ${fault('error')}`)
say(`heal it:           ${fault('ok')}`)

const timers: NodeJS.Timeout[] = []
if (faultAt > 0) {
  timers.push(
    setTimeout(() => {
      api.setFault('error')
      say(`fault injected: the API answers 500 (as ${fault('error')})`)
    }, faultAt),
    setTimeout(() => {
      api.setFault('ok')
      say('fault healed: the API answers again; the next passing run resolves the incident')
    }, faultAt + faultFor),
  )
}

// The example probes read the API's address and token from the environment, as production probes do.
process.env.ITEMS_API_URL = api.url
process.env.ITEMS_API_TOKEN = token
process.env.DEMO_WEBHOOK_URL = sinks.webhookUrl
// Without smtp-server the mail channel points at the discard port: its failures are logged, the webhook still works.
process.env.DEMO_SMTP_PORT = String(sinks.smtpPort ?? 9)
const code = await runCli(
  ['run', '--probes', 'probes', '--probes', 'demo/probes', '--alerting', 'demo/alerting.yaml', ...process.argv.slice(2)],
  {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  },
)
for (const timer of timers) clearTimeout(timer)
await sinks.close()
await api.close()
process.exit(code)

function argValue(flag: string): string | undefined {
  const args = process.argv.slice(2)
  const i = args.lastIndexOf(flag)
  return i === -1 ? undefined : args[i + 1]
}
