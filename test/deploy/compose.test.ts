import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { alertingFileSchema } from '../../src/loader/alerting-schema.ts'
import { probeFileSchema } from '../../src/config/probe-schema.ts'
import { SecretMask } from '../../src/config/secrets.ts'
import { parseDockerfile } from './dockerfile.ts'

interface Service {
  build?: { context: string; target: string }
  image?: string
  command?: string[]
  environment?: Record<string, string>
  volumes?: string[]
  ports?: string[]
  depends_on?: string[]
  secrets?: string[]
}

const compose = parse(readFileSync('deploy/compose.yaml', 'utf8')) as {
  services: Record<string, Service>
  volumes: Record<string, unknown>
  secrets: Record<string, { file: string }>
}
const services = compose.services
const smokeprobe = services.smokeprobe!

/** `./host/path:/container/path:ro` → the host path relative to deploy/, for bind mounts only. */
function bindMounts(service: Service): { host: string; container: string; mode: string | undefined }[] {
  return (service.volumes ?? [])
    .map((spec) => spec.split(':'))
    .filter(([host]) => host!.startsWith('.'))
    .map(([host, container, mode]) => ({ host: join('deploy', host!), container: container!, mode }))
}

describe('deploy/compose.yaml', () => {
  it('runs smokeprobe, the demo API, Prometheus, Alertmanager and a mail catcher', () => {
    expect(Object.keys(services).sort()).toEqual(['alertmanager', 'demo-api', 'mailpit', 'prometheus', 'smokeprobe'])
  })

  it('builds smokeprobe and the demo API from stages of the Dockerfile', () => {
    const stages = parseDockerfile(readFileSync('Dockerfile', 'utf8')).map((s) => s.name)
    for (const name of ['smokeprobe', 'demo-api']) {
      expect(services[name]!.build?.context).toBe('..')
      expect(stages).toContain(services[name]!.build?.target)
    }
  })

  it('pins every third-party image to a version', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) continue
      expect(service.image, name).toMatch(/:v\d+\.\d+\.\d+$/)
    }
  })

  it('mounts files that exist, read-only', () => {
    for (const service of Object.values(services)) {
      for (const mount of bindMounts(service)) {
        expect(existsSync(mount.host), mount.host).toBe(true)
        expect(mount.mode).toBe('ro')
      }
    }
  })

  it('publishes ports on loopback only', () => {
    for (const service of Object.values(services)) for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/)
  })

  it("gives smokeprobe the environment the shipped probes need, and the demo API's token as a secret file", () => {
    const env = smokeprobe.environment ?? {}
    expect(env.ITEMS_API_URL).toBe('http://demo-api:8080')
    // A Docker secret: the file /run/secrets/ITEMS_API_TOKEN, read with {{ secret.ITEMS_API_TOKEN }}; not in the environment.
    expect(env).not.toHaveProperty('ITEMS_API_TOKEN')
    expect(smokeprobe.secrets).toEqual(['ITEMS_API_TOKEN'])
    const token = readFileSync(join('deploy', compose.secrets.ITEMS_API_TOKEN!.file), 'utf8')
    expect(token.replace(/\n$/, '')).toBe(services['demo-api']!.environment?.DEMO_API_TOKEN)
    const readSecret = (name: string) => (name === 'ITEMS_API_TOKEN' ? { value: token.replace(/\n$/, '') } : { problem: `no ${name}` })
    for (const file of readdirSync('probes').filter((f) => f.endsWith('.yaml'))) {
      const context = { env, secrets: new SecretMask(), readSecret }
      const result = probeFileSchema(context).safeParse(parse(readFileSync(join('probes', file), 'utf8')))
      expect(result.error?.issues ?? [], file).toEqual([])
    }
  })

  it('keeps state on a named volume and mounts a valid alerting file that reaches the stack', () => {
    expect(smokeprobe.volumes).toContain('smokeprobe-state:/var/lib/smokeprobe')
    expect(compose.volumes).toHaveProperty('smokeprobe-state')
    const alerting = bindMounts(smokeprobe).find((m) => m.container === smokeprobe.command![smokeprobe.command!.indexOf('--alerting') + 1])
    expect(alerting).toBeDefined()
    const result = alertingFileSchema({ env: smokeprobe.environment ?? {}, secrets: new SecretMask() }).safeParse(
      parse(readFileSync(alerting!.host, 'utf8')),
    )
    expect(result.error?.issues ?? []).toEqual([])
    const channels = Object.values(result.data!.channels)
    expect(channels.find((c) => c.type === 'alertmanager')).toMatchObject({ url: ['http://alertmanager:9093'] })
    expect(channels.find((c) => c.type === 'email')).toMatchObject({ smtp: { host: 'mailpit', port: 1025 } })
  })
})
