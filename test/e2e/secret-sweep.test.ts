/**
 * Issue 14 "Done when": for a 150-character secret and an 8-character one,
 * no 6 consecutive characters of either appear in any output SPEC lists —
 * the `run --once` report and `--json`, the daemon's debug logs,
 * `/api/probes`, the status page, `/metrics`, every channel's payload
 * (email through a real SMTP server, webhook, PagerDuty, Alertmanager,
 * Slack) and every file of the state directory — as is, JSON-escaped or
 * percent-encoded, nor the whole secret percent-encoded or base64-encoded.
 *
 * The secrets are used as a header credential, in a URL's user-info and in
 * channel credential fields; the target echoes them back (raw, encoded, and
 * the long one across the excerpt's 512-byte cut) in a failing body and in a
 * value a JSON expectation quotes. Real processes on loopback only.
 */
import { readdir, readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { percentDecoded } from '../../src/config/secrets.ts'
import { probeCli, spawnDaemon } from '../daemon/child.ts'
import { Cleanups, waitFor, writeConfig } from '../daemon/harness.ts'
import { SMTP_USER, startPagerDutySink, startSmtpSink, startWebhookSink } from '../daemon/sinks.ts'

const cleanups = new Cleanups()
afterEach(() => cleanups.run())

/** Letters, digits and characters that percent-encode or JSON-escape; none that ends a URL's user-info (`/?#@:\`). */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789&=+%$,;!\'()~"[]^|<>-_.'

/** A fixed pseudo-random string (mulberry32), so a failure names the same secret every run. */
function randomText(length: number, seed: number): string {
  let state = seed
  let out = ''
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    out += ALPHABET[((t ^ (t >>> 14)) >>> 0) % ALPHABET.length]
  }
  return out
}

const LONG = randomText(150, 14)
/** Random-looking: mixed case, digits and symbols that percent-encode. */
const SHORT = 'Vq7&Zp+!'
const SECRETS = { SWEEP_LONG: LONG, SWEEP_SHORT: SHORT }

const WINDOW = 6

/** Every form a piece of a secret could take in output. */
function forms(secret: string): string[] {
  const out = new Set<string>()
  for (let i = 0; i + WINDOW <= secret.length; i++) {
    const window = secret.slice(i, i + WINDOW)
    out.add(window)
    out.add(JSON.stringify(window).slice(1, -1))
    out.add(encodeURIComponent(window))
  }
  const encoded = encodeURIComponent(secret)
  for (const whole of [encoded, encoded.toLowerCase(), encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())]) out.add(whole)
  out.add(Buffer.from(secret).toString('base64').replace(/=+$/, ''))
  // Base64 of the secret alone and inside `probe:…` Basic credentials: every 8-character group at
  // its 4-character alignment is 6 bytes of it, so a cut credential is found too.
  for (const sent of new Set([secret, percentDecoded(secret)])) {
    for (const plain of [sent, `probe:${sent}`]) {
      const b64 = Buffer.from(plain).toString('base64').replace(/=+$/, '')
      out.add(b64)
      for (let i = plain === sent ? 0 : 8; i + 8 <= b64.length; i += 4) out.add(b64.slice(i, i + 8))
    }
  }
  return [...out]
}

const FORMS = Object.entries(SECRETS).map(([name, secret]) => ({ name, forms: forms(secret) }))

/** `where: NAME holds "…"` for every secret piece in the text. */
function leaks(where: string, text: string): string[] {
  const found: string[] = []
  for (const { name, forms } of FORMS) {
    for (const form of forms) if (text.includes(form)) found.push(`${where}: ${name} piece ${JSON.stringify(form)}`)
  }
  return found
}

