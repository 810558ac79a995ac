#!/usr/bin/env node
// The installed entry point is plain JS so a global/npx install can start it.
// It starts the bundle in dist/ (scripts/build.js) or, in a checkout whose
// sources changed since that build, the TypeScript sources, which Node 24
// runs by stripping types. Everything here runs before the first of them
// loads: static imports of either would be evaluated before these lines.
import * as fs from 'node:fs'
import { enableCompileCache } from 'node:module'
import { tmpdir } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { compileCacheDir, entryModule, heapFlags } from './startup.js'

// DNS lookups (getaddrinfo) run on libuv's thread pool, which the state file's
// fs calls share; with the default 4 threads, four hung lookups time out every
// other probe, even one to 'localhost'. libuv reads the size once, when the
// pool first starts, so it is set before anything can start it. A size the
// operator chose is kept.
process.env.UV_THREADPOOL_SIZE ??= '64'

// The daemon's heap settings, unless the operator sized the heap (startup.js).
const v8Flags = heapFlags(process.argv.slice(2), process.execArgv, process.env.NODE_OPTIONS)
// node:v8 only when there is a flag to set: loading it costs every command a few ms.
if (v8Flags.length > 0) {
  const { setFlagsFromString } = await import('node:v8')
  for (const flag of v8Flags) setFlagsFromString(flag)
}

// Compiled modules are kept on disk, one directory per set of V8 flags
// (startup.js): a command starts in less time, and the daemon started from
// the sources never loads the type stripper (BENCHMARKS.md, "Footprint").
const cacheDir = compileCacheDir(process.env, tmpdir(), process.getuid?.() ?? -1, v8Flags)
if (cacheDir) enableCompileCache(cacheDir)

await import(pathToFileURL(entryModule(fileURLToPath(new URL('..', import.meta.url)), fs)).href)
