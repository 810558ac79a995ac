import cron from 'node-cron'
import { RE2JS, RE2JSSyntaxException } from 're2js'
import * as z from 'zod'
import { AlertPolicyOverride } from './alert-policy.ts'
import { Duration, duration, formatDuration } from './duration.ts'
import { JsonPathText } from './jsonpath.ts'
import { checkSweep, sweepSchema } from './sweep-schema.ts'
import {
  jsonTemplateRefs as jsonRefs,
  jsonTemplateValue,
  RUN_REFS,
  type TemplateContext,
  templateString,
  urlTemplateString,
} from './template.ts'

export const PROBE_NAME = /^[a-z0-9][a-z0-9-]*$/
const STEP_NAME = /^[a-z0-9][a-z0-9_-]*$/
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
/** Labels smokeprobe sets itself; a probe label of the same name would collide in metrics and alerts. */
const RESERVED_LABELS = ['probe', 'location', 'step', 'reason', 'result', 'alertname', 'channel', 'event', 'le']
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
/** Methods a retry cannot turn into a second effect (RFC 9110 §9.2.2): sending them twice is sending them once. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])
/** Retries of one step at most: more would hide an outage behind a run that passes by luck. */
export const MAX_RETRY_ATTEMPTS = 5
const SIZE = /^(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/
const SIZE_UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1e3, MB: 1e6, GB: 1e9 }
/** A shorter budget would fail every run: `0` aborts before the first request. */
const MIN_TIMEOUT_MS = 10
export const MAX_DESCRIPTION = 4096
export const MAX_LABEL_VALUE = 1024
/** A runbook link goes into every firing notification; 2 KiB is far above any real URL. */
export const MAX_RUNBOOK = 2048
/** Redirects followed when a step says `followRedirects: true`. */
export const DEFAULT_MAX_REDIRECTS = 5

/**
 * A compiled regular expression, matched by RE2 (re2js): linear in the input,
 * so no pattern and no response can make a match take exponential time and
 * stall the daemon (`^(a+)+$` against 30 hostile bytes blocks V8's engine for
 * seconds). Shown as JavaScript shows a RegExp, `/pattern/`.
 */
export interface Pattern {
  readonly source: string
  /** Whether the pattern matches anywhere in the text. */
  test(text: string): boolean
  toString(): string
}

/** Longest text a pattern is matched against (README "Regular expressions"); longer fails the expectation. */
export const MAX_MATCHED_CHARS = 256 * 1024

