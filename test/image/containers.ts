/**
 * Containers of the image suite, run the way deploy/kubernetes/deployment.yaml
 * runs the pod: read-only root filesystem, a tmpfs /tmp (the emptyDir), a
 * state volume, uid/gid 1000 (runAsUser/runAsGroup), every capability dropped,
 * no privilege escalation. Names are unique per run; every container and
 * volume made here is removed by `removeAll`, also after a failure.
 */
import { randomBytes } from 'node:crypto'
import { type Engine, engineRun, type Result } from '../../scripts/image-engine.ts'
import { type Running, startProcess } from '../e2e/processes.ts'

export const STATE_DIR = '/var/lib/smokeprobe'
const RUN_ID = `${process.pid}-${randomBytes(3).toString('hex')}`

export class Containers {
  readonly #engine: Engine
  readonly #image: string
  readonly #names = new Set<string>()
  readonly #volumes = new Set<string>()

  constructor(engine: Engine, image: string) {
    this.#engine = engine
    this.#image = image
  }

  /** A name no other run uses: smokeprobe-test-<pid>-<random>-<role>. */
  name(role: string): string {
    const name = `smokeprobe-test-${RUN_ID}-${role}`
    this.#names.add(name)
    return name
  }

  /** A named volume, as a PersistentVolumeClaim: the image's /var/lib/smokeprobe (node:node) seeds it. */
  async volume(role: string): Promise<string> {
    const name = `smokeprobe-test-${RUN_ID}-${role}`
    const created = await engineRun(this.#engine, ['volume', 'create', name], { timeoutMs: 30_000 })
    if (created.code !== 0) throw new Error(`volume create ${name}: ${created.stderr.trim()}`)
    this.#volumes.add(name)
    return name
  }

  /** The flags that make a container look like the Kubernetes pod. */
  kubernetesFlags(options: { volume?: string; env?: readonly string[]; mounts?: readonly string[] } = {}): string[] {
    return [
      ...this.#engine.runFlags,
      '--read-only',
      // Podman adds tmpfs on /tmp, /var/tmp and /run to a read-only container; Kubernetes does not.
      ...(this.#engine.name === 'podman' ? ['--read-only-tmpfs=false'] : []),
      ...['--tmpfs', '/tmp'],
      ...['--user', '1000:1000'],
      '--cap-drop=ALL',
      ...['--security-opt', 'no-new-privileges'],
      // Without a state volume, a tmpfs takes the image's VOLUME, so no anonymous volume is left behind.
      ...(options.volume ? ['--volume', `${options.volume}:${STATE_DIR}`] : ['--tmpfs', STATE_DIR]),
      ...(options.mounts ?? []).flatMap((mount) => ['--volume', mount]),
      ...(options.env ?? []).flatMap((name) => ['--env', name]),
    ]
  }

  /**
   * Runs the image to completion (`--rm`); `entrypoint` replaces `probe`, e.g. with `sh`. No network
   * unless `network: 'host'` (the host's 127.0.0.1, for a loopback target).
   */
  run(
    args: readonly string[],
    options: {
      entrypoint?: string
      volume?: string
      env?: Record<string, string>
      readOnly?: boolean
      timeoutMs?: number
      mounts?: readonly string[]
      network?: 'none' | 'host'
    } = {},
  ): Promise<Result> {
    const env = options.env ?? {}
    const flags =
      options.readOnly === false
        ? [...this.#engine.runFlags, '--user', '1000:1000', '--tmpfs', STATE_DIR, ...Object.keys(env).flatMap((n) => ['--env', n])]
        : this.kubernetesFlags({ volume: options.volume, env: Object.keys(env), mounts: options.mounts })
    // `--env NAME` takes the value from the engine client's environment, so no value is on a command line.
    return engineRun(
      this.#engine,
      [
        'run',
        '--rm',
        '--name',
        this.name(`run-${this.#names.size}`),
        `--network=${options.network ?? 'none'}`,
        ...flags,
        ...(options.entrypoint ? ['--entrypoint', options.entrypoint] : []),
        this.#image,
        ...args,
      ],
      { timeoutMs: options.timeoutMs ?? 60_000, env },
    )
  }

  /** `sh -c script` in a Kubernetes-like container. */
  sh(script: string, options: { volume?: string; readOnly?: boolean } = {}): Promise<Result> {
    return this.run(['-c', script], { entrypoint: 'sh', ...options })
  }

  /** The daemon in the foreground, its output kept; the engine client exits with the container's code. */
  daemon(
    role: string,
    args: readonly string[],
    options: { volume: string; mounts: readonly string[]; env: Record<string, string> },
  ): { process: Running; name: string } {
    const name = this.name(role)
    const running = startProcess(
      name,
      this.#engine.name,
      [
        ...this.#engine.global,
        'run',
        '--rm',
        '--name',
        name,
        // Loopback only: the demo API, Alertmanager and the daemon's port are the host's 127.0.0.1.
        '--network=host',
        ...this.kubernetesFlags({ volume: options.volume, mounts: options.mounts, env: Object.keys(options.env) }),
        this.#image,
        ...args,
      ],
      { env: { ...(process.env as Record<string, string>), ...options.env }, cwd: process.cwd() },
    )
    return { process: running, name }
  }

  exec(name: string, command: readonly string[]): Promise<Result> {
    return engineRun(this.#engine, ['exec', name, ...command], { timeoutMs: 30_000 })
  }

  /** What Kubernetes does at the end of a pod: SIGTERM, SIGKILL after the grace period. */
  stop(name: string, graceSeconds: number): Promise<Result> {
    return engineRun(this.#engine, ['stop', '--time', String(graceSeconds), name], { timeoutMs: (graceSeconds + 30) * 1000 })
  }

  async removeAll(): Promise<void> {
    const ignore = this.#engine.name === 'podman' ? ['--ignore'] : []
    if (this.#names.size > 0)
      await engineRun(this.#engine, ['rm', '--force', '--volumes', ...ignore, ...this.#names], { timeoutMs: 60_000 })
    for (const volume of this.#volumes) await engineRun(this.#engine, ['volume', 'rm', '--force', volume], { timeoutMs: 30_000 })
  }
}
