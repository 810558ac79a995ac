import * as z from 'zod'
import { MIN_SECRET_LENGTH, type SecretMask } from './secrets.ts'

/**
 * `{{ name }}` templates, compiled at load. `{{ env.NAME }}` and
 * `{{ secret.NAME }}` are substituted then (a secret's value recorded in the
 * mask); `{{ run.id }}`, vars and captures stay references that are
 * resolved per run.
 */
export type TemplatePart = { readonly text: string } | { readonly ref: string; readonly encode?: UrlPlace }

/**
 * Where a reference sits in a URL template, decided at compile time: a value
 * in the path is one segment, a value in the query or fragment one component.
 * A reference before the path (`{{ base }}/items`, `http://{{ host }}/`) is
 * the URL's own base and is inserted as is.
 */
export type UrlPlace = 'segment' | 'component'

export interface Template {
  readonly source: string
  readonly parts: readonly TemplatePart[]
  /** Names this template needs at run time (vars, captures, run.*). */
  readonly refs: readonly string[]
  /**
   * Whether a value substituted at load is one the secret mask hides: such a
   * header or body must not follow a redirect to another origin.
   */
  readonly secret: boolean
}

/** What a template may read at load: the environment, and where to record its secrets. */
export interface TemplateContext {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly secrets: SecretMask
  /**
   * The env names used as credentials somewhere in the configuration (decided before any template is
   * compiled, see secret-use.ts); `{{ env.NAME }}` of any other name is plain configuration.
   */
  readonly secretNames?: ReadonlyMap<string, readonly string[]>
  /** Reads `{{ secret.NAME }}`: the value, or why there is none. @defaultValue the environment */
  readonly readSecret?: (name: string) => { readonly value: string } | { readonly problem: string }
}

/** A secret name is an environment-variable name (it is also a file name in the secrets directory). */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Names every run provides. */
export const RUN_REFS = ['run.id', 'run.timestamp', 'probe.name'] as const

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g
// `item.<field>` is a sweep's delete (README "Orphan sweep"); anywhere else it is an unknown variable.
const REF_NAME =
  /^(?:(?:env|secret)\.[A-Za-z_][A-Za-z0-9_]*|run\.(?:id|timestamp)|probe\.name|item\.[A-Za-z_][A-Za-z0-9_-]*|[A-Za-z_][A-Za-z0-9_-]*)$/

/**
 * Templates that substitute no env or secret value compile the same wherever
 * they appear (`{{ base }}/items` in every probe of a folder): compiled once
 * per context, that is once per load. Keyed weakly, so they go with it.
 */
const pureTemplates = new WeakMap<TemplateContext, Map<string, Template>>()
const pureUrlTemplates = new WeakMap<TemplateContext, Map<string, Template>>()

function cached(
  cache: WeakMap<TemplateContext, Map<string, Template>>,
  source: string,
  context: TemplateContext,
  compile: () => Template | string[],
): Template | string[] {
  if (source.includes('env.') || source.includes('secret.')) return compile()
  let templates = cache.get(context)
  const found = templates?.get(source)
  if (found) return found
  const compiled = compile()
  if (Array.isArray(compiled)) return compiled
  if (!templates) {
    templates = new Map()
    cache.set(context, templates)
  }
  templates.set(source, compiled)
  return compiled
}

/** Compiles a template, or returns the reasons it cannot be compiled. */
export function compileTemplate(source: string, context: TemplateContext): Template | string[] {
  return cached(pureTemplates, source, context, () => compileAnyTemplate(source, context))
}

function compileAnyTemplate(source: string, context: TemplateContext): Template | string[] {
  const parts: TemplatePart[] = []
  const problems: string[] = []
  let secret = false
  let last = 0
  for (const match of source.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({ text: source.slice(last, match.index) })
    last = match.index + match[0].length
    const name = match[1] ?? ''
    if (name.startsWith('secret.') && !SECRET_NAME.test(name.slice(7))) {
      problems.push(
        `invalid secret name ${JSON.stringify(name.slice(7))}: a secret name is an environment-variable name (letters, digits and "_", not starting with a digit)`,
      )
    } else if (!REF_NAME.test(name)) {
      problems.push(`invalid placeholder {{ ${name} }}: expected env.NAME, secret.NAME, ${RUN_REFS.join(', ')} or a variable name`)
    } else if (name.startsWith('env.') || name.startsWith('secret.')) {
      const loaded = loadValue(name, context)
      if ('problem' in loaded) problems.push(loaded.problem)
      else {
        if (loaded.secret) context.secrets.add(loaded.value, name.slice(name.indexOf('.') + 1))
        secret ||= loaded.secret || context.secrets.holds(loaded.value)
        parts.push({ text: loaded.value })
      }
    } else parts.push({ ref: name })
  }
  if (last < source.length) parts.push({ text: source.slice(last) })
  if (problems.length > 0) return problems
  return { source, parts: mergeText(parts), refs: parts.flatMap((p) => ('ref' in p ? [p.ref] : [])), secret }
}

