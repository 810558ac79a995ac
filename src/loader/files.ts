import { type Dirent, readFileSync, type Stats, statSync } from 'node:fs'
import { lstat, readdir, readlink, stat } from 'node:fs/promises'
import path from 'node:path'
import type { Diagnostic } from '../config/diagnostics.ts'
import { readPlainYaml } from './plain-yaml.ts'

const YAML_FILE = /\.ya?ml$/i

/**
 * The largest probe or alerting file read. A real one is a few KiB; a bigger
 * one is a mistake (a log pasted in, a generated blob), and everything in it
 * is kept in memory and served by /api/probes.
 */
export const MAX_FILE_BYTES = 1024 * 1024

/** A file to load: `display` is how messages name it (as given, or folder + name), `absolute` where it is read. */
export interface ConfigFile {
  readonly display: string
  readonly absolute: string
}

/** Why a file-system call failed, in words: `permission denied`, `a symbolic link loop`. */
export function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code
  switch (code) {
    case 'ENOENT':
      return 'no such file or folder'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ELOOP':
      return 'a symbolic link loop'
    case 'ENOTDIR':
      return 'a part of the path is not a folder'
    case 'EISDIR':
      return 'a folder, not a file'
    default:
      return code ?? (error instanceof Error ? error.message : String(error))
  }
}

/**
 * The probe files named by `--probes`: a file is taken as given; a folder
 * contributes its `.yaml`/`.yml` files, sorted, not those of its subfolders
 * (so a folder can hold drafts or fixtures below it) and not hidden ones
 * (a Kubernetes ConfigMap mount keeps its bookkeeping in `..data`).
 * Symlinks are followed, as ConfigMap mounts need.
 *
 * A probe file that is there but cannot be read (a dangling symlink, a link
 * loop, no permission) is a diagnostic, never skipped: skipping it would
 * retire its probe on reload, and retiring resolves an open incident while
 * the target is still down (README "Reload"). No file-system error escapes
 * as an exception; each one becomes a diagnostic naming the path.
 */
export async function findProbeFiles(paths: readonly string[], cwd: string): Promise<{ files: ConfigFile[]; diagnostics: Diagnostic[] }> {
  const files: ConfigFile[] = []
  const diagnostics: Diagnostic[] = []
  const seen = new Set<string>()
  const add = (file: ConfigFile) => {
    if (seen.has(file.absolute)) return
    seen.add(file.absolute)
    files.push(file)
  }
  for (const given of paths) {
    const absolute = path.resolve(cwd, given)
    const info = await stat(absolute).catch((error: unknown) => error as NodeJS.ErrnoException)
    if (info instanceof Error) {
      diagnostics.push({ file: given, path: '', message: await unreadable(absolute, info) })
    } else if (info.isDirectory()) {
      const found = await yamlFilesIn(given, absolute)
      diagnostics.push(...found.diagnostics)
      if (found.files.length === 0 && found.diagnostics.length === 0) {
        diagnostics.push({ file: given, path: '', message: 'no probe files found (expected .yaml or .yml files)' })
      }
      found.files.forEach(add)
    } else if (info.isFile()) {
      add({ display: path.normalize(given), absolute })
    } else {
      diagnostics.push({ file: given, path: '', message: 'not a regular file or folder' })
    }
  }
  return { files, diagnostics }
}