/** `\1`…`\9` and `\k<name>` not preceded by a backslash: backreferences, which RE2 cannot match. */
const BACKREFERENCE = /(?:^|[^\\])(?:\\\\)*(\\[1-9]|\\k<)/
const LOOKAROUND = /\(\?<?[=!]/

/**
 * A zod string compiled to a Pattern. Compiling is most of what checking a
 * pattern costs, and probe files repeat theirs (`^application/json` in
 * every one), so each source is compiled once per schema: per load.
 */
export function regexText() {
  const compiled = new Map<string, Pattern | string>()
  return z
    .string()
    .meta({ description: 'A regular expression (RE2 syntax: JavaScript syntax without backreferences or lookaround)' })
    .transform((text, ctx) => {
      let pattern = compiled.get(text)
      if (pattern === undefined) {
        pattern = compilePattern(text)
        compiled.set(text, pattern)
      }
      if (typeof pattern === 'string') {
        ctx.addIssue({ code: 'custom', message: pattern })
        return z.NEVER
      }
      return pattern
    })
}

function compilePattern(text: string): Pattern | string {
  let shown: string
  try {
    shown = String(new RegExp(text))
  } catch (error) {
    // V8 repeats the pattern ("Invalid regular expression: /a(/: Unterminated group"); keep only the reason.
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')
    return `invalid regular expression ${JSON.stringify(text)}: ${reason}`
  }
  const unsupported = (what: string) =>
    `unsupported regular expression ${JSON.stringify(text)}: ${what}; patterns are matched in linear time (RE2 syntax), which has no backreferences or lookaround`
  // translateRegExp would turn `\k<id>` into the literal `k<id>`: refuse it before it can.
  const backreference = BACKREFERENCE.exec(text)?.[1]
  if (backreference === '\\k<') return unsupported('backreference \\k<…>')
  let re2: RE2JS
  try {
    // translateRegExp maps JavaScript-only spellings (\u00e9, (?<name>…)) to RE2's.
    re2 = RE2JS.compile(RE2JS.translateRegExp(text))
  } catch (error) {
    // RE2 says "invalid escape sequence: `\1`" or "invalid or unsupported Perl syntax: `(?=`": name the feature instead.
    const lookaround = LOOKAROUND.exec(text)?.[0]
    if (lookaround) return unsupported(`lookaround ${lookaround}…)`)
    if (backreference) return unsupported(`backreference ${backreference}`)
    const reason = error instanceof RE2JSSyntaxException ? `${error.error} ${error.input}` : (error as Error).message
    return unsupported(reason)
  }
  return { source: text, test: (input) => re2.test(input), toString: () => shown }
}

const ByteSize = z
  .union([z.int().min(1), z.string()])
  .meta({ description: 'A size in bytes, or with a unit: 512KiB, 1MiB, 10MB' })
  .transform((value, ctx) => {
    if (typeof value === 'number') return value
    const match = SIZE.exec(value.trim())
    if (!match || Number(match[1]) === 0) {
      ctx.addIssue({ code: 'custom', message: `expected a size such as 1MiB or 512KiB, got ${JSON.stringify(value)}` })
      return z.NEVER
    }
    return Number(match[1]) * (SIZE_UNITS[match[2] ?? 'B'] ?? 1)
  })

const Status = z.int().min(100).max(599)

const TEMPLATE = /\{\{[^{}]*\}\}/

/**
 * A field that is an identity (a name, a label) takes no template: a secret
 * there could not be masked without merging what it names, and an
 * environment value there would be taken literally. The rule is said before
 * the field's own pattern, which would only call the braces invalid.
 */
function untemplated(what: string, why: string) {
  return z.string().check(
    z.refine((text: string) => !TEMPLATE.test(text), {
      abort: true,
      error: (issue) =>
        `${what} cannot hold a template (${String(TEMPLATE.exec(String(issue.input))?.[0])}): it ${why}, where a secret could not be masked`,
    }),
  )
}

/** The schema of one probe file, compiling templates against `context` (its environment and secret mask). */
export function probeFileSchema(context: TemplateContext) {
  return probeSchemaWith(context, () => z.json())
}

/**
 * The same schema compiled by zod (`z.compile`): about 40% less time per
 * file. A fast path for files it accepts, and nothing more: z.compile needs
 * a schema without reference cycles, so JSON values are checked here by
 * `isJsonValue` instead of the recursive `z.json()`, and a file it rejects
 * is parsed again by `probeFileSchema`, whose issues every diagnostic is
 * made from. null when zod cannot compile it.
 */
export function compiledProbeFileSchema(context: TemplateContext) {
  try {
    return z.compile(
      probeSchemaWith(context, () => z.unknown().refine(isJsonValue)),
      { strict: true },
    )
  } catch {
    return null
  }
}

/**
 * Exactly what `z.json()` accepts, with its output equal to the input: a
 * string, a finite number, true/false, null, a list or a plain object of
 * those. An object with a `__proto__` key (which z.json() drops) or a
 * symbol key is left to z.json().
 */
export function isJsonValue(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object': {
      if (value === null) return true
      if (Array.isArray(value)) return value.every(isJsonValue)
      const prototype = Object.getPrototypeOf(value)
      if (prototype !== Object.prototype && prototype !== null) return false
      for (const key of Reflect.ownKeys(value)) {
        if (typeof key !== 'string' || key === '__proto__' || !Object.prototype.propertyIsEnumerable.call(value, key)) return false
        if (!isJsonValue((value as Record<string, unknown>)[key])) return false
      }
      return true
    }
    default:
      return false
  }
}

