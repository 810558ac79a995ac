import { createHash } from 'node:crypto'
import path from 'node:path'
import type * as z from 'zod'
import { type AlertPolicy, resolvePolicy } from '../config/alert-policy.ts'
import type { AlertingConfig } from './alerting-schema.ts'
import { canariesOnTargets } from './canary-targets.ts'
import { type Diagnostic, issueDiagnostics, PARSE_OPTIONS } from '../config/diagnostics.ts'
import { type ConfigFile, findProbeFiles, readYamlFile } from './files.ts'
import { maintenanceCheck, probeFacts } from './maintenance-check.ts'
import { compiledProbeFileSchema, type Probe, probeFileSchema } from '../config/probe-schema.ts'
import { alertingSecretUses, probeSecretUses, type SecretNames } from '../config/secret-use.ts'
import { SecretMask } from '../config/secrets.ts'
import { readNames, readSecrets } from './secret-files.ts'

export type { Diagnostic } from '../config/diagnostics.ts'
export { formatDiagnostic } from '../config/diagnostics.ts'

export interface LoadedConfig {
  /** Each probe with `.file`, its path as given (or folder + file name). */
  readonly probes: readonly Probe[]
  /** null when no alerting file was given. */
  readonly alerting: AlertingConfig | null
  /** The effective alert policy per probe name: alerting.yaml defaults, then the probe's `alert:`. */
  readonly policies: ReadonlyMap<string, AlertPolicy>
  /** sha256 over every loaded file (path and content, in path order): `probe_config_info{sha256}`. */
  readonly sha256: string
  readonly secrets: SecretMask
  /** The names whose values are secrets, and why each is (`used in header authorization of items-crud`). */
  readonly secretNames: ReadonlyMap<string, readonly string[]>
  /** Every file loaded, probe files first, as messages name them. */
  readonly files: readonly string[]
}

export interface LoadOptions {
  /** Probe files or folders (a folder's own .yaml/.yml files, not its subfolders'). */
  readonly probePaths: readonly string[]
  readonly alertingPath: string | null
  readonly env: Readonly<Record<string, string | undefined>>
  /** A missing alerting file is an error (e.g. `alert test`). @defaultValue false */
  readonly alertingRequired?: boolean
  /**
   * Skip checking probes' `alert.channels` against the alerting file:
   * `run --once` sends no notifications and needs no alerting file. @defaultValue false
   */
  readonly ignoreChannels?: boolean
  /** Where `{{ secret.NAME }}` reads the file NAME when the environment has no NAME. @defaultValue null (nowhere) */
  readonly secretsDir?: string | null
  /** Relative paths are read from here; messages keep them as given. @defaultValue process.cwd() */
  readonly cwd?: string
}

export type LoadResult = { readonly ok: true; readonly config: LoadedConfig } | { readonly ok: false; readonly diagnostics: Diagnostic[] }

interface Loaded<T> {
  readonly file: ConfigFile
  readonly text: string
  /** The YAML as data, for checks across files that must run even when the schema rejected the file. */
  readonly raw: unknown
  readonly value: T | null
}

/**
 * Loads and checks every probe file and the alerting file. All problems are
 * collected, across all files, before anything is refused: a user fixes a
 * bad folder in one pass.
 */
