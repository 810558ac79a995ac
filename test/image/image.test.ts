/**
 * The image itself, built once per run (or reused when its build context is
 * unchanged: scripts/image.ts) and run as deploy/kubernetes runs it: read-only
 * root filesystem, tmpfs /tmp, a state volume, uid 1000, no capabilities,
 * no privilege escalation. The real-stack scenario runs against the
 * container: the demo API, a real Alertmanager and its webhook sink on the
 * host's 127.0.0.1, the daemon container on the host network.
 *
 * Needs docker or podman (.ci/run installs podman, runc, mmdebstrap, uidmap)
 * and prometheus-alertmanager. Without an engine the suite is skipped with a
 * reason, so `npm test` works on a fresh machine; in CI (`CI` set) a missing
 * engine or a failed build is a failure.
 */
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest'
import { type DemoApi, startDemoApi } from '../../demo/server.ts'
import { detectEngine, engineRun } from '../../scripts/image-engine.ts'
import { type Built, ensureImage, imageSize } from '../../scripts/image.ts'
import { findBinary, freePort, getJson, isUp, type Running, startListening, startProcess, waitFor } from '../e2e/processes.ts'
import { alertingFile, alertmanagerConfig, LOCATION, PROBE, probeFile, type Sink, startSink } from '../e2e/stack.ts'
import { Containers, STATE_DIR } from './containers.ts'

const detected = detectEngine()
const ALERTMANAGER = findBinary('prometheus-alertmanager', 'alertmanager')
const skip = !detected.engine && !process.env.CI
if (skip) console.warn(`skipping the image suite: ${detected.reason}`)

const PACKAGE = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
/** deploy/kubernetes/deployment.yaml's terminationGracePeriodSeconds. */
const GRACE_SECONDS = 45
const STEP_MS = 60_000
const TOKEN = `image-secret-${randomUUID()}`
const BUILD = 'the image builds, or is reused for this revision and build context'
const STARTED = 'the daemon container becomes ready and passes the CRUD probe against the loopback API'

interface Inspect {
  readonly Config: {
    readonly User: string
    readonly Entrypoint: string[]
    readonly Cmd: string[]
    readonly Labels: Record<string, string>
    readonly Healthcheck?: { Test: string[] } | null
  }
  /** Podman keeps the docker-format healthcheck here. */
  readonly Healthcheck?: { Test: string[] } | null
}
interface ApiProbe {
  readonly name: string
  readonly consecutiveFailures: number
  readonly lastRun: { readonly runId: string; readonly outcome: string } | null
  readonly alert: { readonly state: string; readonly since: string | null }
}
interface AmAlert {
  readonly labels: Record<string, string>
  readonly startsAt: string
  readonly status: { readonly state: string }
}

