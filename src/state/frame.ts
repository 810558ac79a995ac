/**
 * The framing of an append-only log: one record per line, its crc32 in
 * front (`<8 hex digits> <json>\n`). The newline makes a torn write (a crash
 * or a full disk mid-append) visible as a last line without one, and the
 * checksum catches a line that was cut, merged or flipped, so one bad record
 * is dropped on load while the records after it still count.
 */
import { crc32 } from 'node:zlib'

const NEWLINE = 0x0a

export function encodeLine(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8')
  return Buffer.concat([Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} `), json, Buffer.from('\n')])
}

export type Line = { ok: true; value: unknown } | { ok: false; problem: string }

/**
 * The complete lines of `bytes`, and the length of the part that ends with a
 * newline: what follows it is a torn tail, never a record.
 */
export function splitLines(bytes: Buffer): { lines: Line[]; complete: number } {
  const lines: Line[] = []
  let start = 0
  for (let end = bytes.indexOf(NEWLINE, start); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
    lines.push(decodeLine(bytes.subarray(start, end)))
    start = end + 1
  }
  return { lines, complete: start }
}

function decodeLine(line: Buffer): Line {
  const match = /^([0-9a-f]{8}) $/.exec(line.subarray(0, 9).toString('latin1'))
  if (!match) return { ok: false, problem: 'no checksum' }
  const json = line.subarray(9)
  if (crc32(json) !== Number.parseInt(match[1]!, 16)) return { ok: false, problem: 'checksum mismatch' }
  try {
    return { ok: true, value: JSON.parse(json.toString('utf8')) }
  } catch {
    return { ok: false, problem: 'not JSON' }
  }
}
