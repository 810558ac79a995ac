/**
 * The Prometheus and Alertmanager files in deploy/ pass the projects' own
 * checkers. promtool is required (.ci/run installs it); amtool is checked
 * when the machine has it.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { metricsIn, DOCUMENTED_METRICS } from './metric-names.ts'

const exec = promisify(execFile)
const RULES = resolve('deploy/prometheus/rules.yml')
const scratch = mkdtempSync(join(tmpdir(), 'smokeprobe-promtool-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function findTool(...candidates: string[]): string | undefined {
  return candidates.find((path) => existsSync(path))
}

const promtool = findTool('/usr/bin/promtool', '/usr/local/bin/promtool')
const amtool = findTool('/usr/bin/amtool', '/usr/local/bin/amtool')

async function check(tool: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await exec(tool, args, { timeout: 30_000 })
    return stdout + stderr
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${tool} ${args.join(' ')} failed:\n${failed.stdout ?? ''}${failed.stderr ?? failed.message}`)
  }
}

interface Rule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules)

describe('deploy/prometheus/rules.yml', () => {
  it('is found by promtool, which CI installs', () => {
    expect(promtool, 'promtool is missing: .ci/run installs it with apt-get (prometheus)').toBeDefined()
  })

  it('passes `promtool check rules`', async () => {
    expect(await check(promtool!, ['check', 'rules', RULES])).toContain('SUCCESS')
  })

  it('fires as intended: `promtool test rules` on timelines', async () => {
    const tests = readFileSync('test/deploy/fixtures/rules-tests.yml', 'utf8').replace('RULES_FILE', RULES)
    const file = join(scratch, 'rules-tests.yml')
    writeFileSync(file, tests)
    expect(await check(promtool!, ['test', 'rules', file])).toContain('SUCCESS')
  })

  it('has the rules a platform team expects, each with a severity', () => {
    const names = rules.map((r) => r.alert)
    for (const name of [
      'ProbeFailing',
      'ProbeFailingFromMostLocations',
      'SmokeprobeDown',
      'SmokeprobeConfigReloadFailed',
      'SmokeprobeNotificationsFailing',
      'SmokeprobeNetworkDown',
    ]) {
      expect(names).toContain(name)
    }
    for (const rule of rules) expect(['page', 'warning']).toContain(rule.labels?.severity)
    expect(rules.find((r) => r.alert === 'ProbeFailing')?.expr).toBe('probe_success == 0')
    expect(rules.find((r) => r.alert === 'ProbeFailingFromMostLocations')?.expr).toContain('avg by (probe) (probe_success)')
    expect(rules.find((r) => r.alert === 'SmokeprobeNetworkDown')?.expr).toBe('probe_network_up == 0')
  })

  it('uses only metrics the SPEC or README "Metrics" documents', () => {
    const used = new Set(rules.flatMap((r) => metricsIn(r.expr)))
    expect(used.size).toBeGreaterThan(0)
    for (const name of used) expect(DOCUMENTED_METRICS).toContain(name)
    const readme = readFileSync('README.md', 'utf8')
    for (const name of DOCUMENTED_METRICS) expect(readme, `README "Metrics" documents ${name}`).toContain(`| \`${name}\` |`)
  })
})

describe('deploy/prometheus/prometheus.yml', () => {
  it('passes `promtool check config` with the rules where compose mounts them', async () => {
    const config = readFileSync('deploy/prometheus/prometheus.yml', 'utf8')
    expect(config).toContain('/etc/prometheus/rules.yml')
    const file = join(scratch, 'prometheus.yml')
    writeFileSync(file, config.replace('/etc/prometheus/rules.yml', RULES))
    expect(await check(promtool!, ['check', 'config', file])).toContain('SUCCESS')
  })

  it('scrapes smokeprobe as job "smokeprobe", the name the SmokeprobeDown rule expects', () => {
    const config = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as { scrape_configs: { job_name: string }[] }
    expect(config.scrape_configs.map((s) => s.job_name)).toContain('smokeprobe')
    expect(rules.find((r) => r.alert === 'SmokeprobeDown')?.expr).toContain('job="smokeprobe"')
  })
})

describe('deploy/alertmanager/alertmanager.yml', () => {
  it.skipIf(amtool === undefined)('passes `amtool check-config`', async () => {
    expect(await check(amtool!, ['check-config', resolve('deploy/alertmanager/alertmanager.yml')])).toContain('SUCCESS')
  })

  it('groups by alertname and probe, and mails the compose mail catcher', () => {
    const config = parse(readFileSync('deploy/alertmanager/alertmanager.yml', 'utf8')) as {
      global: { smtp_smarthost: string }
      route: { group_by: string[] }
    }
    expect(config.route.group_by).toEqual(['alertname', 'probe'])
    expect(config.global.smtp_smarthost).toBe('mailpit:1025')
  })
})