function probeSchemaWith(context: TemplateContext, json: () => z.ZodType<unknown>) {
  const Template = templateString(context)
  const RegexText = regexText()
  const Headers = z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'not a valid header name'), Template)

  const JsonMatcher = z.union([
    z.strictObject({ exists: z.boolean() }).transform((m) => ({ kind: 'exists' as const, exists: m.exists })),
    z.strictObject({ matches: RegexText }).transform((m) => ({ kind: 'matches' as const, regex: m.matches })),
    z.strictObject({ equals: jsonTemplateValue(context, json()) }).transform((m) => ({ kind: 'equals' as const, value: m.equals })),
    jsonTemplateValue(context, z.union([z.string(), z.number(), z.boolean(), z.null()])).transform((value) => ({
      kind: 'equals' as const,
      value,
    })),
  ])
  const HeaderMatcher = z.union([
    z.strictObject({ exists: z.boolean() }).transform((m) => ({ kind: 'exists' as const, exists: m.exists })),
    z.strictObject({ matches: RegexText }).transform((m) => ({ kind: 'matches' as const, regex: m.matches })),
    Template.transform((template) => ({ kind: 'equals' as const, template })),
  ])
  const Capture = z.union([
    JsonPathText.transform((path) => ({ from: 'json' as const, path })),
    z.strictObject({ json: JsonPathText }).transform((c) => ({ from: 'json' as const, path: c.json })),
    z.strictObject({ header: z.string().min(1) }).transform((c) => ({ from: 'header' as const, header: c.header.toLowerCase() })),
    z.strictObject({ status: z.literal(true) }).transform(() => ({ from: 'status' as const })),
  ])

  const Request = z
    .strictObject({
      /** @defaultValue GET */
      method: z.enum(HTTP_METHODS).default('GET'),
      url: urlTemplateString(context).meta({ description: 'The URL; templates allowed' }),
      headers: Headers.default({}),
      /** A JSON body (sets content-type: application/json unless given). */
      json: jsonTemplateValue(context, json()).optional(),
      /** A raw text body. */
      body: Template.optional(),
      /** A per-step timeout, within the probe's `timeout`; at least 10ms, like the probe's. */
      timeout: duration({ min: MIN_TIMEOUT_MS }).optional(),
      /** Follow redirects: `true` (at most 5) or a maximum number of hops. @defaultValue false */
      followRedirects: z
        .union([z.boolean(), z.int().min(1).max(20)])
        .default(false)
        .transform((v) => (v === true ? DEFAULT_MAX_REDIRECTS : v === false ? 0 : v)),
    })
    .superRefine((request, ctx) => {
      if (request.json !== undefined && request.body !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['body'], message: 'give either json or body, not both' })
      }
    })

  const Expect = z.strictObject({
    /** Accepted statuses: a number or a list. @defaultValue any 2xx */
    status: z
      .union([Status, z.array(Status).min(1)], {
        error: (issue) => `expected a status code (100-599) or a list of them, got ${JSON.stringify(issue.input)}`,
      })
      .transform((s) => (Array.isArray(s) ? s : [s]))
      .optional(),
    /** Fail the step when it takes longer; at least 1ms, at most 24d. */
    maxDuration: Duration.optional(),
    json: z
      .record(z.string(), JsonMatcher)
      .default({})
      .transform((entries, ctx) => {
        const out = []
        for (const [source, matcher] of Object.entries(entries)) {
          const path = JsonPathText.safeParse(source)
          if (!path.success) {
            ctx.addIssue({ code: 'custom', path: [source], message: path.error.issues[0]?.message ?? 'invalid JSONPath' })
            continue
          }
          out.push({ path: path.data, matcher })
        }
        return out
      }),
    headers: z
      .record(z.string(), HeaderMatcher)
      .default({})
      .transform((entries) => Object.entries(entries).map(([name, matcher]) => ({ name: name.toLowerCase(), matcher }))),
    body: z.strictObject({ contains: Template.optional(), matches: RegexText.optional() }).optional(),
  })

  const Retry = z
    .strictObject({
      /** Attempts after the first, 1 to 5: `attempts: 2` sends the request at most three times. */
      attempts: z
        .int({ error: (i) => `expected a whole number of retries (1-${MAX_RETRY_ATTEMPTS}), got ${JSON.stringify(i.input)}` })
        .min(1, 'at least 1 retry (omit retry: for none)')
        .max(MAX_RETRY_ATTEMPTS, `at most ${MAX_RETRY_ATTEMPTS} retries: more would hide an outage behind a run that passes by luck`),
      /** Wait before each retry; the run's deadline still holds. @defaultValue 1s */
      delay: duration({ zero: true }).prefault('1s'),
      /** Retry a POST or PATCH too (the target must tolerate a repeat). @defaultValue false */
      unsafe: z.boolean().default(false),
    })
    .meta({ description: 'Send the request again after a transport fault, a timeout or a 5xx' })

  const Step = z.strictObject({
    name: untemplated('a step name', 'names the step in reports, metrics and alerts').regex(
      STEP_NAME,
      'a step name is lower-case letters, digits, "-" and "_"',
    ),
    /** Runs even after an earlier step failed (delete what the probe created). @defaultValue false */
    cleanup: z.boolean().default(false),
    request: Request,
    /** Retries on transport faults, timeouts and 5xx, within the run's deadline. @defaultValue none */
    retry: Retry.optional(),
    expect: Expect.prefault({}),
    capture: z
      .record(z.string().regex(VAR_NAME, 'a capture name is a letter or "_", then letters, digits, "_" or "-"'), Capture)
      .default({})
      .transform((entries) => Object.entries(entries).map(([name, source]) => ({ name, source }))),
  })

  return z
    .strictObject({
      $schema: z.string().optional(),
      name: untemplated('a probe name', 'names the probe in metrics, alerts and the state directory')
        .max(63)
        .regex(PROBE_NAME, 'a probe name is lower-case letters, digits and "-", starting with a letter or digit'),
      /** Served with every /api/probes answer and status page: at most 4 KiB, far above a sentence or two. */
      description: z.string().max(MAX_DESCRIPTION).optional(),
      /** Where the on-call engineer reads what to do; every firing notification links it (Alertmanager `runbook_url`). */
      runbook: z
        .url({ protocol: /^https?$/, error: (i) => `expected an http(s) URL, got ${JSON.stringify(i.input)}` })
        .max(MAX_RUNBOOK)
        .meta({ description: 'An http(s) URL: the runbook for this probe' })
        .optional(),
      /** How often the probe runs; at least 1s (checked below), at most 24d. @defaultValue 1m (unless `schedule` is given) */
      interval: Duration.optional(),
      /** A cron expression (5 fields, or 6 with seconds), in UTC; instead of `interval`. */
      schedule: z
        .string()
        .refine((expr) => cron.validate(expr), { error: (i) => `invalid cron expression ${JSON.stringify(i.input)}` })
        .optional(),
      /** Budget for the whole run, all steps included; at least 10ms, shorter than the interval. @defaultValue 30s */
      timeout: duration({ min: MIN_TIMEOUT_MS }).prefault('30s'),
      labels: z
        .record(
          z
            .string()
            .regex(LABEL_NAME, 'a label name is letters, digits and "_"')
            .refine((name) => !RESERVED_LABELS.includes(name), {
              error: (i) => `label ${JSON.stringify(i.input)} is reserved by smokeprobe`,
            }),
          // A label value goes into every series and alert of the probe; 1 KiB is far above any real one.
          untemplated('a label value', 'is part of every series and alert identity').max(MAX_LABEL_VALUE),
        )
        .default({}),
      /** Largest response body read per step; larger fails the step as "body too large". @defaultValue 1MiB */
      maxBodySize: ByteSize.prefault('1MiB'),
      tls: z
        .strictObject({
          /** Accept any certificate (self-signed, expired, wrong host). @defaultValue false */
          insecure: z.boolean().default(false),
        })
        .prefault({}),
      vars: z
        .record(z.string().regex(VAR_NAME, 'a variable name is a letter or "_", then letters, digits, "_" or "-"'), Template)
        .default({}),
      defaults: z.strictObject({ headers: Headers.default({}) }).prefault({}),
      steps: z.array(Step).min(1, 'a probe needs at least one step'),
      alert: AlertPolicyOverride.optional(),
      /** Finds and deletes the probe's leftover records (README "Orphan sweep"). */
      sweep: sweepSchema(Request, Request.safeExtend({ method: z.enum(HTTP_METHODS).default('DELETE') }), RegexText).optional(),
    })
    .superRefine((probe, ctx) => {
      checkSchedule(probe, ctx)
      checkSteps(probe, ctx)
      if (probe.sweep) checkSweep(probe.sweep, new Set([...RUN_REFS, ...Object.keys(probe.vars)]), ctx)
    })
    .transform(({ $schema: _, interval, ...probe }) => ({
      ...probe,
      intervalMs: probe.schedule === undefined ? (interval ?? 60_000) : null,
    }))
}

