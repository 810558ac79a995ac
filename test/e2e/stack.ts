/**
 * What the real-stack suite generates: smokeprobe's probe and alerting
 * files, Alertmanager's and Prometheus's configurations, the repository's
 * rules with short `for:` durations, and the webhook sink Alertmanager
 * notifies.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseDocument, stringify, isMap, isSeq, type YAMLMap } from 'yaml'
import { crudProbeFile } from '../support/crud-probe.ts'

export const PROBE = 'e2e-items'
export const LOCATION = 'e2e'

/** A CRUD probe every second; its token comes from the environment, so it is a secret that must never leave. */
export function probeFile(): string {
  return crudProbeFile({
    name: PROBE,
    settings: ['description: Create, read and delete an item every second', 'interval: 1s', 'timeout: 900ms', 'labels: { team: e2e }'],
    urlEnv: 'E2E_API_URL',
    tokenEnv: 'E2E_API_TOKEN',
  })
}

/** Three failures in a row fire (instead of five), so the suite stays short. */
export function alertingFile(alertmanagerUrl: string): string {
  return stringify({
    defaults: { failureThreshold: 3, successThreshold: 1, sendResolved: true, channels: ['am'] },
    channels: { am: { type: 'alertmanager', url: alertmanagerUrl, labels: { severity: 'page' } } },
  })
}

/** As deploy/alertmanager/alertmanager.yml routes (grouped by alertname and probe), but fast and to the sink. */
export function alertmanagerConfig(sinkUrl: string): string {
  return stringify({
    route: { receiver: 'sink', group_by: ['alertname', 'probe'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
    receivers: [{ name: 'sink', webhook_configs: [{ url: sinkUrl, send_resolved: true }] }],
  })
}

/** The job is called `smokeprobe`, as the repository's rules (SmokeprobeDown) expect. */
export function prometheusConfig(options: { daemon: string; alertmanager: string; rules: string }): string {
  return stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [options.rules],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] },
    scrape_configs: [{ job_name: 'smokeprobe', static_configs: [{ targets: [options.daemon] }] }],
  })
}

/** The repository's rules unchanged but for every `for:`, so they fire within the suite's time. */
export function withShortFor(rulesYaml: string, duration: string): string {
  const doc = parseDocument(rulesYaml)
  const groups = doc.get('groups')
  if (!isSeq(groups)) throw new Error('rules file: no groups')
  let changed = 0
  for (const group of groups.items) {
    const rules = isMap(group) ? group.get('rules') : null
    if (!isSeq(rules)) throw new Error('rules file: a group without rules')
    for (const rule of rules.items as YAMLMap[]) {
      if (rule.has('for')) {
        rule.set('for', duration)
        changed++
      }
    }
  }
  if (changed === 0) throw new Error('rules file: no rule has a for: duration to shorten')
  return doc.toString()
}

/** One POST from Alertmanager's webhook receiver (version 4). */
export interface WebhookMessage {
  readonly status: 'firing' | 'resolved'
  readonly receiver: string
  readonly groupLabels: Record<string, string>
  readonly alerts: readonly {
    readonly status: 'firing' | 'resolved'
    readonly labels: Record<string, string>
    readonly startsAt: string
    readonly endsAt: string
  }[]
}

export interface Sink {
  readonly url: string
  readonly messages: WebhookMessage[]
  /** Raw bodies, to check that no secret reached a notification. */
  readonly raw: string[]
  close(): Promise<void>
}

/** Receives Alertmanager's webhook notifications on 127.0.0.1 and keeps them. */
export async function startSink(): Promise<Sink> {
  const messages: WebhookMessage[] = []
  const raw: string[] = []
  const server: Server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    raw.push(body)
    try {
      messages.push(JSON.parse(body) as WebhookMessage)
      res.writeHead(200).end()
    } catch {
      res.writeHead(400).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`,
    messages,
    raw,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
