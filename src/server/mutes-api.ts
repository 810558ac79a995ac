/**
 * `/api/mutes` (README "Fewer false pages"): `POST` adds an ad-hoc mute,
 * `GET` lists the live ones, `DELETE /api/mutes/<id>` ends one early. Every
 * request needs `Authorization: Bearer <api.token>`; without a configured
 * token the endpoints do not exist (404). A refused request changes nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import * as z from 'zod'
import { parseDuration } from '../config/duration.ts'
import { json, type Reply } from './reply.ts'
import { MAX_MUTE_MS, MAX_REASON_CHARS, type Mute, type MuteStore } from '../judge/mute-store.ts'

/** The largest request body read: a mute is a few names and a line of text. */
export const MAX_BODY_BYTES = 16 * 1024
/** Probes one mute may name. */
export const MAX_MUTE_PROBES = 100
export const MUTES_API_VERSION = 1

export interface MutesApi {
  /** `api.token` of the current configuration, or null: then every path here is 404. */
  readonly token: () => string | null
  readonly store: MuteStore
  /** Every probe of the configuration (all shards: a pipeline mutes by name on every replica). */
  readonly probes: () => ReadonlySet<string>
}


const MuteRequest = z.strictObject({
  probes: z.union([
    z
      .string()
      .min(1)
      .transform((name) => [name]),
    z.array(z.string().min(1)).min(1).max(MAX_MUTE_PROBES),
  ]),
  duration: z.string(),
  reason: z.string().trim().min(1, 'reason is empty: say why (it is logged)').max(MAX_REASON_CHARS),
})

/** Whether `path` is this API's; then `handleMutes` answers it. */
export function isMutesPath(path: string): boolean {
  return path === '/api/mutes' || path.startsWith('/api/mutes/')
}

export async function handleMutes(req: IncomingMessage, path: string, api: MutesApi): Promise<Reply> {
  const token = api.token()
  if (token === null) return { status: 404, type: 'text/plain; charset=utf-8', body: 'not found\n' }
  if (!authorized(req.headers.authorization, token)) {
    // The body is left unread: nothing of an unauthenticated request is looked at.
    return { ...json(401, { error: 'missing or wrong bearer token' }), headers: { 'www-authenticate': 'Bearer' } }
  }
  if (path === '/api/mutes') {
    if (req.method === 'GET' || req.method === 'HEAD') return json(200, { version: MUTES_API_VERSION, mutes: api.store.list() })
    if (req.method === 'POST') return add(req, api)
    return { ...json(405, { error: 'method not allowed' }), headers: { allow: 'GET, HEAD, POST' } }
  }
  const id = decodeURIComponent(path.slice('/api/mutes/'.length))
  if (req.method !== 'DELETE') return { ...json(405, { error: 'method not allowed' }), headers: { allow: 'DELETE' } }
  if (!(await api.store.remove(id))) return json(404, { error: `no live mute with id ${JSON.stringify(id)}` })
  return json(200, { version: MUTES_API_VERSION, deleted: id })
}

async function add(req: IncomingMessage, api: MutesApi): Promise<Reply> {
  const body = await readBody(req, MAX_BODY_BYTES)
  if (body === null) return json(413, { error: `request body larger than ${MAX_BODY_BYTES} bytes` })
  let raw: unknown
  try {
    raw = JSON.parse(body)
  } catch {
    return json(400, { error: 'the body is not JSON: expected { "probes": [...], "duration": "30m", "reason": "..." }' })
  }
  const parsed = MuteRequest.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return json(400, { error: `${issue?.path.join('.') || 'body'}: ${issue?.message}` })
  }
  const request = parsed.data
  const ms = parseDuration(request.duration)
  if (ms === undefined || ms <= 0)
    return json(400, { error: `duration: expected a duration such as 30m or 2h, got ${JSON.stringify(request.duration)}` })
  if (ms > MAX_MUTE_MS)
    return json(400, {
      error: `duration: ${request.duration} is longer than the cap of ${MAX_MUTE_MS / 3_600_000}h (a longer silence is a maintenance window in the alerting file)`,
    })
  const known = api.probes()
  const unknown = request.probes.filter((name) => !known.has(name))
  if (unknown.length > 0) return json(400, { error: `probes: unknown probe ${unknown.map((n) => JSON.stringify(n)).join(', ')}` })
  const added: Mute | { error: string } = await api.store.add({ probes: request.probes, durationMs: ms, reason: request.reason })
  if ('error' in added) return json(503, { error: added.error })
  return json(201, { version: MUTES_API_VERSION, mute: added })
}

/**
 * Constant time in the token's content: both sides are hashed to equal-length
 * digests first, since `timingSafeEqual` needs equal lengths and comparing
 * lengths would itself leak the token's.
 */
export function authorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '')
  const given = createHash('sha256')
    .update(match?.[1] ?? '')
    .digest()
  const expected = createHash('sha256').update(token).digest()
  return timingSafeEqual(given, expected) && match !== null
}

/** The body as text, or null once it grows past `limit` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(null)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.resume()
        resolve(null)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