type ProbeShape = z.output<ReturnType<typeof probeFileSchemaInner>>
// Indirection so the refinements below can name the object's parsed shape.
function probeFileSchemaInner(context: TemplateContext) {
  return probeSchemaWith(context, () => z.json()).in
}

function checkSchedule(probe: ProbeShape, ctx: z.RefinementCtx): void {
  if (probe.interval !== undefined && probe.schedule !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['schedule'], message: 'give either interval or schedule, not both' })
  }
  const interval = probe.schedule === undefined ? (probe.interval ?? 60_000) : undefined
  if (interval !== undefined && probe.timeout >= interval) {
    ctx.addIssue({
      code: 'custom',
      path: ['timeout'],
      message: `timeout ${formatDuration(probe.timeout)} must be shorter than the interval ${formatDuration(interval)}`,
    })
  }
  if (interval !== undefined && interval < 1_000) {
    ctx.addIssue({ code: 'custom', path: ['interval'], message: 'interval must be at least 1s' })
  }
}

function checkSteps(probe: ProbeShape, ctx: z.RefinementCtx): void {
  const known = new Set<string>(RUN_REFS)
  for (const [name, template] of Object.entries(probe.vars)) {
    for (const ref of template.refs) {
      if (!known.has(ref))
        ctx.addIssue({
          code: 'custom',
          path: ['vars', name],
          message: `unknown variable "${ref}" (vars may use ${RUN_REFS.join(', ')} and earlier vars)`,
        })
    }
    known.add(name)
  }
  for (const [name, template] of Object.entries(probe.defaults.headers)) {
    for (const ref of template.refs) {
      if (!known.has(ref)) ctx.addIssue({ code: 'custom', path: ['defaults', 'headers', name], message: `unknown variable "${ref}"` })
    }
  }
  const stepNames = new Set<string>()
  probe.steps.forEach((step, index) => {
    if (stepNames.has(step.name))
      ctx.addIssue({ code: 'custom', path: ['steps', index, 'name'], message: `duplicate step name "${step.name}"` })
    stepNames.add(step.name)
    for (const { path, refs } of stepRefs(step)) {
      for (const ref of refs) {
        if (!known.has(ref)) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', index, ...path],
            message: `unknown variable "${ref}" (known: ${[...known].join(', ')})`,
          })
        }
      }
    }
    if (step.retry && !step.retry.unsafe && !IDEMPOTENT_METHODS.has(step.request.method)) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps', index, 'retry'],
        message: `a ${step.request.method} is not idempotent: a retry could repeat its effect; set retry.unsafe: true if the target tolerates that`,
      })
    }
    if (step.retry && step.retry.delay >= probe.timeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps', index, 'retry', 'delay'],
        message: `retry delay ${formatDuration(step.retry.delay)} leaves no time for a retry within the probe timeout ${formatDuration(probe.timeout)}`,
      })
    }
    if (step.request.timeout !== undefined && step.request.timeout > probe.timeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps', index, 'request', 'timeout'],
        message: `step timeout ${formatDuration(step.request.timeout)} exceeds the probe timeout ${formatDuration(probe.timeout)}`,
      })
    }
    for (const capture of step.capture) {
      if (Object.hasOwn(probe.vars, capture.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'capture', capture.name],
          message: `capture "${capture.name}" shadows a var of the same name`,
        })
      }
      known.add(capture.name)
    }
  })
}

type StepShape = ProbeShape['steps'][number]

function stepRefs(step: StepShape): { path: (string | number)[]; refs: readonly string[] }[] {
  const out: { path: (string | number)[]; refs: readonly string[] }[] = [{ path: ['request', 'url'], refs: step.request.url.refs }]
  for (const [name, template] of Object.entries(step.request.headers)) out.push({ path: ['request', 'headers', name], refs: template.refs })
  if (step.request.body) out.push({ path: ['request', 'body'], refs: step.request.body.refs })
  if (step.request.json) out.push({ path: ['request', 'json'], refs: jsonRefs(step.request.json) })
  for (const { path, matcher } of step.expect.json) {
    if (matcher.kind === 'equals') out.push({ path: ['expect', 'json', path.source], refs: jsonRefs(matcher.value) })
  }
  for (const { name, matcher } of step.expect.headers) {
    if (matcher.kind === 'equals') out.push({ path: ['expect', 'headers', name], refs: matcher.template.refs })
  }
  if (step.expect.body?.contains) out.push({ path: ['expect', 'body', 'contains'], refs: step.expect.body.contains.refs })
  return out
}

export type Probe = z.output<ReturnType<typeof probeFileSchema>> & { readonly file: string }
export type Step = Probe['steps'][number]
