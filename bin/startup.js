// What bin/probe.js settles before the first TypeScript module loads. Plain
// JS on purpose: importing a .ts file here would start Node's type stripper
// (a WebAssembly module, ~25 MB resident) before the compile cache could
// spare it. Pure functions, tested as tables in test/cli/startup.test.ts.

import { lstatSync, mkdirSync } from 'node:fs'
import path from 'node:path'

/**
 * V8 heap settings for the long-running daemon, measured in BENCHMARKS.md
 * ("Footprint"). Without them V8 grows the young generation to two 16 MB
 * semi-spaces under the daemon's steady allocation (each run's connection,
 * parser, request and response objects), and both stay resident.
 * `--semi-space-growth-factor=1` keeps it at its initial 1 MB semi-space
 * while the probes load; once loaded, the daemon lets it grow to 2 MB and
 * no further (src/daemon/heap.ts). Runs alive across two scavenges are
 * promoted, so the old generation fills with their dead objects, and V8
 * would let it grow to about three times what survived the last full
 * collection before the next one (at 1,000 probes ≈ 190 MB of heap for
 * ≈ 60 MB live). `--heap-growing-percent=20` starts the next one at 20% (at
 * least 8 MB) above that live size. At 1,000 probes, median of 7 to 10
 * interleaved runs: peak RSS 322 → 224 MiB, steady 293 → 194, CPU per run
 * 0.97× (with a 1 MB young generation throughout, 1.03× but up to 1.3×:
 * twice the scavenges, each promoting more). At 10 probes neither changes
 * anything measurable: the old generation holds little garbage there.
 * Both flags are read whenever V8 sizes a space, so setting them at run
 * time, before any module loads, applies them without restarting the
 * process (`--max-semi-space-size` is read only when the heap is set up).
 * Measured and left out: `--optimize-for-size` (RSS to ~180 MiB at 1,000
 * probes, but CPU per run 2.3× and runs failing for lack of CPU), an
 * old-space cap (`--max-old-space-size=100`: 3× the CPU per run), 30% or
 * 40% instead of 20% (RSS up, CPU no lower within the noise), and a 4 MB
 * young generation (CPU per run 1.1×).
 */
export const DAEMON_V8_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=20']

/**
 * Flags that say the operator shaped the heap's collections: then the bin
 * adds none of its own. A cap alone (`--max-old-space-size`,
 * `--max-heap-size`) is not among them: it bounds the heap, the bin's
 * settings keep it small below that bound, and the two go together (as in
 * deploy/kubernetes/, whose cap leaves room for a full run history).
 */
const OPERATOR_HEAP_FLAGS = [
  '--max-semi-space-size',
  '--min-semi-space-size',
  '--semi-space-growth-factor',
  '--optimize-for-size',
  '--no-optimize-for-size',
  '--heap-growing-percent',
]

/** Whether `argv` (after `probe`) starts the daemon: `run` without `--once`. */
export function startsDaemon(argv) {
  return argv[0] === 'run' && !argv.some((arg) => arg === '--once' || arg.startsWith('--once='))
}

/**
 * The V8 flags the bin applies: the daemon's heap settings, unless the
 * operator's own Node flags (`node --max-semi-space-size=… bin/probe.js`,
 * or NODE_OPTIONS) already shape the heap's collections. One-shot commands get none: a
 * smaller young generation would only add collections to a process that
 * exits in a second.
 */
export function heapFlags(argv, execArgv, nodeOptions) {
  if (!startsDaemon(argv)) return []
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((flag) => flag.replaceAll('_', '-'))
  const chosen = given.some((flag) => OPERATOR_HEAP_FLAGS.some((name) => flag === name || flag.startsWith(`${name}=`)))
  return chosen ? [] : DAEMON_V8_FLAGS
}

/**
 * The directory of Node's module compile cache, or null to go without it.
 * An operator's NODE_COMPILE_CACHE is used as given. Otherwise it is a
 * directory of this user's own under the temp dir: cached entries are code
 * Node runs, so one that another user could write to is refused. A temp dir
 * that cannot be written (a read-only filesystem without a tmpfs) means no
 * cache, never an error: the cache only saves start-up time.
 * V8 rejects code cached under other flags, so the daemon, which applies
 * `v8Flags` (heapFlags), keeps its own directory: sharing one, each start of
 * the daemon or of a command would find the other's entries useless and
 * rewrite them.
 */
export function compileCacheDir(env, tmpdir, uid, v8Flags = []) {
  if (env.NODE_DISABLE_COMPILE_CACHE === '1') return null
  if (env.NODE_COMPILE_CACHE) return env.NODE_COMPILE_CACHE
  const flagged = v8Flags.map((flag) => `-${flag.replace(/^-+/, '').replace(/[^A-Za-z0-9]+/g, '-')}`).join('')
  const dir = path.join(tmpdir, `smokeprobe-compile-cache-${uid}${flagged}`)
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const stat = lstatSync(dir)
    const own = stat.isDirectory() && (uid < 0 || stat.uid === uid) && (stat.mode & 0o022) === 0
    return own ? dir : null
  } catch {
    return null
  }
}

/**
 * The module the bin starts: the bundle `npm run build` wrote to dist/
 * (scripts/build.js; a fraction of the start-up time and memory of loading
 * the sources and their ~280 dependency modules one by one), or the
 * TypeScript sources. In a checkout (src/ present) the bundle is used only
 * while every file recorded in dist/build.json still has the size and mtime
 * it had when the build started: an edited, pulled or checked-out tree runs
 * its sources, never a stale bundle. Where src/ is absent (the image, an
 * installed package) the bundle is all there is. `fs` is node:fs, or a
 * table test's stand-in (existsSync, readFileSync, statSync).
 */
export function entryModule(root, fs) {
  const sources = path.join(root, 'src', 'cli', 'main.ts')
  let manifest
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(root, 'dist', 'build.json'), 'utf8'))
  } catch {
    return sources
  }
  const bundle = path.join(root, 'dist', manifest.main)
  if (!fs.existsSync(sources)) return bundle
  for (const [file, [size, mtimeMs]] of Object.entries(manifest.inputs)) {
    const info = fs.statSync(path.join(root, file), { throwIfNoEntry: false })
    if (!info || info.size !== size || info.mtimeMs !== mtimeMs) return sources
  }
  return bundle
}