/** A mail as a reader sees it: headers unfolded, encoded words and the transfer encoding decoded. */
function decodeMail(raw: string): string {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/)
  const body = rest.join('\n\n')
  // Whitespace between two encoded words is not text (RFC 2047 §6.2): a window split across them must join again.
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ').replace(/\?=\s+=\?/g, '?==?')
  const words = unfolded.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_w, _charset, kind: string, text: string) =>
    kind.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replaceAll('_', ' ').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))), 'latin1').toString('utf8'),
  )
  const encoding = /content-transfer-encoding:\s*([\w-]+)/i.exec(unfolded)?.[1]?.toLowerCase()
  const text =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
      : encoding === 'quoted-printable'
        ? Buffer.from(
            body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
            'latin1',
          ).toString('utf8')
        : body
  return `${words}\n\n${text}`
}

interface Echo {
  readonly requests: { path: string; headers: IncomingMessage['headers'] }[]
  readonly url: string
  healthy: boolean
  close(): Promise<void>
}

/**
 * The probed API, gone wrong: `/status` answers 500 with a body that echoes
 * the request's credentials (raw, percent-encoded, base64), the long secret
 * starting just before the excerpt's 512-byte cut; `/json` answers 200 with
 * the authorization header as `who`, which the probe's expectation quotes.
 */
async function startEcho(): Promise<Echo> {
  const echo = { requests: [] as Echo['requests'], healthy: false }
  const server = createServer((req, res) => {
    echo.requests.push({ path: req.url ?? '', headers: req.headers })
    const auth = String(req.headers.authorization ?? '')
    const key = String(req.headers['x-api-key'] ?? '')
    if (echo.healthy) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ who: 'monitor' }))
      return
    }
    // A relative redirect keeps the user-info in the URL the report shows as the final one.
    if (req.url?.startsWith('/redirect')) {
      res.writeHead(302, { location: '/status/after-redirect' }).end()
      return
    }
    if (req.url?.startsWith('/json')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ who: auth }))
      return
    }
    const tail = JSON.stringify({ key, pct: encodeURIComponent(auth), b64: Buffer.from(auth).toString('base64'), url: req.url })
    const lead = '{"error":"db down","pad":"'
    const authJson = JSON.stringify(auth)
    // `Bearer ` is 7 characters: the secret starts 40 bytes before the cut and runs across it.
    const padding = 'x'.repeat(Math.max(0, 512 - 40 - 7 - lead.length - '","authorization":"'.length))
    res.writeHead(500, { 'content-type': 'application/json' }).end(`${lead}${padding}","authorization":${authJson},"more":${tail}}`)
  })
  server.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return Object.assign(echo, {
    url: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  })
}

const PROBES = 3

function probes(target: string) {
  const common = { interval: '1s', timeout: '800ms', description: 'Reads an item as a user would', runbook: 'https://wiki.example.test/runbooks/sweep' }
  return [
    {
      name: 'sweep-status',
      ...common,
      steps: [
        {
          name: 'read',
          request: {
            url: `http://probe:{{ secret.SWEEP_SHORT }}@${target}/status/items`,
            headers: { authorization: 'Bearer {{ secret.SWEEP_LONG }}', 'x-api-key': '{{ secret.SWEEP_SHORT }}' },
          },
          expect: { status: 200 },
        },
      ],
    },
    {
      name: 'sweep-basic',
      ...common,
      steps: [
        {
          name: 'login',
          request: { url: `http://probe:{{ secret.SWEEP_LONG }}@${target}/redirect`, followRedirects: true },
          expect: { status: 200 },
        },
      ],
    },
    {
      name: 'sweep-json',
      ...common,
      steps: [
        {
          name: 'whoami',
          request: { url: `http://probe:{{ secret.SWEEP_LONG }}@${target}/json`, headers: { authorization: 'Bearer {{ secret.SWEEP_LONG }}' } },
          expect: { status: 200, json: { '$.who': 'monitor' } },
        },
      ],
    },
  ]
}

async function allFiles(dir: string): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    out.push({ file, text: await readFile(file, 'latin1') })
  }
  return out
}

