/**
 * Versioned shapes of the files in the state directory. Each file names its
 * current version, one zod schema for that version, and a migration per
 * older version (v1→v2, v2→v3, …), so a daemon upgraded in place reads what
 * the previous one wrote instead of setting it aside (README "Alerting").
 * A version newer than the reader knows (a downgrade) is not guessed at.
 */
import type * as z from 'zod'

/** Turns the body of version `from` into the body of version `from + 1`. */
export type Migration = (body: unknown) => unknown

export interface Versioned<T> {
  /** The version this code writes. */
  readonly version: number
  /**
   * The current version's body. Declare it `satisfies z.ZodType<T>` against
   * the TypeScript type, so a field added to the type but not here is a
   * type error instead of a field that `z.object` drops on the next restart.
   */
  readonly schema: z.ZodType<T>
  /** Keyed by the version migrated from. */
  readonly migrations?: Readonly<Record<number, Migration>>
}

/** The current body, or what is wrong with it in words that finish "<label> <path> …". */
export function decode<T>(spec: Versioned<T>, version: unknown, body: unknown): { ok: true; data: T } | { ok: false; problem: string } {
  let current = body
  const problem = versionProblem(spec, version)
  if (problem) return { ok: false, problem }
  for (let from = version as number; from < spec.version; from++) {
    try {
      current = spec.migrations![from]!(current)
    } catch (err) {
      return { ok: false, problem: `cannot be migrated from version ${from} (${err instanceof Error ? err.message : String(err)})` }
    }
  }
  const parsed = spec.schema.safeParse(current)
  if (parsed.success) return { ok: true, data: parsed.data }
  const issue = parsed.error.issues[0]
  return { ok: false, problem: `does not match the expected shape (${issue?.path.join('.') || '<root>'}: ${issue?.message})` }
}

/** Why a file of this version cannot be read by this code, or null. */
export function versionProblem(spec: Versioned<unknown>, version: unknown): string | null {
  if (typeof version === 'number' && Number.isSafeInteger(version) && version <= spec.version && migratable(spec, version)) return null
  return `has version ${JSON.stringify(version)}, expected ${spec.version}`
}

/** Every step from `version` up to the current one has a migration. */
function migratable(spec: Versioned<unknown>, version: number): boolean {
  for (let from = version; from < spec.version; from++) if (!spec.migrations?.[from]) return false
  return true
}