async function yamlFilesIn(given: string, absolute: string): Promise<{ files: ConfigFile[]; diagnostics: Diagnostic[] }> {
  const files: ConfigFile[] = []
  const diagnostics: Diagnostic[] = []
  let entries: Dirent[]
  try {
    entries = await readdir(absolute, { withFileTypes: true })
  } catch (error) {
    diagnostics.push({ file: given, path: '', message: `cannot list the folder (${fsReason(error)})` })
    return { files, diagnostics }
  }
  const regular = new Set(entries.filter((entry) => entry.isFile()).map((entry) => entry.name))
  const names = entries
    .map((entry) => entry.name)
    .filter((name) => YAML_FILE.test(name) && !name.startsWith('.'))
    .sort()
  for (const name of names) {
    const file = { display: path.join(given, name), absolute: path.join(absolute, name) }
    // The listing already says which entries are regular files; a symlink (a ConfigMap mount's) is followed.
    if (regular.has(name)) {
      files.push(file)
      continue
    }
    const info = statOrError(file.absolute)
    if (info instanceof Error) diagnostics.push({ file: file.display, path: '', message: await unreadable(file.absolute, info) })
    // A subfolder is not a probe file, whatever its name; anything else (a FIFO, a socket) would hang or fail the read.
    else if (info.isFile()) files.push(file)
    else if (!info.isDirectory()) diagnostics.push({ file: file.display, path: '', message: 'not a regular file' })
  }
  return { files, diagnostics }
}

/**
 * Synchronous, like the read below: a folder of 1,000 files paid ~40 ms
 * more in thread-pool round trips for the same answers.
 */
function statOrError(absolute: string): Stats | NodeJS.ErrnoException {
  try {
    return statSync(absolute)
  } catch (error) {
    return error as NodeJS.ErrnoException
  }
}

/** Why `stat` failed on a path, naming a dangling symlink's target: `a symbolic link to x.yaml, which does not exist`. */
async function unreadable(absolute: string, error: NodeJS.ErrnoException): Promise<string> {
  if (error.code === 'ENOENT') {
    const target = await lstat(absolute)
      .then((link) => (link.isSymbolicLink() ? readlink(absolute) : null))
      .catch(() => null)
    if (target !== null) return `a symbolic link to ${target}, which does not exist`
  }
  return fsReason(error)
}

export type ReadResult =
  | { readonly ok: true; readonly text: string; readonly value: unknown }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] }

/** Reads and parses one YAML file; syntax errors come back with line and column. */
export async function readYamlFile(file: ConfigFile): Promise<ReadResult> {
  const fail = (message: string): ReadResult => ({ ok: false, diagnostics: [{ file: file.display, path: '', message }] })
  let text: string
  try {
    // Synchronous on purpose: a small file costs ~25 µs this way, but ~1 ms through the
    // thread pool's open/stat/read/close round trips, which made 1,000 files take over a second.
    const size = statSync(file.absolute).size
    if (size > MAX_FILE_BYTES) return fail(`the file is ${formatBytes(size)}; a configuration file may be at most 1 MiB`)
    text = readFileSync(file.absolute, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const message = code === 'ENOENT' ? 'no such file' : `cannot read the file (${fsReason(error)})`
    return fail(message)
  }
  const plain = readPlainYaml(text)
  if (plain !== undefined) return { ok: true, text, value: plain }
  // Not plain YAML, or not YAML at all: yaml reads it, and says where and what is wrong. Loaded
  // only then: a configuration of plain files never pays for it (≈ 20 ms of every start-up).
  const { LineCounter, parseDocument } = await import('./yaml-full.ts')
  const lines = new LineCounter()
  const document = parseDocument(text, { prettyErrors: false, lineCounter: lines })
  const problems = [...document.errors, ...document.warnings]
  if (problems.length > 0) {
    return {
      ok: false,
      diagnostics: problems.map((problem) => {
        const { line, col } = lines.linePos(problem.pos[0])
        return { file: file.display, path: '', message: `YAML syntax error at line ${line}, column ${col}: ${yamlMessage(problem)}` }
      }),
    }
  }
  try {
    const value: unknown = document.toJS({ maxAliasCount: 100 })
    if (value === null || value === undefined) return fail('the file is empty')
    return { ok: true, text, value }
  } catch (error) {
    return fail(`YAML error: ${(error as Error).message}`)
  }
}

function yamlMessage(problem: { code: string; message: string }): string {
  // The library's advice names its own API; a user is helped by the rule instead.
  if (problem.code === 'MULTIPLE_DOCS') return 'a file holds one document; remove the "---" separator'
  return problem.message
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`
}