/** The value of `{{ env.NAME }}` or `{{ secret.NAME }}`, whether it is a secret, or why it cannot be used. */
function loadValue(name: string, context: TemplateContext): { value: string; secret: boolean } | { problem: string } {
  const fromSecret = name.startsWith('secret.')
  const variable = name.slice(fromSecret ? 7 : 4)
  let value: string
  if (fromSecret) {
    const read = context.readSecret ? context.readSecret(variable) : readEnvSecret(context.env, variable)
    if ('problem' in read) return read
    value = read.value
  } else {
    const found = context.env[variable]
    if (found === undefined) return { problem: `environment variable ${variable} is not set` }
    value = found
  }
  const secret = fromSecret || context.secretNames?.has(variable) === true
  // A line break (often a trailing newline from `echo` or a file) breaks the header it goes into on every
  // run, and a secret holding one cannot be masked line by line.
  if (/[\r\n]/.test(value)) {
    return { problem: `${secret ? 'secret' : 'environment variable'} ${variable} holds a line break (a trailing newline?); remove it` }
  }
  if (secret && value.length < MIN_SECRET_LENGTH) {
    return {
      problem: `secret ${variable} is ${value.length} character${value.length === 1 ? '' : 's'} long; a secret needs at least ${MIN_SECRET_LENGTH}, or it could not be masked safely`,
    }
  }
  return { value, secret }
}

function readEnvSecret(env: Readonly<Record<string, string | undefined>>, name: string): { value: string } | { problem: string } {
  const value = env[name]
  return value === undefined ? { problem: `secret ${name} is not set (environment variable ${name})` } : { value }
}

/**
 * Compiles a URL template: each reference after the base is marked to be
 * percent-encoded for its place, so a captured `../admin`, `?x=1` or `#`
 * stays data and cannot rewrite the URL (README "URL templates").
 */
export function compileUrlTemplate(source: string, context: TemplateContext): Template | string[] {
  return cached(pureUrlTemplates, source, context, () => compileAnyUrlTemplate(source, context))
}

function compileAnyUrlTemplate(source: string, context: TemplateContext): Template | string[] {
  const compiled = compileTemplate(source, context)
  if (Array.isArray(compiled)) return compiled
  let place: 'base' | 'path' | 'query' = 'base'
  const parts = compiled.parts.map((part): TemplatePart => {
    if ('ref' in part) return place === 'base' ? part : { ref: part.ref, encode: place === 'path' ? 'segment' : 'component' }
    place = placeAfter(part.text, place)
    return part
  })
  return { ...compiled, parts }
}

/** Where a URL continues after a literal text: the base ends where the path starts (after the authority, if the text has one). */
function placeAfter(text: string, place: 'base' | 'path' | 'query'): 'base' | 'path' | 'query' {
  let from = 0
  if (place === 'base') {
    const scheme = text.indexOf('://')
    from = scheme >= 0 ? scheme + 3 : 0
    const path = text.slice(from).search(/[/?#]/)
    if (path < 0) return 'base'
    from += path
    place = 'path'
  }
  if (place === 'path') {
    const query = text.slice(from).search(/[?#]/)
    if (query < 0) return 'path'
    place = 'query'
  }
  return place
}

function mergeText(parts: TemplatePart[]): TemplatePart[] {
  const merged: TemplatePart[] = []
  for (const part of parts) {
    const previous = merged.at(-1)
    if ('text' in part && previous && 'text' in previous) merged[merged.length - 1] = { text: previous.text + part.text }
    else merged.push(part)
  }
  return merged
}

/** Looks a name up for a run; undefined means "not available (yet)". */
export type Scope = (name: string) => unknown

/** `missing` names a value the run lacks; `problem`, when set, says why a value it has cannot be used. */
export type Rendered<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly missing: string; readonly problem?: string }

/** Renders a template to a string; scalars are stringified, objects as JSON. */
export function renderTemplate(template: Template, scope: Scope): Rendered<string> {
  const only = template.parts[0]
  if (template.parts.length === 1 && only && 'text' in only) return { ok: true, value: only.text }
  let out = ''
  for (const part of template.parts) {
    if ('text' in part) out += part.text
    else {
      const value = scope(part.ref)
      if (value === undefined) return { ok: false, missing: part.ref }
      const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
      if (!part.encode) out += text
      else {
        // `%2E%2E` is as much a `..` to a URL parser as `..` itself: such a segment cannot be encoded, only refused.
        if (part.encode === 'segment' && (text === '.' || text === '..')) {
          return {
            ok: false,
            missing: part.ref,
            problem: `{{ ${part.ref} }} is ${JSON.stringify(text)}, which would change the URL's path`,
          }
        }
        out += encodeURIComponent(text)
      }
    }
  }
  return { ok: true, value: out }
}

/** Like renderTemplate, but `"{{ id }}"` alone keeps the captured value's JSON type (a number stays a number). */
export function renderTemplateValue(template: Template, scope: Scope): Rendered<unknown> {
  const only = template.parts[0]
  if (template.parts.length === 1 && only && 'ref' in only) {
    const value = scope(only.ref)
    return value === undefined ? { ok: false, missing: only.ref } : { ok: true, value }
  }
  return renderTemplate(template, scope)
}

/** A JSON value whose strings are templates. */
export type JsonTemplate =
  | { readonly kind: 'template'; readonly template: Template }
  | { readonly kind: 'literal'; readonly value: null | number | boolean }
  | { readonly kind: 'array'; readonly items: readonly JsonTemplate[] }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, JsonTemplate])[] }

