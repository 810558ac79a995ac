import type { Probe, Step } from '../config/probe-schema.ts'
// Credential header names are dropped cross-origin whatever their value: a token captured from a login response is one too.
import { CREDENTIAL_HEADER } from '../config/secret-use.ts'
import { type JsonTemplate, jsonTemplateSecret, type Scope, type Template, renderJsonTemplate, renderTemplate } from '../config/template.ts'

/** What a step needs at run time, worked out once per loaded step rather than once per request. */
export interface StepPlan {
  /** Probe default headers under the step's own, names lower-cased. */
  readonly headers: readonly (readonly [string, Template])[]
  /** A JSON body without an explicit content-type gets `application/json`. */
  readonly jsonContentType: boolean
  readonly json: JsonTemplate | undefined
  readonly body: Template | undefined
  /** The response body is kept only when an expectation or a capture reads it. */
  readonly keepBody: boolean
  readonly parseJson: boolean
  /** Headers never sent to another origin: credential names, and templates that hold a secret. */
  readonly secretHeaders: ReadonlySet<string>
  /** Whether the body's template holds a secret. */
  readonly secretBody: boolean
}


const plans = new WeakMap<Step, StepPlan>()

export function planStep(probe: Probe, step: Step): StepPlan {
  let plan = plans.get(step)
  if (!plan) {
    plan = makePlan(probe, step)
    plans.set(step, plan)
  }
  return plan
}

function makePlan(probe: Probe, step: Step): StepPlan {
  const headers = new Map<string, Template>()
  for (const [name, template] of Object.entries(probe.defaults.headers)) headers.set(name.toLowerCase(), template)
  for (const [name, template] of Object.entries(step.request.headers)) headers.set(name.toLowerCase(), template)
  const parseJson = step.expect.json.length > 0 || step.capture.some((c) => c.source.from === 'json')
  const secretHeaders = new Set([...headers].filter(([name, t]) => t.secret || CREDENTIAL_HEADER.test(name)).map(([name]) => name))
  return {
    headers: [...headers],
    jsonContentType: step.request.json !== undefined && !headers.has('content-type'),
    json: step.request.json,
    body: step.request.body,
    keepBody: parseJson || step.expect.body !== undefined,
    parseJson,
    secretHeaders,
    secretBody: step.request.json ? jsonTemplateSecret(step.request.json) : step.request.body?.secret === true,
  }
}

export interface RenderedRequest {
  readonly method: string
  /** The URL as rendered, not yet parsed. */
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string | undefined
  readonly secretHeaders: ReadonlySet<string>
  readonly secretBody: boolean
}

export type RenderOutcome =
  | { readonly ok: true; readonly request: RenderedRequest }
  | { readonly ok: false; readonly missing: string; readonly problem?: string }

/** Fills the step's templates from the run's scope; `missing` names the first value the scope lacks. */
export function renderRequest(step: Step, plan: StepPlan, scope: Scope): RenderOutcome {
  const url = renderTemplate(step.request.url, scope)
  if (!url.ok) return url
  const headers: Record<string, string> = {}
  for (const [name, template] of plan.headers) {
    const value = renderTemplate(template, scope)
    if (!value.ok) return value
    headers[name] = value.value
  }
  if (plan.jsonContentType) headers['content-type'] = 'application/json'
  let body: string | undefined
  if (plan.json) {
    const value = renderJsonTemplate(plan.json, scope)
    if (!value.ok) return value
    body = JSON.stringify(value.value)
  } else if (plan.body) {
    const value = renderTemplate(plan.body, scope)
    if (!value.ok) return value
    body = value.value
  }
  const { secretHeaders, secretBody } = plan
  return { ok: true, request: { method: step.request.method, url: url.value, headers, body, secretHeaders, secretBody } }
}
