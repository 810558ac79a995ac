/**
 * Which names are secrets, decided once at load from the files as written
 * (README "Secrets"): a name read with `{{ secret.NAME }}`, or an
 * `{{ env.NAME }}` used as a credential — in a credential header, a URL's
 * user-info, or a channel's credential field. Every other environment value
 * is plain configuration and is shown.
 */

/** Header names whose value is a credential (README "Secrets"). */
export const CREDENTIAL_HEADER = /^(?:authorization|proxy-authorization|cookie|x-api-key)$|token|secret|password|key|auth/i

/** Channel fields that are credentials, by channel type. `headers` means every header value. */
const CHANNEL_CREDENTIALS: Readonly<Record<string, readonly string[]>> = {
  email: ['smtp.pass'],
  pagerduty: ['routingKey'],
  webhook: ['url', 'headers'],
  slack: ['url'],
}

/** Name → why it is a secret (`used in header authorization of items-crud`), in the order found. */
export type SecretNames = Map<string, string[]>

const ENV_REF = /\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g
const SECRET_REF = /\{\{\s*secret\.([^{}]*?)\s*\}\}/g
const VAR_REF = /\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}/g

/**
 * The reasons already in each list: one token used by 1,000 probes has 1,000
 * reasons, and looking each new one up in the list made recording quadratic.
 */
const recorded = new WeakMap<string[], Set<string>>()

function record(names: SecretNames, name: string, reason: string): void {
  const reasons = names.get(name) ?? []
  let seen = recorded.get(reasons)
  if (seen === undefined) {
    seen = new Set(reasons)
    recorded.set(reasons, seen)
  }
  if (!seen.has(reason)) {
    seen.add(reason)
    reasons.push(reason)
  }
  names.set(name, reasons)
}

function object(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

/** Every string in a value, in order; only those containing `part` when it is given. */
function strings(value: unknown, out: string[] = [], part = ''): string[] {
  if (typeof value === 'string') {
    if (value.includes(part)) out.push(value)
  } else if (Array.isArray(value)) for (const item of value) strings(item, out, part)
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) strings(item, out, part)
  return out
}

/** Every `{{ secret.NAME }}` anywhere in a file. */
function secretReads(raw: unknown, where: string, names: SecretNames): void {
  for (const text of strings(raw, [], 'secret.')) {
    for (const match of text.matchAll(SECRET_REF)) record(names, match[1] ?? '', `read with {{ secret.${match[1]} }} in ${where}`)
  }
}

/** A template with the probe's vars expanded in place (vars may use earlier vars), so env references show through them. */
function expand(text: string, vars: Record<string, unknown>, depth = 0): string {
  if (depth > 20 || !text.includes('{{')) return text
  return text.replace(VAR_REF, (whole, name: string) => {
    const value = vars[name]
    return typeof value === 'string' && Object.hasOwn(vars, name) ? expand(value, vars, depth + 1) : whole
  })
}

function envRefs(text: string): string[] {
  return [...text.matchAll(ENV_REF)].map((m) => m[1] ?? '')
}

/**
 * The env names whose value lands in the URL's user-info (`https://user:pass@host`), with the
 * environment's values substituted: a base URL that carries user-info is a credential as a whole.
 */
function userInfoRefs(text: string, env: Readonly<Record<string, string | undefined>>): string[] {
  if (!text.includes('env.')) return []
  let out = ''
  const spans: { name: string; from: number; to: number }[] = []
  let last = 0
  for (const match of text.matchAll(ENV_REF)) {
    out += text.slice(last, match.index)
    const name = match[1] ?? ''
    const value = env[name] ?? ''
    spans.push({ name, from: out.length, to: out.length + value.length })
    out += value
    last = match.index + match[0].length
  }
  out += text.slice(last)
  // Without user-info there is nothing to find: most URLs.
  if (spans.length === 0 || !out.includes('@')) return []
  const scheme = out.indexOf('://')
  if (scheme < 0) return []
  const start = scheme + 3
  const rest = out.slice(start)
  const authorityEnd = rest.search(/[/?#]/)
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd)
  const at = authority.lastIndexOf('@')
  if (at < 0) return []
  const end = start + at
  return spans.filter((s) => s.from < end && s.to > start).map((s) => s.name)
}

/** Records the secrets one probe file declares by use. */
export function probeSecretUses(raw: unknown, file: string, env: Readonly<Record<string, string | undefined>>, names: SecretNames): void {
  const probe = object(raw)
  const name = typeof probe.name === 'string' ? probe.name : file
  secretReads(raw, name, names)
  const vars = object(probe.vars)
  const headers = (value: unknown) => {
    for (const [header, text] of Object.entries(object(value))) {
      if (typeof text !== 'string' || !CREDENTIAL_HEADER.test(header)) continue
      for (const ref of envRefs(expand(text, vars))) record(names, ref, `used in header ${header.toLowerCase()} of ${name}`)
    }
  }
  headers(object(probe.defaults).headers)
  const request = (value: unknown, where: string) => {
    const fields = object(value)
    headers(fields.headers)
    if (typeof fields.url !== 'string') return
    for (const ref of userInfoRefs(expand(fields.url, vars), env))
      record(names, ref, `used in the user-info of the URL of ${where} of ${name}`)
  }
  const steps = Array.isArray(probe.steps) ? probe.steps : []
  for (const step of steps) request(object(step).request, `step ${typeof object(step).name === 'string' ? object(step).name : '?'}`)
  // A sweep's requests carry the same credentials as the steps' (README "Orphan sweep").
  request(object(probe.sweep).list, 'sweep.list')
  request(object(probe.sweep).delete, 'sweep.delete')
}

/** Records the secrets the alerting file declares by use: its channels' credential fields. */
export function alertingSecretUses(raw: unknown, file: string, names: SecretNames): void {
  secretReads(raw, file, names)
  for (const [channel, config] of Object.entries(object(object(raw).channels))) {
    const fields = CHANNEL_CREDENTIALS[String(object(config).type)] ?? []
    for (const field of fields) {
      const value = field.split('.').reduce<unknown>((v, key) => object(v)[key], config)
      for (const text of strings(value)) {
        for (const ref of envRefs(text)) record(names, ref, `used in ${field} of channel ${channel}`)
      }
    }
  }
  // The mutes API's bearer token: whoever has it can silence every page.
  for (const text of strings(object(object(raw).api).token)) {
    for (const ref of envRefs(text)) record(names, ref, 'used in api.token')
  }
}