describe.skipIf(skip)('the image, run as Kubernetes runs it', { timeout: STEP_MS }, () => {
  let built: Built | undefined
  let containers: Containers
  let buildLog = ''
  let dir = ''
  let api: DemoApi | undefined
  let sink: Sink | undefined
  let alertmanager: Awaited<ReturnType<typeof startListening>> | undefined
  let volume = ''
  let daemon: { process: Running; name: string; url: string } | undefined
  let started = false
  const processes: Running[] = []

  // The build and the daemon's start are tests rather than beforeAll hooks: when they fail it is a
  // counted failure, and the tests that need them are skipped instead of failing again.
  beforeEach(({ task, skip }) => {
    if (!built && task.name !== BUILD) skip('the image did not build')
    const needsDaemon = task.name.startsWith('daemon: ')
    if (needsDaemon && !started) skip('the daemon container did not start')
  })

  afterEach(({ task }) => {
    if (task.result?.state !== 'fail') return
    if (task.name === BUILD) console.error(`----- build output (tail) -----\n${buildLog.split('\n').slice(-60).join('\n')}`)
    for (const p of processes) console.error(`----- ${p.name} (exit ${JSON.stringify(p.exited())}) -----\n${p.tail(40)}`)
  })

  afterAll(async () => {
    await containers?.removeAll()
    await Promise.all(processes.map((p) => p.stop(5_000)))
    await Promise.all([api?.close(), sink?.close()])
    if (dir) await rm(dir, { recursive: true, force: true })
  }, 120_000)

  test(BUILD, { timeout: 1_500_000 }, async () => {
    expect(detected.engine, detected.reason).not.toBeNull()
    const t0 = performance.now()
    built = await ensureImage({
      engine: detected.engine!,
      log: (chunk) => {
        buildLog = (buildLog + chunk + (chunk.endsWith('\n') ? '' : '\n')).slice(-256 * 1024)
      },
    })
    containers = new Containers(built.engine, built.ref)
    const size = await imageSize(built.engine, built.ref)
    console.log(
      `image ${built.ref} (${built.engine.name}${built.standInBase ? ', stand-in base' : ''}): ${(size / 1e6).toFixed(0)} MB; ` +
        `base ${built.baseSeconds.toFixed(0)} s, image ${built.buildSeconds.toFixed(0)} s, ${((performance.now() - t0) / 1000).toFixed(0)} s in all`,
    )
  })

  test('its labels carry the version and revision; it runs `probe run` as node with a HEALTHCHECK', async () => {
    const result = await engineRun(built!.engine, ['image', 'inspect', built!.ref], { timeoutMs: 30_000 })
    const [image] = JSON.parse(result.stdout) as Inspect[]
    expect(image!.Config.Labels['org.opencontainers.image.version']).toBe(PACKAGE.version)
    expect(image!.Config.Labels['org.opencontainers.image.revision']).toBe(built!.revision)
    expect(image!.Config.User).toBe('node')
    expect(image!.Config.Entrypoint).toEqual(['probe'])
    expect(image!.Config.Cmd).toEqual(['run'])
    const healthcheck = image!.Config.Healthcheck ?? image!.Healthcheck
    expect(healthcheck?.Test.slice(0, 3), 'HEALTHCHECK kept (podman: --format docker)').toEqual(['CMD', 'node', '-e'])
  })

  test('`probe --version` equals package.json', async () => {
    const result = await containers.run(['--version'])
    expect(result).toMatchObject({ code: 0 })
    expect(result.stdout.trim()).toBe(PACKAGE.version)
  })

  test('`probe validate` passes the baked-in probes and alerting file', async () => {
    const result = await containers.run(['validate'], { env: { ITEMS_API_URL: 'http://127.0.0.1:1', ITEMS_API_TOKEN: TOKEN } })
    expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (package|module)/)
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
  })

  /** Between the parts of one shell's output; licence texts hold lines of dashes. */
  const CUT = '=====smokeprobe-cut====='
  test('the image holds the bundle and its licences only: no node_modules, no sources, no test file, no .git, no npm', async () => {
    const listed = await containers.sh(
      `find / -xdev -name .git -print; echo ${CUT}; find /app -print; echo ${CUT}; command -v npm npx corepack; echo ${CUT}; cat /app/dist/build.json /app/dist/THIRD-PARTY-LICENSES.txt; true`,
    )
    expect(listed.code, listed.stderr).toBe(0)
    const [gitsText, appText, toolsText, distText] = listed.stdout.split(`${CUT}\n`)
    const lines = (text = '') => text.split('\n').filter((line) => line !== '')
    expect(lines(gitsText)).toEqual([])
    expect(lines(toolsText), 'npm, npx and corepack are not in the runtime').toEqual([])
    const files = lines(appText).map((p) => p.replace(/^\/app\/?/, '')).filter((p) => p !== '')
    expect(files.filter((p) => /^(node_modules|src)(\/|$)/.test(p)), 'dependencies and sources are in the bundle').toEqual([])
    expect(files.filter((p) => /(^|\/)(test|tests|bench|scripts|demo)(\/|$)|\.test\.ts$/.test(p))).toEqual([])
    expect(files.filter((p) => /(^|\/)\.(env|git|vitest)/.test(p))).toEqual([])
    const manifest = JSON.parse(lines(distText)[0]!) as { main: string }
    expect(files).toContain(`dist/${manifest.main}`)
    // Built from the same sources and lock file as the dist/ vitest built here, so the same packages went in.
    const licences = distText!.slice(distText!.indexOf('\n') + 1)
    expect(licences).toBe(readFileSync('dist/THIRD-PARTY-LICENSES.txt', 'utf8'))
  })

  test('nothing is writable but the state volume and /tmp', async () => {
    const state = await containers.volume('writable')
    // As deployed: every directory the daemon could try to write to, and a search for anything writable.
    const dirs = [
      '/',
      '/app',
      '/app/probes',
      '/app/alerting',
      '/app/dist',
      '/usr/local/bin',
      '/etc',
      '/home/node',
      '/var/tmp',
      '/run',
      STATE_DIR,
      '/tmp',
    ]
    const script = [
      ...dirs.map((d) => `(touch ${d}/.w 2>/dev/null && echo ${d}) || true`),
      'echo ---',
      'find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -writable -print 2>/dev/null | sort',
    ].join('\n')
    const result = await containers.sh(script, { volume: state })
    const [writable, found] = result.stdout.split('---\n').map((part) => part.split('\n').filter((line) => line !== ''))
    expect(writable).toEqual([STATE_DIR, '/tmp'])
    // The engine bind-mounts these itself (so does the kubelet, for /etc/hosts); they are not the image's.
    const engineFiles = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/run/.containerenv'])
    expect(found!.filter((p) => !engineFiles.has(p) && !p.startsWith(`${STATE_DIR}`) && !p.startsWith('/tmp'))).toEqual([])

    // Without --read-only too, the app and its tools are root's: uid 1000 may write nothing of them.
    const permissions = await containers.sh('find /app /usr/local -writable -print 2>/dev/null; true', { readOnly: false })
    expect(permissions.stdout.trim()).toBe('')
  })

  test('as shipped (no flags, own network): the daemon starts on :9464 and the HEALTHCHECK command succeeds in it', async () => {
    const result = await engineRun(built!.engine, ['image', 'inspect', built!.ref], { timeoutMs: 30_000 })
    const [image] = JSON.parse(result.stdout) as Inspect[]
    const test = (image!.Config.Healthcheck ?? image!.Healthcheck)!.Test
    const command = test[0] === 'CMD-SHELL' ? ['sh', '-c', test[1]!] : test.slice(1)
    const name = containers.name('healthcheck')
    const state = await containers.volume('healthcheck')
    const env = { ITEMS_API_URL: 'http://127.0.0.1:1', ITEMS_API_TOKEN: TOKEN }
    const run = await engineRun(
      built!.engine,
      [
        'run',
        '--detach',
        '--name',
        name,
        '--network=none',
        ...containers.kubernetesFlags({ volume: state, env: Object.keys(env) }),
        built!.ref,
      ],
      { timeoutMs: 60_000, env },
    )
    expect(run.code, run.stderr).toBe(0)
    const check = await waitFor(
      'the HEALTHCHECK command exits 0 in the container',
      async () => (await containers.exec(name, command)).code === 0,
      {
        timeoutMs: STEP_MS,
        intervalMs: 500,
      },
    )
    expect(check).toBe(true)
    const stopped = await containers.stop(name, GRACE_SECONDS)
    expect(stopped.code, stopped.stderr).toBe(0)
  })

  test('a secret file mounted at /run/secrets is read by `{{ secret.NAME }}`, sent, and never printed', async () => {
    const secretDir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-image-secrets-'))
    try {
      const secret = `file-secret-${randomUUID()}`
      // As a Kubernetes Secret volume: one file per key, readable by the pod's uid, a trailing newline from `echo`.
      await mkdir(path.join(secretDir, 'secrets'), { mode: 0o755 })
      await writeFile(path.join(secretDir, 'secrets/IMAGE_API_TOKEN'), `${secret}\n`, { mode: 0o644 })
      const seen: (string | undefined)[] = []
      const target = createServer((req, res) => {
        seen.push(req.headers.authorization)
        res.writeHead(req.headers.authorization === `Bearer ${secret}` ? 200 : 401).end()
      })
      target.listen(0, '127.0.0.1')
      await once(target, 'listening')
      try {
        const port = (target.address() as AddressInfo).port
        await mkdir(path.join(secretDir, 'probes'), { mode: 0o755 })
        await mkdir(path.join(secretDir, 'alerting'), { mode: 0o755 })
        const probe = `name: secret-file\nsteps:\n  - name: read\n    request:\n      url: http://127.0.0.1:${port}/items\n      headers: { authorization: "Bearer {{ secret.IMAGE_API_TOKEN }}" }\n    expect: { status: 200 }\n`
        await writeFile(path.join(secretDir, 'probes/secret-file.yaml'), probe, { mode: 0o644 })
        await writeFile(path.join(secretDir, 'alerting/alerting.yaml'), 'channels: {}\n', { mode: 0o644 })
        await chmod(secretDir, 0o755)
        const mounts = [
          `${path.join(secretDir, 'secrets')}:/run/secrets:ro`,
          `${path.join(secretDir, 'probes')}:/app/probes:ro`,
          `${path.join(secretDir, 'alerting')}:/app/alerting:ro`,
        ]
        const result = await containers.run(['run', '--once'], { mounts, network: 'host' })
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
        expect(seen).toEqual([`Bearer ${secret}`])
        expect(result.stdout).toContain('PASS secret-file')
        expect(`${result.stdout}${result.stderr}`).not.toContain(secret)
        const listed = await containers.run(['list'], { mounts })
        expect(listed.stdout, listed.stderr).toContain('IMAGE_API_TOKEN')
        expect(`${listed.stdout}${listed.stderr}`).not.toContain(secret)
      } finally {
        target.close()
      }
    } finally {
      await rm(secretDir, { recursive: true, force: true })
    }
  })

  test(STARTED, { timeout: 4 * STEP_MS }, async ({ skip }) => {
    const missing = 'prometheus-alertmanager is not installed (.ci/run installs it)'
    if (!ALERTMANAGER && !process.env.CI) skip(missing)
    expect(ALERTMANAGER, missing).toBeDefined()
    dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-image-'))
    sink = await startSink()
    api = await startDemoApi({ host: '127.0.0.1', port: 0, token: TOKEN })
    await mkdir(path.join(dir, 'alertmanager'))
    await writeFile(path.join(dir, 'alertmanager/alertmanager.yml'), alertmanagerConfig(sink.url))
    alertmanager = await startListening(
      'alertmanager',
      (port) => {
        const running = startProcess(
          'alertmanager',
          ALERTMANAGER!,
          [
            `--config.file=${path.join(dir, 'alertmanager/alertmanager.yml')}`,
            `--storage.path=${path.join(dir, 'alertmanager/data')}`,
            `--web.listen-address=127.0.0.1:${port}`,
            '--cluster.listen-address=',
          ],
          { env: { PATH: process.env.PATH ?? '' }, cwd: dir },
        )
        processes.push(running)
        return running
      },
      '/-/ready',
      STEP_MS,
    )
    // Mounted read-only over the baked-in files, as the README's `-v ./probes:/app/probes:ro`.
    await mkdir(path.join(dir, 'probes'))
    await mkdir(path.join(dir, 'alerting'))
    await writeFile(path.join(dir, 'probes/items.yaml'), probeFile())
    await writeFile(path.join(dir, 'alerting/alerting.yaml'), alertingFile(alertmanager.url))
    volume = await containers.volume('state')

    const ready = await startDaemon('daemon-1')
    console.log(`container start → /readyz 200: ${ready} ms`)
    const probe = await until('the CRUD probe passes in the container', async () => {
      const found = await apiProbe()
      return found?.lastRun?.outcome === 'success' && found
    })
    expect(probe.alert.state).toBe('ok')
    started = true
  })

  async function startDaemon(role: string): Promise<number> {
    const port = await freePort()
    const t0 = performance.now()
    const launched = containers.daemon(role, ['run', '--listen', `127.0.0.1:${port}`, '--location', LOCATION, '--log-level', 'info'], {
      volume,
      mounts: [`${path.join(dir, 'probes')}:/app/probes:ro`, `${path.join(dir, 'alerting')}:/app/alerting:ro`],
      env: { E2E_API_URL: api!.url, E2E_API_TOKEN: TOKEN },
    })
    processes.push(launched.process)
    daemon = { ...launched, url: `http://127.0.0.1:${port}` }
    await waitFor(`${role} ready at ${daemon.url}/readyz`, () => isUp(`${daemon!.url}/readyz`), {
      timeoutMs: STEP_MS,
      intervalMs: 100,
      watch: [launched.process],
    })
    return Math.round(performance.now() - t0)
  }

  const until = <T>(what: string, check: () => Promise<T | undefined | false>) =>
    waitFor(what, check, { timeoutMs: STEP_MS, watch: daemon ? [daemon.process] : [] })
  const apiProbe = async () => (await getJson<{ probes: ApiProbe[] }>(`${daemon!.url}/api/probes`)).probes.find((p) => p.name === PROBE)
  const amAlerts = () => getJson<AmAlert[]>(`${alertmanager!.url}/api/v2/alerts?filter=${encodeURIComponent('alertname="ProbeFailing"')}`)
  const firingPages = () => sink!.messages.filter((m) => m.status === 'firing' && m.alerts.some((a) => a.labels.probe === PROBE))

  let firstSince = ''
  let countAtStop = 0

  test('daemon: the target fails, the container fires through Alertmanager, and the sink is paged once', async () => {
    api!.setFault('error')
    const alert = await until('Alertmanager holds the container’s ProbeFailing alert', async () =>
      (await amAlerts()).find((a) => a.labels.probe === PROBE && a.labels.location === LOCATION && a.status.state === 'active'),
    )
    expect(alert.labels).toMatchObject({ alertname: 'ProbeFailing', team: 'e2e', severity: 'page' })
    await until('the sink got the firing page', async () => firingPages().length > 0)
    const probe = await apiProbe()
    expect(probe?.alert.state).toBe('firing')
    firstSince = probe!.alert.since!
    expect(sink!.raw.join('\n')).not.toContain(TOKEN)
  })

  test(`daemon: SIGTERM exits 0 within the ${GRACE_SECONDS} s grace period, with the alert state on the volume`, {
    timeout: (GRACE_SECONDS + 60) * 1000,
  }, async () => {
    countAtStop = (await apiProbe())!.consecutiveFailures
    const t0 = performance.now()
    const stopped = await containers.stop(daemon!.name, GRACE_SECONDS)
    const exit = await daemon!.process.exit
    const seconds = (performance.now() - t0) / 1000
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(exit).toEqual({ code: 0, signal: null })
    expect(seconds).toBeLessThan(GRACE_SECONDS)
    console.log(`SIGTERM → exit 0 in ${seconds.toFixed(1)} s`)
    const files = await containers.sh(`grep -rl ${PROBE} ${STATE_DIR}`, { volume })
    expect(files.stdout.trim(), `state files naming ${PROBE} on the volume`).not.toBe('')
  })

  test('daemon: a new container on the same volume carries the incident on and sends no second page', async () => {
    await startDaemon('daemon-2')
    // A daemon that lost its state would count from 0 and open a new incident after three failures.
    const probe = await until('the new container has run the probe', async () => {
      const found = await apiProbe()
      return found !== undefined && found.lastRun !== null && found.consecutiveFailures > countAtStop + 3 && found
    })
    expect(probe.alert).toEqual({ state: 'firing', since: firstSince })
    const [alert] = (await amAlerts()).filter((a) => a.labels.probe === PROBE && a.status.state === 'active')
    expect(alert, 'the new container keeps the alert in Alertmanager').toBeDefined()
    expect(firingPages()).toHaveLength(1)

    api!.setFault('ok')
    await until('Alertmanager no longer lists the alert', async () => (await amAlerts()).every((a) => a.labels.probe !== PROBE))
    await until('the sink heard it resolved', async () => sink!.messages.some((m) => m.status === 'resolved'))
    expect(firingPages()).toHaveLength(1)
    expect((await apiProbe())?.alert.state).toBe('ok')
    await until('every item a probe created is deleted', async () => api!.items.size === 0)
    const stopped = await containers.stop(daemon!.name, GRACE_SECONDS)
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(await daemon!.process.exit).toEqual({ code: 0, signal: null })
  })
})
