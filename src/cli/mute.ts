/**
 * `probe mute`: a deploy pipeline's client of a running daemon's
 * `/api/mutes`. The token is read from an environment variable, never a
 * flag, so it is not in argv for `ps` or a CI log to show.
 */
import { Agent, request } from '../probe/undici.ts'
import { parseDuration } from '../config/duration.ts'
import { type CliIo, EXIT, writeLine } from './io.ts'

export const DEFAULT_TOKEN_ENV = 'SMOKEPROBE_API_TOKEN'
export const DEFAULT_URL = 'http://127.0.0.1:9464'
/** A daemon that does not answer within this is reported, not waited on forever by a pipeline. */
const TIMEOUT_MS = 10_000

export interface MuteFlags {
  readonly probe?: readonly string[]
  readonly for?: string
  readonly reason?: string
  readonly url?: string
  readonly tokenEnv?: string
  readonly list?: boolean
  readonly delete?: string
}

type Action =
  | { kind: 'add'; body: { probes: readonly string[]; duration: string; reason: string } }
  | { kind: 'list' }
  | { kind: 'delete'; id: string }

/** What the flags ask for, or every usage problem. */
export function muteAction(flags: MuteFlags): { ok: true; action: Action } | { ok: false; errors: string[] } {
  const adding = flags.probe !== undefined || flags.for !== undefined || flags.reason !== undefined
  const modes = [adding, flags.list === true, flags.delete !== undefined].filter(Boolean).length
  if (modes > 1) return { ok: false, errors: ['give --probe/--for/--reason, or --list, or --delete <id>: one at a time'] }
  if (flags.list) return { ok: true, action: { kind: 'list' } }
  if (flags.delete !== undefined) return { ok: true, action: { kind: 'delete', id: flags.delete } }
  const errors: string[] = []
  if (!flags.probe?.length) errors.push('--probe <name> is required (repeatable)')
  if (flags.for === undefined) errors.push('--for <duration> is required, e.g. --for 30m')
  else if (!parseDuration(flags.for)) errors.push(`--for: expected a duration such as 30m or 2h, got ${JSON.stringify(flags.for)}`)
  if (!flags.reason?.trim()) errors.push('--reason <text> is required: say why (the daemon logs it)')
  if (errors.length > 0) return { ok: false, errors }
  return { ok: true, action: { kind: 'add', body: { probes: flags.probe ?? [], duration: flags.for ?? '', reason: flags.reason ?? '' } } }
}

export async function muteCommand(flags: MuteFlags, io: CliIo): Promise<number> {
  const parsed = muteAction(flags)
  const tokenEnv = flags.tokenEnv ?? DEFAULT_TOKEN_ENV
  const token = io.env[tokenEnv]?.trim()
  const base = URL.parse(flags.url ?? DEFAULT_URL)
  const errors = parsed.ok ? [] : [...parsed.errors]
  if (!token)
    errors.push(`the API token is read from the environment variable ${tokenEnv}, which is not set (choose another with --token-env NAME)`)
  if (!base || (base.protocol !== 'http:' && base.protocol !== 'https:'))
    errors.push(`--url: expected an http(s) URL, got ${JSON.stringify(flags.url)}`)
  if (!parsed.ok || errors.length > 0 || !base || !token) {
    for (const error of errors) writeLine(io.stderr, `error: ${error}`)
    return EXIT.usage
  }
  const { action } = parsed
  const target =
    action.kind === 'delete'
      ? new URL(`api/mutes/${encodeURIComponent(action.id)}`, withSlash(base))
      : new URL('api/mutes', withSlash(base))
  let status: number
  let text: string
  const dispatcher = new Agent({ connections: 1 })
  try {
    const response = await request(target, {
      dispatcher,
      method: action.kind === 'add' ? 'POST' : action.kind === 'delete' ? 'DELETE' : 'GET',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: action.kind === 'add' ? JSON.stringify(action.body) : undefined,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
    status = response.statusCode
    text = await response.body.text()
  } catch (error) {
    writeLine(io.stderr, `probe mute: cannot reach ${target.origin}: ${(error as Error).message}`)
    return EXIT.failed
  } finally {
    await dispatcher.close()
  }
  const body = parseJson(text)
  if (status < 200 || status > 299) {
    const reason =
      typeof body?.error === 'string'
        ? body.error
        : status === 404
          ? 'no mutes API there (is api.token set in the alerting file?)'
          : text.trim()
    writeLine(io.stderr, `probe mute: refused (${status}): ${reason}`)
    return EXIT.failed
  }
  for (const line of resultLines(action, body)) writeLine(io.stdout, line)
  return EXIT.ok
}

interface MuteView {
  readonly id: string
  readonly probes: readonly string[]
  readonly reason: string
  readonly until: string
}

/** The lines to print for a successful answer. */
function resultLines(action: Action, body: Record<string, unknown> | null): string[] {
  if (action.kind === 'delete') return [`deleted mute ${action.id}`]
  if (action.kind === 'add') {
    const mute = body?.mute as MuteView | undefined
    return [`muted ${mute?.probes.join(', ')} until ${mute?.until} (id ${mute?.id}): ${mute?.reason}`]
  }
  const mutes = (body?.mutes ?? []) as MuteView[]
  if (mutes.length === 0) return ['no live mutes']
  return mutes.map((m) => `${m.id}  ${m.probes.join(', ')}  until ${m.until}  ${m.reason}`)
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** `http://host/prefix` and `http://host/prefix/` both end up under the prefix. */
function withSlash(base: URL): URL {
  return new URL(base.href.endsWith('/') ? base.href : `${base.href}/`)
}
