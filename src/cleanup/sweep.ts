/**
 * One orphan sweep of one probe (README "Orphan sweep"): list every page,
 * pick the records whose name the probe's `match` matches and that are older
 * than `minAge`, then delete at most `max` of them. Listing finishes before
 * the first delete, so that deleting does not shift the pages being read.
 * Never throws: every fault is part of the report.
 */
import { randomUUID } from 'node:crypto'
import type { Probe, Step } from '../config/probe-schema.ts'
import type { SecretMask } from '../config/secrets.ts'
import { ITEM_REF, MAX_SWEEP_PAGES } from '../config/sweep-schema.ts'
import type { Scope } from '../config/template.ts'
import { planStep, type RenderedRequest, renderRequest } from '../probe/request.ts'
import { runValues } from '../probe/run.ts'
import { cleanedUp } from './entry.ts'
import { outcomeText, sendRequest } from './send.ts'

export type Sweep = NonNullable<Probe['sweep']>

export interface SweepRecord {
  readonly name: string
  readonly method: string
  /** Masked. */
  readonly url: string
  /** The delete's answer; absent in a dry run. */
  readonly status?: number
  /** Why the delete failed. */
  readonly error?: string
}

export interface SweepReport {
  readonly probe: string
  readonly dryRun: boolean
  readonly pages: number
  /** Records seen on every page. */
  readonly seen: number
  /** The probe's own records older than minAge. */
  readonly found: number
  readonly deleted: number
  /** Found, but beyond `max`: left for the next sweep. */
  readonly left: number
  readonly records: readonly SweepRecord[]
  /** The page bound was hit: records after page 100 were not seen. */
  readonly truncated: boolean
  /** Why the sweep failed (a list page, a refused next URL, a failed delete); null when it did not. */
  readonly error: string | null
}

export interface SweepDeps {
  readonly secrets: SecretMask
  readonly dryRun?: boolean
  readonly signal?: AbortSignal
  readonly now?: () => number
}

/** Why a record is kept, or that it is a leftover to delete. */
export type Verdict = 'orphan' | 'not-ours' | 'too-young' | 'no-time'

/** Unix ms of a `createdAt` value: ISO 8601 text, or Unix seconds (a number or digits). */
export function createdAtMs(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value * 1_000 : null
  if (typeof value !== 'string' || value.trim() === '') return null
  if (/^\d+(?:\.\d+)?$/.test(value.trim())) return Number(value) * 1_000
  // Date.parse takes far more than ISO 8601 ("Tue 1"): require the date part at least.
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return null
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? null : ms
}

export function verdict(item: unknown, sweep: Sweep, now: number): { verdict: Verdict; name: string } {
  const name = sweep.name.select(item)[0]
  if (typeof name !== 'string' || !sweep.match.test(name)) return { verdict: 'not-ours', name: String(name) }
  const created = createdAtMs(sweep.createdAt.select(item)[0])
  if (created === null) return { verdict: 'no-time', name }
  return { verdict: now - created > (sweep.minAge ?? Number.POSITIVE_INFINITY) ? 'orphan' : 'too-young', name }
}

/** The records of a page: the array `items` selects (or what it selects, when that is not one array). */
export function pageItems(page: unknown, sweep: Sweep): unknown[] {
  const selected = sweep.items.select(page)
  return selected.length === 1 && Array.isArray(selected[0]) ? selected[0] : selected
}

/** The next page's URL, null at the last page, or why it is refused. */
export function nextPage(page: unknown, sweep: Sweep, current: string, origin: string): { url: string | null } | { problem: string } {
  if (!sweep.next) return { url: null }
  const next = sweep.next.select(page)[0]
  if (next === undefined || next === null || next === '') return { url: null }
  if (typeof next !== 'string') return { problem: `next (${sweep.next.source}) is not a URL` }
  let url: URL
  try {
    url = new URL(next, current)
  } catch {
    return { problem: `next (${sweep.next.source}) is not a URL` }
  }
  // The list's credentials go to its origin only; a page elsewhere could also list records that are not ours.
  if (url.origin !== origin) return { problem: `the next page is on another origin (${url.origin}, not ${origin}); refused` }
  return { url: url.href }
}

/** A sweep request as a step, so it is rendered exactly as a step's (defaults, content type, secret headers). */
const asSteps = new WeakMap<object, Step>()
function asStep(name: string, request: Sweep['list']): Step {
  let step = asSteps.get(request)
  if (!step) {
    step = { name, cleanup: false, request, expect: { json: [], headers: [] }, capture: [] } as unknown as Step
    asSteps.set(request, step)
  }
  return step
}

function render(probe: Probe, step: Step, scope: Scope): RenderedRequest | string {
  const rendered = renderRequest(step, planStep(probe, step), scope)
  if (rendered.ok) return rendered.request
  return rendered.problem ?? `{{ ${rendered.missing} }} has no value`
}