export async function loadConfig(options: LoadOptions): Promise<LoadResult> {
  const cwd = options.cwd ?? process.cwd()
  const secrets = new SecretMask()
  const secretNames: SecretNames = new Map()
  const secretValues = new Map<string, { value: string } | { problem: string }>()
  const readSecret = (name: string) => secretValues.get(name) ?? { problem: `secret ${name} was not read (a bug)` }
  const context = { env: options.env, secrets, secretNames, readSecret }
  const diagnostics: Diagnostic[] = []

  const found = await findProbeFiles(options.probePaths, cwd)
  diagnostics.push(...found.diagnostics)

  // Every file is read before any is compiled: what is a secret depends on how a name is used anywhere.
  let alertingRead: Read | null = null
  if (options.alertingPath !== null) {
    const file = { display: path.normalize(options.alertingPath), absolute: path.resolve(cwd, options.alertingPath) }
    alertingRead = await readFile(file, diagnostics)
    if (alertingRead) alertingSecretUses(alertingRead.raw, file.display, secretNames)
  } else if (options.alertingRequired) {
    diagnostics.push({ file: '', path: '', message: 'no alerting file: give --alerting <file> (default ./alerting/alerting.yaml)' })
  }
  const probeReads: Read[] = []
  for (const file of found.files) {
    const read = await readFile(file, diagnostics)
    if (read) {
      probeReads.push(read)
      probeSecretUses(read.raw, file.display, options.env, secretNames)
    }
  }

  const secretsDir = options.secretsDir ? path.resolve(cwd, options.secretsDir) : null
  for (const [name, value] of await readSecrets(readNames(secretNames), options.env, secretsDir)) secretValues.set(name, value)

  let alerting: Loaded<AlertingConfig> | null = null
  // Loaded only for an alerting file: its channel schemas import every channel's
  // client (nodemailer, ~100 ms and ~13 MiB), which run --once never uses.
  const alertingSchema = alertingRead ? await import('./alerting-schema.ts') : null
  if (alertingRead && alertingSchema) {
    alerting = parseFile(alertingRead, alertingSchema.alertingFileSchema(context), diagnostics)
    if (alerting.value === null) diagnostics.push(...alertingDefaultsCheck(alertingRead.file.display, alerting.raw))
  }
  const probeSchema = probeFileSchema(context)
  const compiledSchema = probeReads.length >= COMPILED_SCHEMA_FROM ? compiledProbeFileSchema(context) : null
  const probes = probeReads.map((read) => parseFile(read, probeSchema, diagnostics, compiledSchema))
  diagnostics.push(...duplicateNames(probes))
  // An alerting file that could not be read has already been reported; its channels are unknown, not absent.
  const alertingUnreadable = options.alertingPath !== null && alerting === null
  if (!options.ignoreChannels && !alertingUnreadable) {
    const defined =
      alerting && alertingSchema
        ? { names: channelNames(alerting), file: alerting.file.display, message: alertingSchema.unknownChannelMessage }
        : null
    diagnostics.push(...unknownChannels(probes, defined))
  }
  if (alerting?.value) {
    const parsed = probes.flatMap((p) => (p.value ? [{ ...p.value, file: p.file.display }] : []))
    for (const { index, message } of canariesOnTargets(alerting.value, parsed))
      diagnostics.push({ file: alerting.file.display, path: `canaries[${index}].url`, message })
  }
  if (alerting) diagnostics.push(...maintenanceCheck(alerting.file.display, alerting.raw, probeFacts(probes.map((p) => p.raw))))

  if (diagnostics.length > 0) {
    const fileOrder = [...found.files.map((f) => f.display), ...(alerting ? [alerting.file.display] : [])]
    return { ok: false, diagnostics: orderAndMask(diagnostics, fileOrder, secrets) }
  }
  return { ok: true, config: assemble(probes, alerting, cwd, secrets, secretNames) }
}

/**
 * Compiling the probe schema costs ~25 ms and saves ~0.09 ms per file it
 * accepts: it pays from a few hundred files, and would slow a small load.
 */
export const COMPILED_SCHEMA_FROM = 200

type Read = Omit<Loaded<never>, 'value'>

/** Reads one file as YAML; null when it could not be. Problems go to `diagnostics`. */
async function readFile(file: ConfigFile, diagnostics: Diagnostic[]): Promise<Read | null> {
  const read = await readYamlFile(file)
  if (!read.ok) {
    diagnostics.push(...read.diagnostics)
    return null
  }
  return { file, text: read.text, raw: read.value }
}

/**
 * Parses a file read as YAML through its schema. Problems go to `diagnostics`.
 * `compiled`, when given, is tried first: a file it accepts is done; any
 * other is parsed by `schema`, which the diagnostics are made from.
 */
function parseFile<S extends z.ZodType>(
  read: Read,
  schema: S,
  diagnostics: Diagnostic[],
  compiled: { safeParse(value: unknown): z.ZodSafeParseResult<z.output<S>> } | null = null,
): Loaded<z.output<S>> {
  const quick = fastParse(compiled, read.raw)
  if (quick?.success) return { ...read, value: quick.data }
  const parsed = schema.safeParse(read.raw, PARSE_OPTIONS)
  if (!parsed.success) diagnostics.push(...issueDiagnostics(read.file.display, parsed.error.issues, schema))
  return { ...read, value: parsed.success ? parsed.data : null }
}

/**
 * The compiled schema on a file it rejects can run a refinement on a value
 * whose fields were left unchecked (the runtime parser skips it) and throw:
 * that is a rejection too, for the runtime parser to explain.
 */
function fastParse<T>(
  compiled: { safeParse(value: unknown): z.ZodSafeParseResult<T> } | null,
  raw: unknown,
): z.ZodSafeParseResult<T> | null {
  try {
    return compiled?.safeParse(raw) ?? null
  } catch {
    return null
  }
}

function field(raw: unknown, ...keys: string[]): unknown {
  let value = raw
  for (const key of keys) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined
  return value
}

