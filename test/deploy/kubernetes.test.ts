import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'

const exec = promisify(execFile)
const DIR = 'deploy/kubernetes'

interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string; annotations?: Record<string, string> }
  spec?: Record<string, unknown>
}

const manifests: Manifest[] = readdirSync(DIR)
  .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`)
      return doc.toJS() as Manifest
    }),
  )

function find(kind: string): Manifest {
  const found = manifests.find((m) => m.kind === kind)
  if (!found) throw new Error(`no ${kind} in ${DIR}`)
  return found
}

// The parts of a Deployment these tests read.
interface PodSpec {
  securityContext: Record<string, unknown>
  containers: {
    args: string[]
    envFrom?: { secretRef?: { name: string } }[]
    env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[]
    readinessProbe: { httpGet: { path: string; port: string } }
    livenessProbe: { httpGet: { path: string; port: string } }
    resources: { requests: Record<string, string>; limits: Record<string, string> }
    securityContext: Record<string, unknown> & { capabilities: { drop: string[] } }
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[]
    ports: { name: string; containerPort: number }[]
  }[]
  volumes: { name: string; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string; defaultMode?: number } }[]
}
const deployment = find('Deployment') as Manifest & {
  spec: { template: { metadata: { annotations: Record<string, string> }; spec: PodSpec } }
}
const pod = deployment.spec.template.spec
const container = pod.containers[0]!

describe('deploy/kubernetes', () => {
  it('every file parses as Kubernetes objects', () => {
    for (const m of manifests) {
      expect(m.apiVersion, m.kind).toBeTruthy()
      expect(m.metadata.name, m.kind).toBeTruthy()
    }
    expect(manifests.map((m) => m.kind).sort()).toEqual(
      ['Deployment', 'Namespace', 'PersistentVolumeClaim', 'Secret', 'Service', 'Service', 'ServiceMonitor', 'StatefulSet'].sort(),
    )
  })

  it('checks readiness on /readyz and liveness on /healthz', () => {
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' })
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' })
    expect(container.ports).toEqual([{ name: 'http', containerPort: 9464 }])
  })

  it('runs locked down: non-root, read-only root filesystem, no privilege escalation, no capabilities', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    })
    expect(container.securityContext.capabilities.drop).toEqual(['ALL'])
  })

  it('sets resources; mounts the Secret as files in /run/secrets, read-only; plain configuration in env', () => {
    expect(container.resources.requests).toHaveProperty('cpu')
    expect(container.resources.requests).toHaveProperty('memory')
    expect(container.resources.limits).toHaveProperty('memory')
    const secret = find('Secret') as Manifest & { stringData: Record<string, string> }
    // No secret in the environment: {{ secret.NAME }} finds the file NAME in /run/secrets, the default directory.
    expect(container.envFrom).toBeUndefined()
    const mount = container.volumeMounts.find((m) => m.mountPath === '/run/secrets')
    expect(mount?.readOnly).toBe(true)
    const volume = pod.volumes.find((v) => v.name === mount?.name)
    expect(volume?.secret).toEqual({ secretName: secret.metadata.name, defaultMode: 0o440 })
    expect(container.env.map((e) => e.name)).toContain('ITEMS_API_URL')
    // The shipped probes read the token as a secret, and the example's value is long enough to be one.
    for (const file of ['items-crud.yaml', 'items-list.yaml'])
      expect(readFileSync(join('probes', file), 'utf8')).toContain('{{ secret.ITEMS_API_TOKEN }}')
    expect(Object.keys(secret.stringData)).toEqual(['ITEMS_API_TOKEN'])
    expect(secret.stringData.ITEMS_API_TOKEN!.length).toBeGreaterThanOrEqual(8)
  })

  it('keeps alert state on the claimed volume it passes as --state-dir', () => {
    const stateDir = container.args[container.args.indexOf('--state-dir') + 1]
    const mount = container.volumeMounts.find((m) => m.mountPath === stateDir)
    expect(mount).toBeDefined()
    const volume = pod.volumes.find((v) => v.name === mount!.name)
    expect(volume?.persistentVolumeClaim?.claimName).toBe(find('PersistentVolumeClaim').metadata.name)
    expect(container.args[0]).toBe('run')
    expect(container.args).toContain('--location')
  })

  it('is scraped: pod annotations, and a ServiceMonitor on the Service port', () => {
    expect(deployment.spec.template.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9464',
      'prometheus.io/path': '/metrics',
    })
    const service = find('Service') as Manifest & { spec: { ports: { name: string }[] } }
    const monitor = find('ServiceMonitor') as Manifest & { spec: { endpoints: { port: string; path: string }[] } }
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: service.spec.ports[0]!.name, path: '/metrics' })
  })

  it('has a kustomization listing existing files, and keeps the example Secret out of it', () => {
    const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] }
    for (const file of kustomization.resources) expect(existsSync(join(DIR, file)), file).toBe(true)
    expect(kustomization.resources).not.toContain('secret.example.yaml')
  })

  it('ships a StatefulSet whose pods take their shard from the ordinal, each with its own state volume', () => {
    const set = find('StatefulSet') as Manifest & {
      spec: {
        replicas: number
        serviceName: string
        template: { spec: PodSpec }
        volumeClaimTemplates: { metadata: { name: string }; spec: { accessModes: string[] } }[]
      }
    }
    const shardPod = set.spec.template.spec
    const shardContainer = shardPod.containers[0]!
    const args = shardContainer.args
    expect(args[args.indexOf('--shard') + 1]).toBe('auto')
    // Every ordinal 0..replicas-1 is a shard, and no pod is left outside --shards.
    expect(Number(args[args.indexOf('--shards') + 1])).toBe(set.spec.replicas)
    const fieldRefs = Object.fromEntries(shardContainer.env.flatMap((e) => (e.valueFrom ? [[e.name, e.valueFrom.fieldRef.fieldPath]] : [])))
    expect(fieldRefs).toEqual({
      SMOKEPROBE_POD_INDEX: "metadata.labels['apps.kubernetes.io/pod-index']",
      SMOKEPROBE_POD_NAME: 'metadata.name',
    })
    const stateDir = args[args.indexOf('--state-dir') + 1]
    const mount = shardContainer.volumeMounts.find((m) => m.mountPath === stateDir)
    // The state volume is a claim template (one per pod), not a shared claim.
    expect(shardPod.volumes.find((v) => v.name === mount?.name)).toBeUndefined()
    expect(set.spec.volumeClaimTemplates.map((t) => t.metadata.name)).toEqual([mount?.name])
    expect(set.spec.volumeClaimTemplates[0]?.spec.accessModes).toEqual(['ReadWriteOnce'])
    const governing = manifests.find((m) => m.kind === 'Service' && m.metadata.name === set.spec.serviceName) as
      | (Manifest & { spec: { clusterIP: string } })
      | undefined
    expect(governing?.spec.clusterIP).toBe('None')
    // Every shard is scraped once: through the one Service the ServiceMonitor selects, whose selector matches the shard pods.
    const monitor = find('ServiceMonitor') as Manifest & { spec: { selector: { matchLabels: Record<string, string> } } }
    const selects = (labels: Record<string, string> = {}) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => labels[k] === v)
    const scraped = manifests.filter((m) => m.kind === 'Service' && selects((m.metadata as { labels?: Record<string, string> }).labels))
    expect(scraped.map((m) => m.metadata.name)).toEqual(['smokeprobe'])
    const podLabels = (set.spec.template as unknown as { metadata: { labels: Record<string, string> } }).metadata.labels
    const selector = (scraped[0]!.spec as { selector: Record<string, string> }).selector
    for (const [k, v] of Object.entries(selector)) expect(podLabels[k]).toBe(v)
  })

  it.skipIf(!existsSync('/usr/bin/kubectl'))(
    'renders sharded with `kubectl kustomize` once statefulset.yaml replaces the Deployment',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'smokeprobe-k8s-'))
      try {
        cpSync(DIR, dir, { recursive: true })
        const file = join(dir, 'kustomization.yaml')
        const kustomization = parse(readFileSync(file, 'utf8')) as { resources: string[] }
        kustomization.resources = [
          ...kustomization.resources.filter((r) => r !== 'pvc.yaml' && r !== 'deployment.yaml'),
          'statefulset.yaml',
        ]
        writeFileSync(file, JSON.stringify(kustomization))
        const { stdout } = await exec('kubectl', ['kustomize', dir], { timeout: 30_000 })
        const kinds = parseAllDocuments(stdout).map((doc) => (doc.toJS() as Manifest).kind)
        expect(kinds).toContain('StatefulSet')
        expect(kinds).not.toContain('Deployment')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )

  it.skipIf(!existsSync('/usr/bin/kubectl'))('renders with `kubectl kustomize`', async () => {
    const { stdout } = await exec('kubectl', ['kustomize', DIR], { timeout: 30_000 })
    const kinds = parseAllDocuments(stdout).map((doc) => (doc.toJS() as Manifest).kind)
    expect(kinds).toContain('Deployment')
    // The default runs one replica: the StatefulSet is the alternative, never both.
    expect(kinds).not.toContain('StatefulSet')
    expect(kinds).not.toContain('Secret')
  })
})