export function compileJsonTemplate(value: unknown, context: TemplateContext): JsonTemplate | string[] {
  if (typeof value === 'string') {
    const template = compileTemplate(value, context)
    return Array.isArray(template) ? template : { kind: 'template', template }
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return { kind: 'literal', value }
  const problems: string[] = []
  const compileChild = (child: unknown): JsonTemplate => {
    const compiled = compileJsonTemplate(child, context)
    if (Array.isArray(compiled)) {
      problems.push(...compiled)
      return { kind: 'literal', value: null }
    }
    return compiled
  }
  if (Array.isArray(value)) {
    const items = value.map(compileChild)
    return problems.length > 0 ? problems : { kind: 'array', items }
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, compileChild(v)] as const)
    return problems.length > 0 ? problems : { kind: 'object', entries }
  }
  return [`expected a JSON value, got ${typeof value}`]
}

export function renderJsonTemplate(json: JsonTemplate, scope: Scope): Rendered<unknown> {
  switch (json.kind) {
    case 'literal':
      return { ok: true, value: json.value }
    case 'template':
      return renderTemplateValue(json.template, scope)
    case 'array': {
      const out: unknown[] = []
      for (const item of json.items) {
        const rendered = renderJsonTemplate(item, scope)
        if (!rendered.ok) return rendered
        out.push(rendered.value)
      }
      return { ok: true, value: out }
    }
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [key, item] of json.entries) {
        const rendered = renderJsonTemplate(item, scope)
        if (!rendered.ok) return rendered
        out[key] = rendered.value
      }
      return { ok: true, value: out }
    }
  }
}

/** Whether any string of a JSON template holds a secret. */
export function jsonTemplateSecret(json: JsonTemplate): boolean {
  switch (json.kind) {
    case 'literal':
      return false
    case 'template':
      return json.template.secret
    case 'array':
      return json.items.some(jsonTemplateSecret)
    case 'object':
      return json.entries.some(([, item]) => jsonTemplateSecret(item))
  }
}

export function jsonTemplateRefs(json: JsonTemplate): string[] {
  switch (json.kind) {
    case 'literal':
      return []
    case 'template':
      return [...json.template.refs]
    case 'array':
      return json.items.flatMap(jsonTemplateRefs)
    case 'object':
      return json.entries.flatMap(([, item]) => jsonTemplateRefs(item))
  }
}

/** A zod string that compiles to a Template in the given context. */
export function templateString(context: TemplateContext) {
  return compiledString(compileTemplate, context)
}

/** A zod string that compiles to a URL template (references percent-encoded for their place). */
export function urlTemplateString(context: TemplateContext) {
  return compiledString(compileUrlTemplate, context)
}

/** A zod string compiled by `compile`; each message it returns is an issue at the string's path. */
function compiledString(compile: (source: string, context: TemplateContext) => Template | string[], context: TemplateContext) {
  return z.string().transform((text, ctx) => {
    const compiled = compile(text, context)
    if (!Array.isArray(compiled)) return compiled
    for (const message of compiled) ctx.addIssue({ code: 'custom', message })
    return z.NEVER
  })
}

/** Any JSON value whose strings compile to templates in the given context. */
export function jsonTemplateValue(context: TemplateContext, base: z.ZodType<unknown> = z.json()) {
  return base.transform((value, ctx) => {
    const compiled = compileJsonTemplate(value, context)
    if (!Array.isArray(compiled)) return compiled
    for (const message of compiled) ctx.addIssue({ code: 'custom', message })
    return z.NEVER
  })
}

/** A string whose only placeholders are `{{ env.NAME }}` and `{{ secret.NAME }}`, resolved at load (alerting.yaml fields). */
export function envString(context: TemplateContext) {
  return z.string().transform((text, ctx) => {
    const compiled = compileTemplate(text, context)
    if (Array.isArray(compiled)) {
      for (const message of compiled) ctx.addIssue({ code: 'custom', message })
      return z.NEVER
    }
    if (compiled.refs.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `only {{ env.NAME }} and {{ secret.NAME }} placeholders are allowed here, got {{ ${compiled.refs[0]} }}`,
      })
      return z.NEVER
    }
    return compiled.parts.map((p) => ('text' in p ? p.text : '')).join('')
  })
}
