/**
 * `npm run build` (also run by `npm ci`, as `prepare`): bundles the CLI and
 * its dependencies into dist/, which bin/probe.js starts instead of the
 * TypeScript sources. One file per part the CLI loads on demand (the daemon,
 * `run --once`, nodemailer…) instead of ~280 separate modules: `probe
 * validate` starts in about half the time and the daemon holds tens of MB
 * less (BENCHMARKS.md, "Footprint").
 *
 * dist/build.json names the entry and records the size and mtime of every
 * project file the bundle was built from, taken before building: the bin
 * starts the bundle only while they are unchanged (bin/startup.js
 * `entryModule`), so an edited checkout runs its sources, never a stale
 * bundle. Files are written beside the previous build and the manifest is
 * replaced last, atomically: a process still running the previous build can
 * load its remaining parts; files of builds older than an hour are pruned.
 * Plain JS, so `npm ci` can run it with whatever Node is on the PATH (types:
 * build.d.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** What the bundle is built from, besides the dependencies the lock file pins. */
const SOURCES = ['src', 'bin', 'package.json', 'package-lock.json']
const PRUNE_AFTER_MS = 60 * 60 * 1000
const KEPT = new Set(['build.json', 'meta.json', 'THIRD-PARTY-LICENSES.txt'])

/** Project-relative path → [size, mtimeMs] of every file the bundle is built from. */
function sourceStamps(root) {
  const stamps = {}
  const visit = (relative) => {
    const full = path.join(root, relative)
    const info = statSync(full)
    if (info.isDirectory()) for (const name of readdirSync(full).sort()) visit(path.join(relative, name))
    else stamps[relative.split(path.sep).join('/')] = [info.size, info.mtimeMs]
  }
  for (const source of SOURCES) if (existsSync(path.join(root, source))) visit(source)
  return stamps
}

/**
 * Bundles into `<root>/dist`; returns the manifest written (`{ main, inputs }`), or null when
 * esbuild is not installed (a production install).
 */
export async function buildBundle(root = ROOT) {
  let esbuild
  try {
    esbuild = await import('esbuild')
  } catch {
    return null
  }
  const inputs = sourceStamps(root)
  const outdir = path.join(root, 'dist')
  // Built beside dist/ (at the same depth, so the maps' relative source paths hold), then moved in.
  const staging = path.join(root, `.dist-staging-${process.pid}`)
  await mkdir(outdir, { recursive: true })
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: 'src/cli/main.ts' },
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    // Identifiers are kept so a stack trace in a bug report still names the function.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    // Licences are collected whole into THIRD-PARTY-LICENSES.txt instead (most carry no legal comment).
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // Dependencies written as CommonJS call require() for Node's built-ins; an ES module has none of its own.
    banner: { js: "import{createRequire as __smokeprobeRequire}from'node:module';const require=__smokeprobeRequire(import.meta.url);" },
  })
  const main = Object.entries(result.metafile.outputs).find(([, output]) => output.entryPoint === 'src/cli/main.ts')?.[0]
  if (!main) throw new Error('esbuild wrote no entry for src/cli/main.ts')
  const manifest = { main: path.basename(main), inputs }
  const written = new Set(Object.keys(result.metafile.outputs).map((file) => path.basename(file)))
  // Names carry a hash of their content: a file already in dist/ is this very file, and is left
  // alone rather than rewritten under a process that may be loading it.
  for (const name of written) {
    if (existsSync(path.join(outdir, name))) continue
    await rename(path.join(staging, name), path.join(outdir, name))
  }
  await rm(staging, { recursive: true, force: true })
  // Which dependency went into which file: test/cli/startup.test.ts reads it to check what each command loads.
  const meta = JSON.stringify(result.metafile).replaceAll(`${path.basename(staging)}/`, 'dist/')
  await writeAtomic(path.join(outdir, 'meta.json'), meta)
  await writeAtomic(path.join(outdir, 'THIRD-PARTY-LICENSES.txt'), licences(root, Object.keys(result.metafile.inputs)))
  // Last: from here on the bin starts this build.
  await writeAtomic(path.join(outdir, 'build.json'), `${JSON.stringify(manifest)}\n`)
  await prune(outdir, written)
  return manifest
}

async function writeAtomic(file, text) {
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, text)
  await rename(temporary, file)
}

/** Every bundled package's name, version, licence and licence file, as its package ships them. */
function licences(root, inputs) {
  const packages = new Set()
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (match) packages.add(match[1])
  }
  const sections = [...packages].sort().map((dir) => {
    const full = path.join(root, dir)
    const manifest = JSON.parse(readFileSync(path.join(full, 'package.json'), 'utf8'))
    const file = readdirSync(full).find((name) => /^(licen[cs]e|copying)/i.test(name))
    const text = file
      ? readFileSync(path.join(full, file), 'utf8').trim()
      : `(no licence file; package.json says ${manifest.license ?? 'nothing'})`
    return `${manifest.name}@${manifest.version} (${manifest.license ?? 'unknown'})\n\n${text}\n`
  })
  return `Third-party software bundled in smokeprobe's dist/ (scripts/build.js)\n\n${sections.join(`\n${'-'.repeat(72)}\n\n`)}`
}

async function prune(outdir, keep) {
  const now = Date.now()
  for (const name of readdirSync(outdir)) {
    if (keep.has(name) || KEPT.has(name) || name.endsWith('.tmp')) continue
    const full = path.join(outdir, name)
    const info = await stat(full).catch(() => null)
    if (info && now - info.mtimeMs > PRUNE_AFTER_MS) await rm(full, { force: true })
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const manifest = await buildBundle()
  if (manifest) console.log(`build: dist/${manifest.main} from ${Object.keys(manifest.inputs).length} files`)
  else console.log('build: esbuild is not installed (a production install); bin/probe.js runs the sources')
}