describe('no piece of a secret in any output', () => {
  it('the checker finds a 6-character window raw, JSON-escaped or percent-encoded, and the whole secret in base64', () => {
    expect(LONG).toHaveLength(150)
    expect(new Set(LONG).size).toBeGreaterThan(40)
    expect(leaks('t', `a ${LONG.slice(70, 76)} b`)).not.toEqual([])
    expect(leaks('t', encodeURIComponent(LONG.slice(3, 12)))).not.toEqual([])
    expect(leaks('t', JSON.stringify(LONG.slice(100, 120)))).not.toEqual([])
    expect(leaks('t', `Basic ${Buffer.from(`probe:${SHORT}`).toString('base64')}`)).not.toEqual([])
    expect(leaks('t', SHORT.slice(2))).not.toEqual([])
    // Basic credentials cut short still give 6 bytes of the secret away.
    expect(leaks('t', `Basic ${Buffer.from(`probe:${LONG}`).toString('base64').slice(0, 24)}…`)).not.toEqual([])
    // A mail's quoted-printable body (soft line breaks, `=3D`) and split encoded words are read as the reader sees them.
    const qp = (LONG.slice(128, 150).match(/.{1,4}/g) ?? []).map((part) => part.replaceAll('=', '=3D')).join('=\r\n')
    expect(leaks('t', qp)).toEqual([])
    expect(leaks('t', decodeMail(`Content-Transfer-Encoding: quoted-printable\r\n\r\n${qp}`))).not.toEqual([])
    const [a, b] = [SHORT.slice(0, 4), SHORT.slice(4)].map((part) => Buffer.from(part).toString('base64'))
    expect(leaks('t', decodeMail(`Subject: =?UTF-8?B?${a}?=\r\n =?UTF-8?B?${b}?=\r\n\r\n`))).not.toEqual([])
    // Five characters are not a piece.
    expect(leaks('t', `${SHORT.slice(0, 5)} ${LONG.slice(0, 5)} ***`)).toEqual([])
  })

  it('run --once, --json, daemon logs, /api/probes, /, /metrics, every channel and the state directory', async () => {
    const target = await startEcho()
    const hook = await startWebhookSink()
    const am = await startWebhookSink()
    const slack = await startWebhookSink()
    const pager = await startPagerDutySink()
    const smtp = await startSmtpSink({ password: LONG })
    cleanups.defer(() => Promise.all([target.close(), hook.close(), am.close(), slack.close(), pager.close(), smtp.close()]))
    const channels = ['mail', 'hook', 'pager', 'am', 'chat']
    const config = await writeConfig(cleanups, {
      probes: probes(target.url),
      alerting: {
        defaults: { failureThreshold: 2, successThreshold: 1, reminderInterval: 0, channels },
        channels: {
          mail: {
            type: 'email',
            timeout: '3s',
            smtp: { host: '127.0.0.1', port: smtp.port, user: SMTP_USER, pass: '{{ secret.SWEEP_LONG }}' },
            from: 'smokeprobe@example.com',
            to: ['oncall@example.com'],
          },
          hook: {
            type: 'webhook',
            timeout: '3s',
            url: `${hook.url}/hook`,
            headers: { authorization: 'Bearer {{ secret.SWEEP_LONG }}', 'x-hook-key': '{{ secret.SWEEP_SHORT }}' },
          },
          pager: { type: 'pagerduty', timeout: '3s', routingKey: '{{ secret.SWEEP_SHORT }}', url: pager.url },
          am: { type: 'alertmanager', timeout: '3s', url: am.url, resendInterval: '1s' },
          chat: { type: 'slack', timeout: '3s', url: `${slack.url}/services/T0/B0/x` },
        },
      },
    })
    const outputs: { where: string; text: string }[] = []

    const flags = ['--probes', config.probesDir, '--alerting', config.alertingFile, '--log-level', 'trace']
    const once = await probeCli(['run', '--once', ...flags], config.dir, SECRETS)
    const json = await probeCli(['run', '--once', '--json', ...flags], config.dir, SECRETS)
    outputs.push({ where: 'run --once', text: once.stdout + once.stderr }, { where: 'run --once --json', text: json.stdout + json.stderr })
    expect(once.code).toBe(1)
    expect(json.code).toBe(1)
    // The failures really carried the echo: masked, not missing.
    expect(once.stdout).toMatch(/"authorization":"Bearer \*\*\*"/)
    expect(once.stdout).toContain('reproduce: curl')
    expect(json.stdout).toContain('Bearer ***')

    const daemon = await spawnDaemon(cleanups, config, SECRETS)
    const firing = () =>
      hook.delivered().filter((p) => p.event === 'firing').length === PROBES &&
      pager.accepted().length >= PROBES &&
      smtp.inbox.filter((m) => m.event === 'firing').length === PROBES &&
      slack.delivered().length >= PROBES &&
      am.requests.length > 0
    await waitFor('the firing of every probe on every channel', firing, 30_000)
    for (const page of ['/api/probes', '/', '/metrics']) {
      outputs.push({ where: `${page} while firing`, text: await (await fetch(`${daemon.url}${page}`)).text() })
    }
    target.healthy = true
    await waitFor(
      'the resolve of every probe on every channel',
      () =>
        hook.delivered().filter((p) => p.event === 'resolved').length === PROBES &&
        smtp.inbox.filter((m) => m.event === 'resolved').length === PROBES &&
        pager.accepted().filter((e) => e.event_action === 'resolve').length === PROBES,
      30_000,
    )
    for (const page of ['/api/probes', '/', '/metrics']) {
      outputs.push({ where: `${page} after the resolve`, text: await (await fetch(`${daemon.url}${page}`)).text() })
    }
    daemon.process.kill('SIGTERM')
    await daemon.exit

    // The secrets were really sent where they belong: otherwise this test proves nothing.
    expect(target.requests.some((r) => r.headers.authorization === `Bearer ${LONG}` && r.headers['x-api-key'] === SHORT)).toBe(true)
    // User-info is percent-encoded: its `%1E` is sent decoded, as curl sends it.
    const basic = `Basic ${Buffer.from(`probe:${percentDecoded(LONG)}`).toString('base64')}`
    expect(target.requests.some((r) => r.path === '/status/after-redirect' && r.headers.authorization === basic)).toBe(true)
    expect(once.stdout).toMatch(/redirected to http:\/\/probe:\*\*\*@/)
    expect(hook.requests[0]?.headers['x-hook-key']).toBe(SHORT)
    expect(pager.accepted().every((e) => e.routing_key === SHORT)).toBe(true)
    expect(smtp.inbox.length).toBeGreaterThanOrEqual(4)
    const firstFiring = hook.delivered().find((p) => p.event === 'firing' && p.probe === 'sweep-status')
    expect((firstFiring?.error as { excerpt?: string } | null)?.excerpt).toContain('"authorization":"Bearer ***')

    outputs.push({ where: 'daemon stdout', text: daemon.stdout() }, { where: 'daemon stderr', text: daemon.stderr() })
    expect(daemon.logs().some((line) => line.level <= 20)).toBe(true)
    for (const mail of smtp.inbox) outputs.push({ where: `mail ${mail.event}`, text: `${mail.raw}\n${decodeMail(mail.raw)}` })
    for (const r of hook.requests) outputs.push({ where: 'webhook body', text: r.body })
    for (const r of am.requests) outputs.push({ where: 'alertmanager body', text: r.body })
    for (const r of slack.requests) outputs.push({ where: 'slack body', text: r.body })
    // The routing key must reach PagerDuty in `routing_key`, and nowhere else.
    for (const r of pager.requests) {
      const { routing_key: _, ...rest } = JSON.parse(r.body) as Record<string, unknown>
      outputs.push({ where: 'pagerduty body', text: JSON.stringify(rest) })
    }
    const files = await allFiles(config.stateDir)
    expect(files.length).toBeGreaterThan(0)
    for (const { file, text } of files) outputs.push({ where: `state ${path.relative(config.stateDir, file)}`, text })

    expect(outputs.flatMap(({ where, text }) => leaks(where, text))).toEqual([])
  }, 90_000)
})
