/**
 * `npm run image`: builds the smokeprobe image with Docker when a Docker
 * engine answers, else Podman, on `node:24-bookworm-slim` or, where that
 * cannot be pulled, a local stand-in (scripts/image-base.ts). Tags it
 * `smokeprobe:<version>` and `smokeprobe:<version>-<revision>`, with the
 * version (package.json) and git revision in the OCI labels.
 *
 * An image whose build context (the files .dockerignore lets in, the
 * Dockerfile, the base's id) hashes the same as the tagged one is reused, not
 * rebuilt: the label io.smokeprobe.context holds the hash. `--force` rebuilds.
 * The image tests (test/image/) call `ensureImage` from here.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { ensureBase } from './image-base.ts'
import { detectEngine, type Engine, engineRun, engineStream, imageLabel } from './image-engine.ts'

export const REPOSITORY = process.env.SMOKEPROBE_IMAGE ?? 'smokeprobe'
const CONTEXT_LABEL = 'io.smokeprobe.context'

export interface Built {
  readonly engine: Engine
  /** The tag that names this exact build (version and revision). */
  readonly ref: string
  readonly tags: readonly string[]
  readonly version: string
  readonly revision: string
  readonly standInBase: boolean
  /** Seconds spent on the base (0 when cached) and on the image (0 when reused). */
  readonly baseSeconds: number
  readonly buildSeconds: number
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

/** The paths .dockerignore lets into the context: it is an allow-list (`*`, then `!path` lines). */
function contextFiles(): string[] {
  const lines = readFileSync('.dockerignore', 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  if (lines[0] !== '*' || lines.slice(1).some((line) => !line.startsWith('!'))) {
    throw new Error('.dockerignore: expected an allow-list (`*`, then `!path` lines) to hash the build context')
  }
  const files: string[] = []
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) for (const entry of readdirSync(p).sort()) walk(path.join(p, entry))
    else files.push(p)
  }
  for (const line of lines.slice(1)) walk(line.slice(1).replace(/\/$/, ''))
  return files.sort()
}

function contextHash(baseId: string, buildArgs: readonly string[]): string {
  const hash = createHash('sha256')
    .update(`${baseId}\0${buildArgs.join('\0')}\0`)
    .update(readFileSync('Dockerfile'))
  for (const file of contextFiles()) hash.update(`\0${file}\0${statSync(file).mode & 0o111 ? 'x' : '-'}\0`).update(readFileSync(file))
  return hash.digest('hex').slice(0, 16)
}

/** Builds the image, or reuses the tagged one when its context hash matches. */
export async function ensureImage(options: { engine?: Engine; force?: boolean; log?: (chunk: string) => void } = {}): Promise<Built> {
  const log = options.log ?? ((chunk: string) => process.stderr.write(chunk.endsWith('\n') ? chunk : `${chunk}\n`))
  const detected = options.engine ? { engine: options.engine } : detectEngine()
  if (!detected.engine) throw new Error(detected.reason)
  const engine = detected.engine
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version
  const head = git(['rev-parse', 'HEAD']) ?? 'unknown'
  const status = head === 'unknown' ? null : git(['status', '--porcelain', '--untracked-files=no'])
  const dirty = status !== null && status !== ''
  const revision = dirty ? `${head}-dirty` : head
  const created = git(['log', '-1', '--format=%cI']) ?? ''
  const ref = `${REPOSITORY}:${version}-${revision.slice(0, 12)}${dirty ? '-dirty' : ''}`
  const tags = [ref, `${REPOSITORY}:${version}`]

  const base = await ensureBase(engine, log)
  const buildArgs = [`NODE_IMAGE=${base.ref}`, `VERSION=${version}`, `REVISION=${revision}`, `CREATED=${created}`]
  const hash = contextHash(base.id, buildArgs)
  const done = (buildSeconds: number): Built => ({
    engine,
    ref,
    tags,
    version,
    revision,
    standInBase: base.standIn,
    baseSeconds: base.builtSeconds,
    buildSeconds,
  })
  if (!options.force && (await imageLabel(engine, ref, CONTEXT_LABEL)) === hash) {
    log(`image: ${ref} is up to date (context ${hash}); \`npm run image -- --force\` rebuilds it`)
    return done(0)
  }

  log(`image: building ${tags.join(', ')} with ${engine.name} on ${base.ref}${base.standIn ? ' (stand-in base)' : ''}`)
  const started = performance.now()
  const code = await engineStream(
    engine,
    [
      'build',
      ...engine.buildFlags,
      ...buildArgs.flatMap((arg) => ['--build-arg', arg]),
      '--label',
      `${CONTEXT_LABEL}=${hash}`,
      '--label',
      `io.smokeprobe.base=${base.standIn ? `stand-in ${base.ref}` : base.ref}`,
      ...tags.flatMap((tag) => ['-t', tag]),
      '.',
    ],
    { timeoutMs: 900_000, log },
  )
  if (code !== 0) throw new Error(`${engine.name} build failed (exit ${code})`)
  return done((performance.now() - started) / 1000)
}

/** Bytes the engine reports for an image. */
export async function imageSize(engine: Engine, ref: string): Promise<number> {
  const result = await engineRun(engine, ['image', 'inspect', '--format', '{{.Size}}', ref], { timeoutMs: 30_000 })
  return Number(result.stdout.trim())
}

if (import.meta.main) {
  try {
    const built = await ensureImage({ force: process.argv.includes('--force') })
    const size = await imageSize(built.engine, built.ref)
    console.log(
      [
        `built ${built.tags.join(', ')} with ${built.engine.name}${built.standInBase ? ' on the local stand-in base (never push it)' : ''}`,
        `  base ${built.baseSeconds.toFixed(0)} s, image ${built.buildSeconds.toFixed(0)} s, ${(size / 1e6).toFixed(0)} MB`,
        `  run: ${built.engine.name} run --rm -p 9464:9464 -v smokeprobe-state:/var/lib/smokeprobe --env-file smokeprobe.env ${built.ref}`,
      ].join('\n'),
    )
  } catch (error) {
    console.error(`npm run image: ${(error as Error).message}`)
    process.exitCode = 1
  }
}
