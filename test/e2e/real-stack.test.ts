/**
 * The path to production, with the real binaries: the demo API fails, the
 * smokeprobe daemon (a child process, as deployed) counts three failures
 * and posts the alert to a real Alertmanager, which notifies a webhook;
 * a real Prometheus scrapes the daemon and evaluates the repository's rules.
 * Then the API recovers and the alert leaves Alertmanager.
 *
 * Needs prometheus, prometheus-alertmanager and promtool (.ci/run installs
 * them). Skipped with a reason when they are missing outside CI; in CI a
 * missing binary is a failure.
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest'
import { type DemoApi, startDemoApi } from '../../demo/server.ts'
import { findBinary, getJson, type Running, startListening, startProcess, waitFor } from './processes.ts'
import {
  alertingFile,
  alertmanagerConfig,
  LOCATION,
  PROBE,
  probeFile,
  prometheusConfig,
  type Sink,
  startSink,
  withShortFor,
} from './stack.ts'

const PROMETHEUS = findBinary('prometheus')
const ALERTMANAGER = findBinary('prometheus-alertmanager', 'alertmanager')
const PROMTOOL = findBinary('promtool')
const missing = Object.entries({ prometheus: PROMETHEUS, 'prometheus-alertmanager': ALERTMANAGER, promtool: PROMTOOL })
  .filter(([, found]) => found === undefined)
  .map(([name]) => name)
const MISSING_MESSAGE = `${missing.join(', ')} not installed (.ci/run installs them: apt-get install prometheus prometheus-alertmanager)`
const skip = missing.length > 0 && !process.env.CI
if (skip) console.warn(`skipping the real-stack suite: ${MISSING_MESSAGE}`)

const NODE = path.resolve('node_modules/.bin/node')
const BIN = path.resolve('bin/probe.js')
const RULES = path.resolve('deploy/prometheus/rules.yml')
const TOKEN = `e2e-secret-${randomUUID()}`
const SELECTOR = `{probe="${PROBE}",location="${LOCATION}"}`
/** Each step's bound: generous for a loaded 2-core machine, far below the suite's. */
const STEP_MS = 30_000
const START = 'Alertmanager, the daemon and Prometheus start on loopback'

interface AmAlert {
  readonly labels: Record<string, string>
  readonly annotations: Record<string, string>
  readonly status: { readonly state: string }
}
type Service = Awaited<ReturnType<typeof startListening>>

