/**
 * The query of `GET /api/probes/<name>/history`: `?since=` an ISO time,
 * `?limit=` a whole number of runs. A bad value is the client's mistake and
 * is answered 400 with the reason, never guessed at.
 */
import { MAX_RUNS } from './records.ts'
import type { HistoryQuery } from './store.ts'

export type ParsedQuery = { readonly ok: true; readonly query: HistoryQuery } | { readonly ok: false; readonly reason: string }

/** An ISO 8601 date-time with a zone, as the API itself writes them. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/

export function parseHistoryQuery(params: URLSearchParams): ParsedQuery {
  for (const key of params.keys())
    if (key !== 'since' && key !== 'limit') return { ok: false, reason: `unknown parameter "${key}" (expected since, limit)` }
  const query: { since?: number; limit?: number } = {}
  const since = params.get('since')
  if (since !== null) {
    const at = ISO_TIME.test(since) ? Date.parse(since) : Number.NaN
    if (Number.isNaN(at))
      return { ok: false, reason: `since: expected an ISO 8601 time such as 2026-01-31T12:00:00Z, got ${JSON.stringify(since)}` }
    query.since = at
  }
  const limit = params.get('limit')
  if (limit !== null) {
    const n = /^\d{1,6}$/.test(limit) ? Number(limit) : Number.NaN
    if (!(n >= 1 && n <= MAX_RUNS))
      return { ok: false, reason: `limit: expected a whole number from 1 to ${MAX_RUNS}, got ${JSON.stringify(limit)}` }
    query.limit = n
  }
  return { ok: true, query }
}
