/**
 * A probe's `sweep:` (README "Orphan sweep"): list the API's records, find
 * the probe's own that are older than `minAge` (leftovers of runs whose
 * cleanup never happened), delete at most `max` of them. The safety rails
 * are validation errors: a sweep that could delete someone else's records
 * is refused before it ships.
 */
import * as z from 'zod'
import { duration, formatDuration } from './duration.ts'
import { JsonPathText } from './jsonpath.ts'
import { type JsonTemplate, jsonTemplateRefs, type Template } from './template.ts'

/** Deletions per sweep unless `max` says otherwise. */
export const DEFAULT_SWEEP_MAX = 100
/** The most deletions one sweep may make: a bad `match` must not empty a table. */
export const MAX_SWEEP_MAX = 1_000
/** List pages followed through `next` per sweep. */
export const MAX_SWEEP_PAGES = 100
export const DEFAULT_SWEEP_INTERVAL_MS = 3_600_000

/** An `item.<field>` reference: only a sweep's delete request has one. */
export const ITEM_REF = /^item\.([A-Za-z_][A-Za-z0-9_-]*)$/

/** The part of a compiled request the rails read. */
interface RequestRefs {
  readonly url: Template
  readonly headers: Readonly<Record<string, Template>>
  readonly body?: Template | undefined
  readonly json?: JsonTemplate | undefined
}

/** `Request` is the probe's step request schema, `DeleteRequest` the same with method DELETE by default; `Pattern` its compiled regex. */
export function sweepSchema<R extends z.ZodType, D extends z.ZodType, P extends z.ZodType>(Request: R, DeleteRequest: D, Pattern: P) {
  return z.strictObject({
    /** How often the daemon sweeps; at least 1s (as a probe's interval). @defaultValue 1h */
    interval: duration({ min: 1_000 }).optional(),
    /** The request that lists records (a page of them): method, url, headers as in a step. */
    list: Request,
    /** JSONPath of the next page's URL in each page (relative or absolute, same origin); none: one page. */
    next: JsonPathText.optional(),
    /** JSONPath of the array of records in each page. */
    items: JsonPathText,
    /** JSONPath, within a record, of its name. */
    name: JsonPathText,
    /** A regex only this probe's own records' names match (RE2). */
    match: Pattern,
    /** JSONPath, within a record, of its creation time: ISO 8601 or Unix seconds. */
    createdAt: JsonPathText,
    /** Only records older than this are deleted. Required. */
    minAge: duration({ min: 1_000 }).optional(),
    /** The request that deletes one record, with `{{ item.<field> }}`. @defaultValue method DELETE */
    delete: DeleteRequest,
    /** At most this many deletions per sweep (at most 1000). @defaultValue 100 */
    max: z
      .int()
      .min(1, 'max must be at least 1')
      .max(MAX_SWEEP_MAX, `max is at most ${MAX_SWEEP_MAX} deletions per sweep (a bad match must not empty a table)`)
      .default(DEFAULT_SWEEP_MAX),
  })
}

/** Every reference of a request's templates, with where it is. */
function requestRefs(request: RequestRefs): { path: (string | number)[]; ref: string }[] {
  const out = request.url.refs.map((ref) => ({ path: ['url'], ref }))
  for (const [name, t] of Object.entries(request.headers)) for (const ref of t.refs) out.push({ path: ['headers', name], ref })
  if (request.body) for (const ref of request.body.refs) out.push({ path: ['body'], ref })
  if (request.json) for (const ref of jsonTemplateRefs(request.json)) out.push({ path: ['json'], ref })
  return out
}

interface SweepShape {
  readonly list: RequestRefs
  readonly delete: RequestRefs
  readonly match: { readonly source: string; test(text: string): boolean }
  readonly minAge?: number | undefined
}

/**
 * The rails (README "Orphan sweep"): a match that matches every name, no
 * minAge, a delete that does not name the record it deletes, and refs that
 * no sweep has. `known` holds the vars and run.* names a sweep may read.
 */
export function checkSweep(sweep: SweepShape, known: ReadonlySet<string>, ctx: z.RefinementCtx): void {
  const at = (...path: (string | number)[]) => ['sweep', ...path]
  if (sweep.match.test('')) {
    ctx.addIssue({
      code: 'custom',
      path: at('match'),
      message: `match ${JSON.stringify(sweep.match.source)} matches every name (it matches the empty string); give a pattern only this probe's records match, such as "^smoke-"`,
    })
  }
  if (sweep.minAge === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: at('minAge'),
      message: 'minAge is required: only records older than it are deleted, so a run in flight never loses its record (e.g. minAge: 1h)',
    })
  }
  for (const { path, ref } of requestRefs(sweep.list)) {
    if (!known.has(ref))
      ctx.addIssue({
        code: 'custom',
        path: at('list', ...path),
        message: `unknown variable "${ref}" (a list may use ${[...known].join(', ')})`,
      })
  }
  const refs = requestRefs(sweep.delete)
  for (const { path, ref } of refs) {
    if (!known.has(ref) && !ITEM_REF.test(ref)) {
      ctx.addIssue({
        code: 'custom',
        path: at('delete', ...path),
        message: `unknown variable "${ref}" (a delete may use item.<field>, ${[...known].join(', ')})`,
      })
    }
  }
  if (!refs.some(({ ref }) => ITEM_REF.test(ref))) {
    ctx.addIssue({
      code: 'custom',
      path: at('delete', 'url'),
      message: 'the delete request must use a field of the record, such as {{ item.id }}; without one, every delete would hit the same URL',
    })
  }
}

/** For messages: `1h`. */
export function sweepInterval(ms: number | undefined): string {
  return formatDuration(ms ?? DEFAULT_SWEEP_INTERVAL_MS)
}