describe.skipIf(skip)('the real stack: smokeprobe, Prometheus and Alertmanager', { timeout: 60_000 }, () => {
  const processes: Running[] = []
  let dir = ''
  let api: DemoApi
  let sink: Sink
  let alertmanager: Service
  let daemon: Service
  let prometheus: Service

  const track = (running: Running) => {
    processes.push(running)
    return running
  }
  const printTails = () => {
    for (const p of processes) console.error(`----- ${p.name} (pid ${p.pid}, exit ${JSON.stringify(p.exited())}) -----\n${p.tail(40)}`)
  }
  const watch = () => processes.filter((p) => p === alertmanager?.process || p === daemon?.process || p === prometheus?.process)

  async function promValue(query: string): Promise<number | undefined> {
    const url = `${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`
    const body = await getJson<{ data: { result: { value: [number, string] }[] } }>(url)
    const [first] = body.data.result
    return first === undefined ? undefined : Number(first.value[1])
  }
  const until = <T>(what: string, check: () => Promise<T | undefined | false>) =>
    waitFor(what, check, { timeoutMs: STEP_MS, watch: watch() })
  const promSees = (query: string, wanted: (value: number) => boolean) =>
    until(`Prometheus: ${query}`, async () => {
      const value = await promValue(query)
      return value !== undefined && wanted(value)
    })
  const amAlerts = () => getJson<AmAlert[]>(`${alertmanager.url}/api/v2/alerts?filter=${encodeURIComponent('alertname="ProbeFailing"')}`)
  /** smokeprobe's own alert: Prometheus's carry the scrape's `job` label, smokeprobe's do not. */
  const fromSmokeprobe = (labels: Record<string, string>) => labels.probe === PROBE && labels.location === LOCATION && !('job' in labels)

  // Started in a test rather than beforeAll: a stack that does not come up is then a counted failure
  // (a failed hook only marks the tests skipped), and the tests after it are skipped, not failed again.
  let started = false
  beforeEach(({ task, skip }) => {
    if (!started && task.name !== START) skip('the stack did not start')
  })

  test(START, { timeout: 120_000 }, async () => {
    expect(missing, MISSING_MESSAGE).toEqual([])
    dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-e2e-'))
    await startStack()
    started = true
  })

  async function startStack(): Promise<void> {
    sink = await startSink()
    api = await startDemoApi({ host: '127.0.0.1', port: 0, token: TOKEN })
    const files = await writeFiles({
      'alertmanager/alertmanager.yml': alertmanagerConfig(sink.url),
      'smokeprobe/probes/items.yaml': probeFile(),
      'prometheus/rules.yml': withShortFor(await readFile(RULES, 'utf8'), '2s'),
    })
    const cwd = dir
    const env = { PATH: process.env.PATH ?? '' }

    alertmanager = await startListening(
      'alertmanager',
      (port) =>
        track(
          startProcess(
            'alertmanager',
            ALERTMANAGER!,
            [
              `--config.file=${files['alertmanager/alertmanager.yml']}`,
              `--storage.path=${path.join(dir, 'alertmanager/data')}`,
              `--web.listen-address=127.0.0.1:${port}`,
              '--cluster.listen-address=',
              '--log.level=debug',
            ],
            { env, cwd },
          ),
        ),
      '/-/ready',
      STEP_MS,
    )

    const alerting = path.join(dir, 'smokeprobe/alerting.yaml')
    await writeFile(alerting, alertingFile(alertmanager.url))
    daemon = await startListening(
      'smokeprobe',
      (port) =>
        track(
          startProcess(
            'smokeprobe',
            NODE,
            [
              BIN,
              'run',
              ...['--probes', path.join(dir, 'smokeprobe/probes'), '--alerting', alerting],
              ...['--listen', `127.0.0.1:${port}`, '--state-dir', path.join(dir, 'smokeprobe/state'), '--location', LOCATION],
              ...['--log-level', 'info'],
            ],
            { env: { ...env, E2E_API_URL: api.url, E2E_API_TOKEN: TOKEN }, cwd },
          ),
        ),
      '/readyz',
      STEP_MS,
    )

    const promFile = path.join(dir, 'prometheus/prometheus.yml')
    const hostOf = (url: string) => new URL(url).host
    await writeFile(
      promFile,
      prometheusConfig({ daemon: hostOf(daemon.url), alertmanager: hostOf(alertmanager.url), rules: files['prometheus/rules.yml']! }),
    )
    prometheus = await startListening(
      'prometheus',
      (port) =>
        track(
          startProcess(
            'prometheus',
            PROMETHEUS!,
            [
              `--config.file=${promFile}`,
              `--storage.tsdb.path=${path.join(dir, 'prometheus/data')}`,
              `--web.listen-address=127.0.0.1:${port}`,
            ],
            { env, cwd },
          ),
        ),
      '/-/ready',
      STEP_MS,
    )
  }

  async function writeFiles(files: Record<string, string>): Promise<Record<string, string>> {
    const paths: Record<string, string> = {}
    for (const [name, text] of Object.entries(files)) {
      const file = path.join(dir, name)
      await mkdir(path.dirname(file), { recursive: true })
      await writeFile(file, text)
      paths[name] = file
    }
    return paths
  }

  afterEach(({ task }) => {
    if (task.result?.state === 'fail') printTails()
  })

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop(5_000)))
    await Promise.all([api?.close(), sink?.close()])
    if (dir) await rm(dir, { recursive: true, force: true })
  }, 30_000)

  test('Prometheus scrapes probe_success 1 and evaluates every rule of deploy/prometheus/rules.yml', async () => {
    await promSees(`probe_success${SELECTOR}`, (v) => v === 1)
    await promSees('up{job="smokeprobe"}', (v) => v === 1)
    const expected = (await readFile(RULES, 'utf8')).match(/^\s+- alert: /gm)?.length ?? 0
    const rules = await until('Prometheus evaluated every rule without error', async () => {
      const body = await getJson<{ data: { groups: { rules: { name: string; health: string }[] }[] } }>(`${prometheus.url}/api/v1/rules`)
      const all = body.data.groups.flatMap((g) => g.rules)
      return all.length === expected && all.every((r) => r.health === 'ok') && all
    })
    expect(rules.map((r) => r.name)).toContain('ProbeFailing')
  })

  test('the target fails: smokeprobe alerts Alertmanager after three runs, Prometheus sees it, Alertmanager notifies', async () => {
    api.setFault('error')
    const alert = await until('Alertmanager holds smokeprobe’s ProbeFailing alert', async () =>
      (await amAlerts()).find((a) => fromSmokeprobe(a.labels) && a.status.state === 'active'),
    )
    expect(alert.labels).toMatchObject({ alertname: 'ProbeFailing', probe: PROBE, location: LOCATION, team: 'e2e', severity: 'page' })
    expect(alert.annotations.description).toContain(`has failed 3 consecutive runs from ${LOCATION}`)

    await promSees(`probe_success${SELECTOR}`, (v) => v === 0)
    await promSees(`probe_consecutive_failures${SELECTOR}`, (v) => v >= 3)
    await promSees(`probe_alert_firing${SELECTOR}`, (v) => v === 1)
    await promSees(`probe_failures_total{probe="${PROBE}",step="read",reason="status"}`, (v) => v >= 3)
    // The repository's own ProbeFailing rule fires on the same data and reaches the same Alertmanager.
    await until('Alertmanager holds the Prometheus rule’s ProbeFailing alert', async () =>
      (await amAlerts()).find((a) => a.labels.probe === PROBE && a.labels.job === 'smokeprobe' && a.status.state === 'active'),
    )

    const message = await until('the webhook sink got a firing notification', async () =>
      sink.messages.find((m) => m.status === 'firing' && m.alerts.some((a) => a.status === 'firing' && fromSmokeprobe(a.labels))),
    )
    expect(message.groupLabels).toEqual({ alertname: 'ProbeFailing', probe: PROBE })
    expect(JSON.stringify(await amAlerts())).not.toContain(TOKEN)
    expect(sink.raw.join('\n')).not.toContain(TOKEN)
  })

  test('the target recovers: the alert leaves Alertmanager and the sink hears it resolved', async () => {
    api.setFault('ok')
    await until('Alertmanager no longer lists an alert for the probe', async () =>
      (await amAlerts()).every((a) => a.labels.probe !== PROBE),
    )
    // The group (smokeprobe's alert and the rule's) may still be firing when smokeprobe's resolves:
    // its alert is listed as resolved then, and the group's own resolved message follows.
    await until('the webhook sink got smokeprobe’s alert resolved', async () =>
      sink.messages.some((m) => m.alerts.some((a) => a.status === 'resolved' && fromSmokeprobe(a.labels))),
    )
    const resolved = await until('the webhook sink got the group resolved', async () => sink.messages.find((m) => m.status === 'resolved'))
    expect(resolved.groupLabels).toEqual({ alertname: 'ProbeFailing', probe: PROBE })
    expect(resolved.alerts.every((a) => a.status === 'resolved')).toBe(true)
    await promSees(`probe_success${SELECTOR}`, (v) => v === 1)
    await promSees(`probe_alert_firing${SELECTOR}`, (v) => v === 0)
    await promSees(`probe_consecutive_failures${SELECTOR}`, (v) => v === 0)
    expect(api.items.size, 'every item a probe created was deleted').toBe(0)
  })

  test('`promtool check metrics` passes on the daemon’s /metrics', async () => {
    const res = await fetch(`${daemon.url}/metrics`, { signal: AbortSignal.timeout(3_000) })
    const text = await res.text()
    expect(text).toMatch(/^probe_notifications_total\{.*channel="am".*event="firing".*result="sent".*\} [1-9]/m)
    const lint = await promtoolCheckMetrics(text)
    expect(lint).toEqual({ code: 0, output: '' })
  })

  test('the daemon exits 0 on SIGTERM', async () => {
    expect(await daemon.process.stop(25_000)).toEqual({ code: 0, signal: null })
  })
})

function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(PROMTOOL!, ['check', 'metrics'], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      resolve({ code, output: `${stdout}${stderr}`.trim() })
    })
    child.stdin?.end(text)
  })
}
