import type { IncomingHttpHeaders } from 'node:http'
import type { SecretMask } from '../config/secrets.ts'
import type { SeenResponse } from './exchange.ts'
import type { RenderedRequest } from './request.ts'
import type { Failure } from './result.ts'

/** A failure's excerpt is the first this many bytes of the body, as text (README "A first run"). */
export const EXCERPT_BYTES = 512

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

const TEXT_TYPE = /^(?:text\/|application\/(?:[\w.-]+\+)?(?:json|xml|javascript|x-www-form-urlencoded|yaml|x-yaml|graphql)\b)|\+(?:json|xml)\b/i

/** The evidence of a response, masked: status, content-type, and the body's first 512 bytes as text. */
export function responseEvidence(
  response: SeenResponse,
  secrets: SecretMask,
): Pick<Failure, 'status' | 'contentType' | 'bodyExcerpt'> {
  const contentType = headerText(response.headers, 'content-type')
  const out: { status: number; contentType?: string; bodyExcerpt?: string } = { status: response.status }
  if (contentType !== undefined) out.contentType = secrets.mask(contentType)
  if (response.bytes > 0) out.bodyExcerpt = bodyExcerpt(response.head, response.bytes, contentType, secrets)
  return out
}

/**
 * The body's first 512 bytes as text, masked before the cut (a cut first could
 * leave a secret's prefix); a binary body is summarised as `<N bytes of TYPE>`.
 */
export function bodyExcerpt(head: Buffer, bytes: number, contentType: string | undefined, secrets: SecretMask): string {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() || 'unknown type'
  const declaredText = contentType === undefined || TEXT_TYPE.test(contentType)
  if (!declaredText || head.includes(0)) return `<${bytes} bytes of ${secrets.mask(type)}>`
  // A target's bytes reach terminals and pages: control characters (an ANSI escape) are shown, not obeyed.
  const masked = secrets.mask(head.toString('utf8')).replace(/\r\n/g, '\n').replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  const encoded = Buffer.from(masked, 'utf8')
  if (encoded.length <= EXCERPT_BYTES && head.length === bytes) return masked
  // Cut at a character boundary: back off over UTF-8 continuation bytes.
  let end = Math.min(EXCERPT_BYTES, encoded.length)
  while (end > 0 && end < encoded.length && ((encoded[end] ?? 0) & 0xc0) === 0x80) end--
  return `${encoded.subarray(0, end).toString('utf8')}…`
}

function headerText(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * A `curl` command that repeats the request, quoted for a POSIX shell, with
 * every secret as `"$NAME"` (README "A first run").
 */
export function reproduceCommand(request: RenderedRequest, secrets: SecretMask): string {
  const q = (text: string) => secrets.shellQuote(text)
  const parts = ['curl', '-sS', '-X', q(request.method)]
  for (const [name, value] of Object.entries(request.headers)) parts.push('-H', q(`${name}: ${value}`))
  if (request.body !== undefined) parts.push('--data-binary', q(request.body))
  // The URL is an http(s) URL (validated at load), never mistaken for an option.
  parts.push(q(request.url))
  return parts.join(' ')
}