function channelNames(alerting: Loaded<AlertingConfig>): string[] {
  if (alerting.value) return Object.keys(alerting.value.channels)
  const channels = field(alerting.raw, 'channels')
  return channels !== null && typeof channels === 'object' && !Array.isArray(channels) ? Object.keys(channels) : []
}

function stringsAt(raw: unknown, ...keys: string[]): [number, string][] {
  const list = field(raw, ...keys)
  if (!Array.isArray(list)) return []
  return list.flatMap((item, index): [number, string][] => (typeof item === 'string' ? [[index, item]] : []))
}

/**
 * The schema checks `defaults.channels` only once the rest of the file is
 * valid (zod skips refinements of an object with issues); checked here from
 * the raw YAML so that this problem is reported in the same pass.
 */
function alertingDefaultsCheck(file: string, raw: unknown): Diagnostic[] {
  const channels = field(raw, 'channels')
  const defined = channels !== null && typeof channels === 'object' && !Array.isArray(channels) ? Object.keys(channels) : []
  return stringsAt(raw, 'defaults', 'channels')
    .filter(([, name]) => !defined.includes(name))
    .map(([index, name]) => ({
      file,
      path: `defaults.channels[${index}]`,
      message: `unknown channel "${name}" (defined: ${defined.join(', ') || 'none'})`,
    }))
}

function duplicateNames(probes: readonly Loaded<unknown>[]): Diagnostic[] {
  const firstFile = new Map<string, string>()
  const out: Diagnostic[] = []
  for (const probe of probes) {
    const name = field(probe.raw, 'name')
    if (typeof name !== 'string') continue
    const first = firstFile.get(name)
    if (first === undefined) firstFile.set(name, probe.file.display)
    else out.push({ file: probe.file.display, path: 'name', message: `duplicate probe name "${name}" (also in ${first})` })
  }
  return out
}

/** The alerting file's channels, when one is loaded, and how a name it lacks is reported. */
interface DefinedChannels {
  readonly names: readonly string[]
  readonly file: string
  readonly message: (name: string, defined: readonly string[], file?: string) => string
}

function unknownChannels(probes: readonly Loaded<unknown>[], defined: DefinedChannels | null): Diagnostic[] {
  const out: Diagnostic[] = []
  for (const probe of probes) {
    for (const [index, name] of stringsAt(probe.raw, 'alert', 'channels')) {
      const where = { file: probe.file.display, path: `alert.channels[${index}]` }
      if (defined === null) {
        out.push({ ...where, message: `channel "${name}" needs an alerting file, and none is loaded (give --alerting <file>)` })
      } else if (!defined.names.includes(name)) {
        out.push({ ...where, message: defined.message(name, defined.names, defined.file) })
      }
    }
  }
  return out
}

/**
 * Problems grouped by file: paths that were not found first, then probe
 * files in load order, then the alerting file; duplicates dropped, every
 * secret masked.
 */
function orderAndMask(diagnostics: readonly Diagnostic[], fileOrder: readonly string[], secrets: SecretMask): Diagnostic[] {
  const order = new Map(fileOrder.map((file, index) => [file, index]))
  const seen = new Set<string>()
  return diagnostics
    .map((d) => ({ file: d.file, path: secrets.mask(d.path), message: secrets.mask(d.message) }))
    .filter((d) => {
      const key = `${d.file}\u0000${d.path}\u0000${d.message}`
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    .sort((a, b) => (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1))
}

function assemble(
  loadedProbes: readonly Loaded<Omit<Probe, 'file'>>[],
  alertingFile: Loaded<AlertingConfig> | null,
  cwd: string,
  secrets: SecretMask,
  secretNames: ReadonlyMap<string, readonly string[]>,
): LoadedConfig {
  const alerting = alertingFile?.value ?? null
  const probes = loadedProbes.map((loaded) => ({ ...(loaded.value as Omit<Probe, 'file'>), file: loaded.file.display }) as Probe)
  const policies = new Map(probes.map((probe) => [probe.name, resolvePolicy(alerting?.defaults, probe.alert)]))
  const files = [...loadedProbes, ...(alertingFile ? [alertingFile] : [])]
  return { probes, alerting, policies, sha256: configHash(files, cwd), secrets, secretNames, files: files.map((f) => f.file.display) }
}

/** Independent of how paths were spelled on the command line, so replicas started alike report the same hash. */
function configHash(files: readonly Loaded<unknown>[], cwd: string): string {
  const entries = files
    .map((f) => ({ name: path.relative(cwd, f.file.absolute).split(path.sep).join('/'), text: f.text }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const hash = createHash('sha256')
  for (const { name, text } of entries) hash.update(`${name}\u0000${text}\u0000`)
  return hash.digest('hex')
}
