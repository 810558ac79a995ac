/**
 * One journaled cleanup: everything a later process needs to send the
 * cleanup request again without the probe's configuration — the step's
 * templates as written, the probe's vars as written, and the run's values
 * the step reads (run.*, captures). Never a resolved secret: a template
 * holding `{{ secret.NAME }}` or a credential `{{ env.NAME }}` is kept as
 * text and resolved again from the environment (and the secrets directory)
 * of the process that retries it (README "Cleanup journal").
 */
import { randomUUID } from 'node:crypto'
import * as z from 'zod'
import type { Probe, Step } from '../config/probe-schema.ts'
import { CREDENTIAL_HEADER } from '../config/secret-use.ts'
import type { SecretMask } from '../config/secrets.ts'
import {
  compileJsonTemplate,
  compileTemplate,
  compileUrlTemplate,
  type JsonTemplate,
  jsonTemplateRefs,
  jsonTemplateSecret,
  RUN_REFS,
  renderJsonTemplate,
  renderTemplate,
  renderTemplateValue,
  type Scope,
  type TemplateContext,
} from '../config/template.ts'
import type { RenderedRequest } from '../probe/request.ts'

const Scalar = z.union([z.string(), z.number(), z.boolean()])

export const JournalEntry = z.strictObject({
  id: z.string(),
  probe: z.string(),
  step: z.string(),
  /** Unix ms when it was journaled: the 24 h of retries count from here. */
  createdAt: z.number(),
  request: z.strictObject({
    method: z.string(),
    url: z.string(),
    headers: z.array(z.tuple([z.string(), z.string()])),
    json: z.json().optional(),
    body: z.string().optional(),
    timeoutMs: z.number(),
    maxBodySize: z.number(),
    followRedirects: z.number(),
    insecure: z.boolean(),
  }),
  /** The probe's vars as written, in order: a var may read the ones before it. */
  vars: z.array(z.tuple([z.string(), z.string()])),
  /** run.id, run.timestamp, probe.name and the captures the step reads. */
  values: z.record(z.string(), Scalar),
  /** Env names that were secrets (credentials) when journaled: their values are masked when resolved again. */
  secretEnv: z.array(z.string()),
})
export type JournalEntry = z.infer<typeof JournalEntry>

/** The raw JSON of a compiled JSON template: its strings back to their sources. */
function jsonSource(json: JsonTemplate): unknown {
  switch (json.kind) {
    case 'literal':
      return json.value
    case 'template':
      return json.template.source
    case 'array':
      return json.items.map(jsonSource)
    case 'object':
      return Object.fromEntries(json.entries.map(([k, v]) => [k, jsonSource(v)]))
  }
}

/**
 * The entry for a cleanup step of a run, or why it cannot be journaled: a
 * captured value holding a secret would put that secret on disk.
 */
export function entryOf(
  probe: Probe,
  step: Step,
  values: ReadonlyMap<string, unknown>,
  secrets: SecretMask,
  secretEnv: readonly string[],
  now: number,
): JournalEntry | string {
  const headers = new Map<string, string>()
  const refs = new Set<string>(step.request.url.refs)
  for (const [name, t] of [...Object.entries(probe.defaults.headers), ...Object.entries(step.request.headers)]) {
    headers.set(name.toLowerCase(), t.source)
    for (const ref of t.refs) refs.add(ref)
  }
  if (step.request.body) for (const ref of step.request.body.refs) refs.add(ref)
  if (step.request.json) for (const ref of jsonTemplateRefs(step.request.json)) refs.add(ref)
  const kept: Record<string, string | number | boolean> = {}
  for (const ref of [...RUN_REFS, ...refs]) {
    if (Object.hasOwn(probe.vars, ref)) continue
    const value = values.get(ref)
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue
    if (secrets.holds(String(value))) return `the value of {{ ${ref} }} holds a secret; it is not written to the journal`
    kept[ref] = value
  }
  return {
    id: randomUUID(),
    probe: probe.name,
    step: step.name,
    createdAt: now,
    request: {
      method: step.request.method,
      url: step.request.url.source,
      headers: [...headers],
      ...(step.request.json ? { json: jsonSource(step.request.json) as z.infer<ReturnType<typeof z.json>> } : {}),
      ...(step.request.body ? { body: step.request.body.source } : {}),
      timeoutMs: Math.min(step.request.timeout ?? probe.timeout, probe.timeout),
      maxBodySize: probe.maxBodySize,
      followRedirects: step.request.followRedirects,
      insecure: probe.tls.insecure,
    },
    vars: Object.entries(probe.vars).map(([name, t]) => [name, t.source]),
    values: kept,
    secretEnv: [...secretEnv],
  }
}