export async function runSweep(probe: Probe, deps: SweepDeps): Promise<SweepReport> {
  const sweep = probe.sweep
  if (!sweep) throw new Error(`bug: probe ${probe.name} has no sweep`)
  const now = (deps.now ?? Date.now)()
  const { secrets } = deps
  // A sweep sees what a run sees (run.*, probe.name, the vars), as a run of its own.
  const values = runValues(probe, randomUUID().slice(0, 8), new Date())
  const scope: Scope = (name) => values.get(name)
  const send = (request: RenderedRequest, keepBody: boolean, timeout: number | undefined, redirects: number) =>
    sendRequest(request, {
      timeoutMs: timeout ?? probe.timeout,
      maxBodySize: probe.maxBodySize,
      maxRedirects: redirects,
      insecure: probe.tls.insecure,
      keepBody,
      secrets,
      ...(deps.signal ? { shutdown: deps.signal } : {}),
    })
  const base = { probe: probe.name, dryRun: deps.dryRun ?? false, deleted: 0, left: 0, records: [] as SweepRecord[] }
  const fail = (error: string, pages: number, seen: number) => ({
    ...base,
    pages,
    seen,
    found: 0,
    truncated: false,
    error: secrets.mask(error),
  })

  const first = render(probe, asStep('sweep-list', sweep.list), scope)
  if (typeof first === 'string') return fail(`list: ${first}`, 0, 0)
  let origin: string
  try {
    origin = new URL(first.url).origin
  } catch {
    return fail(`list: invalid URL ${JSON.stringify(first.url)}`, 0, 0)
  }
  const orphans: { item: Record<string, unknown>; name: string }[] = []
  let seen = 0
  let pages = 0
  let truncated = false
  for (let request: RenderedRequest | null = first; request; ) {
    if (pages === MAX_SWEEP_PAGES) {
      truncated = true
      break
    }
    pages++
    const outcome = await send(request, true, sweep.list.timeout, sweep.list.followRedirects)
    if (outcome.kind !== 'response') return fail(`list page ${pages}: ${outcomeText(outcome)}`, pages, seen)
    const { status, body } = outcome.response
    if (status < 200 || status >= 300) return fail(`list page ${pages}: HTTP ${status}`, pages, seen)
    let page: unknown
    try {
      page = JSON.parse(body?.toString('utf8') ?? '')
    } catch {
      return fail(`list page ${pages}: the body is not JSON`, pages, seen)
    }
    for (const item of pageItems(page, sweep)) {
      seen++
      const judged = verdict(item, sweep, now)
      if (judged.verdict === 'orphan' && item !== null && typeof item === 'object')
        orphans.push({ item: item as Record<string, unknown>, name: judged.name })
    }
    const next = nextPage(page, sweep, request.url, origin)
    if ('problem' in next) return fail(`list page ${pages}: ${next.problem}`, pages, seen)
    request = next.url === null ? null : { ...first, url: next.url }
  }

  const chosen = orphans.slice(0, sweep.max)
  const deleteStep = asStep('sweep-delete', sweep.delete)
  let deleted = 0
  const failures: string[] = []
  for (const { item, name } of chosen) {
    if (deps.signal?.aborted) break
    const itemScope: Scope = (ref) => {
      const field = ITEM_REF.exec(ref)?.[1]
      if (field === undefined) return values.get(ref)
      const value = item[field]
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : undefined
    }
    const request = render(probe, deleteStep, itemScope)
    if (typeof request === 'string') {
      base.records.push({ name, method: sweep.delete.method, url: '', error: request })
      failures.push(`${name}: ${request}`)
      continue
    }
    const shown = { name, method: request.method, url: secrets.mask(request.url) }
    if (base.dryRun) {
      base.records.push(shown)
      continue
    }
    const outcome = await send(request, false, sweep.delete.timeout, sweep.delete.followRedirects)
    const status = outcome.kind === 'response' ? outcome.response.status : outcome.kind === 'fault' ? outcome.response?.status : undefined
    if (status !== undefined && cleanedUp(status)) {
      deleted++
      base.records.push({ ...shown, status })
    } else {
      const error = secrets.mask(outcomeText(outcome))
      base.records.push({ ...shown, ...(status === undefined ? {} : { status }), error })
      failures.push(`${name}: ${error}`)
    }
  }
  const error = failures.length > 0 ? `${failures.length} delete${failures.length === 1 ? '' : 's'} failed (first: ${failures[0]})` : null
  return { ...base, pages, seen, found: orphans.length, deleted, left: orphans.length - chosen.length, truncated, error }
}

/** `found 50, deleted 50, kept 200 (not ours or too young)`, and what else the sweep has to say. */
export function sweepSummary(report: SweepReport): string {
  const did = report.dryRun ? `would delete ${report.records.filter((r) => !r.error).length}` : `deleted ${report.deleted}`
  const parts = [`found ${report.found}, ${did}, kept ${report.seen - report.found} (not ours or too young)`]
  if (report.left > 0) parts.push(`${report.left} left for the next sweep (max ${report.found - report.left} per sweep)`)
  if (report.truncated) parts.push(`stopped after ${MAX_SWEEP_PAGES} pages`)
  return parts.join('; ')
}

/** One line per record: `deleted smoke-1  DELETE http://…/items/1 → 204`. */
export function recordLine(record: SweepRecord, dryRun: boolean): string {
  const request = record.url ? `  ${record.method} ${record.url}` : ''
  if (dryRun && !record.error) return `would delete ${record.name}${request}`
  if (record.error) return `not deleted ${record.name}${request}: ${record.error}`
  return `deleted ${record.name}${request} → ${record.status}`
}
