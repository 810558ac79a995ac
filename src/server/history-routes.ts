/**
 * `GET /api/probes/<name>/history` and the detail page `/probes/<name>`: the
 * routes that take a probe name from the path. An unknown name is 404, a bad
 * query 400 with the reason as JSON (SPEC "History and the status page").
 */
import { parseHistoryQuery } from '../history/query.ts'
import type { HistoryDocument, HistoryQuery, HistoryView } from '../history/store.ts'
import { renderDetailPage } from './detail-page.ts'
import { PAGE_CSP } from './page-parts.ts'
import { json, type Reply } from './reply.ts'
import type { ProbeStatus } from './status.ts'

/** What the server may ask of the history; null for a probe not configured here. */
export interface HistoryAccess {
  document(probe: string, query: HistoryQuery): HistoryDocument | null
  view(probe: string, count: number): HistoryView | null
}

const API = /^\/api\/probes\/([^/]+)\/history$/
const DETAIL = /^\/probes\/([^/]+)$/
/** Runs the detail page charts and lists. */
export const DETAIL_RUNS = 120

/** The reply for a history route, or null when the path is none of them. */
export function historyRoute(
  url: URL,
  access: HistoryAccess | undefined,
  probes: () => readonly ProbeStatus[],
  now: Date,
): Reply | null {
  const api = API.exec(url.pathname)
  if (api) {
    const name = probeName(api[1]!)
    const parsed = parseHistoryQuery(url.searchParams)
    if (!parsed.ok) return json(400, { version: 1, error: parsed.reason })
    const document = name === null ? null : (access?.document(name, parsed.query) ?? null)
    return document ? json(200, document) : json(404, { version: 1, error: 'no such probe' })
  }
  const detail = DETAIL.exec(url.pathname)
  if (detail) {
    const name = probeName(detail[1]!)
    const status = probes().find((p) => p.name === name)
    const view = name === null ? null : (access?.view(name, DETAIL_RUNS) ?? null)
    if (!status || !view) return { status: 404, type: 'text/plain; charset=utf-8', body: 'no such probe\n' }
    return {
      status: 200,
      type: 'text/html; charset=utf-8',
      body: renderDetailPage(status, view, { now }),
      headers: { 'content-security-policy': PAGE_CSP },
    }
  }
  return null
}

function probeName(segment: string): string | null {
  try {
    return decodeURIComponent(segment)
  } catch {
    return null
  }
}