const SECRET_READ = /\{\{\s*secret\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g

/** The `{{ secret.NAME }}` names the entry reads, to be read before it is rendered. */
export function secretReadsOf(entry: JournalEntry): string[] {
  const texts = [entry.request.url, ...entry.request.headers.map(([, v]) => v), ...entry.vars.map(([, v]) => v)]
  if (entry.request.body !== undefined) texts.push(entry.request.body)
  if (entry.request.json !== undefined) texts.push(JSON.stringify(entry.request.json))
  return [...new Set(texts.flatMap((text) => [...text.matchAll(SECRET_READ)].map((m) => m[1] ?? '')))]
}

/**
 * The request of an entry, its templates compiled and rendered anew in
 * `context` (today's environment and secrets); or why it cannot be (a
 * variable no longer set, a secret file gone).
 */
export function renderEntry(entry: JournalEntry, context: TemplateContext): RenderedRequest | string {
  const problems: string[] = []
  const compile = <T>(what: string, compiled: T | string[]): T | null => {
    if (!Array.isArray(compiled)) return compiled
    problems.push(`${what}: ${compiled.join('; ')}`)
    return null
  }
  const values = new Map<string, unknown>(Object.entries(entry.values))
  const scope: Scope = (name) => values.get(name)
  for (const [name, source] of entry.vars) {
    const template = compile(`vars.${name}`, compileTemplate(source, context))
    const value = template && renderTemplateValue(template, scope)
    if (value?.ok) values.set(name, value.value)
  }
  const url = compile('url', compileUrlTemplate(entry.request.url, context))
  const headers = entry.request.headers.map(
    ([name, source]) => [name, compile(`headers.${name}`, compileTemplate(source, context))] as const,
  )
  const json = entry.request.json === undefined ? undefined : compile('json', compileJsonTemplate(entry.request.json, context))
  const body = entry.request.body === undefined ? undefined : compile('body', compileTemplate(entry.request.body, context))
  if (problems.length > 0 || !url) return problems.join('; ')
  const missing = (r: { missing: string; problem?: string }) => r.problem ?? `{{ ${r.missing} }} has no value`
  const renderedUrl = renderTemplate(url, scope)
  if (!renderedUrl.ok) return missing(renderedUrl)
  const out: Record<string, string> = {}
  const secretHeaders = new Set<string>()
  for (const [name, template] of headers) {
    if (!template) continue
    const value = renderTemplate(template, scope)
    if (!value.ok) return missing(value)
    out[name] = value.value
    if (template.secret || CREDENTIAL_HEADER.test(name)) secretHeaders.add(name)
  }
  let text: string | undefined
  if (json) {
    const value = renderJsonTemplate(json, scope)
    if (!value.ok) return missing(value)
    text = JSON.stringify(value.value)
    if (!Object.hasOwn(out, 'content-type')) out['content-type'] = 'application/json'
  } else if (body) {
    const value = renderTemplate(body, scope)
    if (!value.ok) return missing(value)
    text = value.value
  }
  const secretBody = json ? jsonTemplateSecret(json) : body?.secret === true
  return { method: entry.request.method, url: renderedUrl.value, headers: out, body: text, secretHeaders, secretBody }
}

/** Whether a cleanup's answer means the record is gone: deleted (2xx), or already gone (404, 410). */
export function cleanedUp(status: number): boolean {
  return (status >= 200 && status < 300) || status === 404 || status === 410
}
