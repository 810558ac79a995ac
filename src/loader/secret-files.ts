import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import type { SecretNames } from '../config/secret-use.ts'
import { SECRET_NAME } from '../config/template.ts'

/** A secret file larger than this is refused: a secret is a token or a password, not a document. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024

/** The names read with `{{ secret.NAME }}` (not those that are secrets because of where an env value is used). */
export function readNames(names: SecretNames): string[] {
  return [...names].filter(([, reasons]) => reasons.some((r) => r.startsWith('read with '))).map(([name]) => name)
}

type SecretValue = { readonly value: string } | { readonly problem: string }

/**
 * Reads each `{{ secret.NAME }}`: the environment variable NAME, else the
 * file NAME in the secrets directory (Docker and Kubernetes mount secrets as
 * files), one trailing newline dropped. Every problem names the variable and
 * the file looked for.
 */
export async function readSecrets(
  names: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  dir: string | null,
): Promise<Map<string, SecretValue>> {
  const out = new Map<string, SecretValue>()
  let dirProblem: string | null = null
  const needFiles = names.some((name) => SECRET_NAME.test(name) && env[name] === undefined)
  if (dir !== null && needFiles) {
    try {
      await readdir(dir)
    } catch (error) {
      dirProblem = `the secrets directory ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`
    }
  }
  for (const name of names) {
    // An invalid name is reported where it is written, and never becomes a path (`../x`).
    if (!SECRET_NAME.test(name)) continue
    const fromEnv = env[name]
    if (fromEnv !== undefined) out.set(name, { value: fromEnv })
    else if (dir === null) {
      out.set(name, { problem: `secret ${name} is not set: no environment variable ${name}, and no secrets directory (give --secrets-dir)` })
    } else if (dirProblem !== null) out.set(name, { problem: `secret ${name} is not set in the environment, and ${dirProblem}` })
    else out.set(name, await readSecretFile(name, path.join(dir, name)))
  }
  return out
}

async function readSecretFile(name: string, file: string): Promise<SecretValue> {
  try {
    const info = await stat(file)
    if (!info.isFile()) return { problem: `secret ${name}: ${file} is not a file` }
    if (info.size > MAX_SECRET_FILE_BYTES) {
      return { problem: `secret ${name}: ${file} is ${info.size} bytes; a secret file holds at most 64 KiB` }
    }
    const text = await readFile(file, 'utf8')
    return { value: text.replace(/\r?\n$/, '') }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { problem: `secret ${name} is not set: no environment variable ${name}, and no file ${file}` }
    return { problem: `secret ${name}: ${file} cannot be read (${code ?? (error as Error).message})` }
  }
}
