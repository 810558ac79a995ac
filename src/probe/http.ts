import type { Readable } from 'node:stream'
import { Agent } from './undici.ts'
import type { Probe } from '../config/probe-schema.ts'
import { type ConnectionWatch, sharedConnector, timedConnector } from './connections.ts'

/**
 * The run's own agent: a cold start like a new user (fresh DNS, TCP and TLS),
 * HTTP/1.1 so timings compare across runs, and the probe's body cap as a
 * backstop that stops the parser itself. Destroyed when the run ends.
 */
export function createRunAgent(probe: Probe, watch: ConnectionWatch): Agent {
  return new Agent({
    allowH2: false,
    // Steps run one after another, so one connection per origin is all a run uses; with 1 the agent
    // makes a plain Client instead of a Pool, whose queues alone cost 16 KB per run.
    connections: 1,
    maxResponseSize: probe.maxBodySize,
    connect: timedConnector(sharedConnector(probe), watch),
  })
}

export interface BodyRead {
  readonly bytes: number
  /** The body, when it was kept. */
  readonly data: Buffer | null
  /** The first HEAD_BYTES of the body, always kept: a failed step's evidence is cut from it. */
  readonly head: Buffer
  readonly tooLarge: boolean
  /** What broke the stream (reset, timeout, abort), if something did. */
  readonly error?: unknown
}

const noop = (): void => {}

/**
 * How much of every body is kept for a failure's excerpt: the excerpt is its
 * first 512 bytes, but they are cut only after masking, so a secret (at most
 * 64 KiB) that starts inside them must be kept whole to be masked whole.
 */
export const HEAD_BYTES = 512 + 64 * 1024 + 512

/**
 * Reads a response body, counting bytes as they stream in and giving up as
 * soon as the cap is passed, so a huge body never sits in memory. Only a
 * body someone will read is kept; the rest are counted and dropped.
 * Event listeners rather than `for await`: the async iterator costs a few
 * promises and objects per chunk, on every step of every run.
 */
export function readBody(body: Readable, cap: number, keep: boolean, contentLength: number): Promise<BodyRead> {
  if (contentLength > cap) {
    discard(body)
    return Promise.resolve({ bytes: 0, data: null, head: Buffer.alloc(0), tooLarge: true })
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const headChunks: Buffer[] = []
    let headBytes = 0
    let bytes = 0
    const head = () => Buffer.concat(headChunks, headBytes)
    const settle = (read: BodyRead) => {
      body.off('data', onData)
      body.off('end', onEnd)
      body.off('error', onError)
      body.off('close', onClose)
      resolve(read)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (headBytes < HEAD_BYTES) {
        const part = chunk.length <= HEAD_BYTES - headBytes ? chunk : chunk.subarray(0, HEAD_BYTES - headBytes)
        headChunks.push(part)
        headBytes += part.length
      }
      if (bytes > cap) {
        settle({ bytes, data: null, head: head(), tooLarge: true })
        discard(body)
      } else if (keep) chunks.push(chunk)
    }
    const onEnd = () => {
      if (!keep) return settle({ bytes, data: null, head: head(), tooLarge: false })
      settle({ bytes, data: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes), head: head(), tooLarge: false })
    }
    const onError = (error: unknown) => settle({ bytes, data: null, head: head(), tooLarge: false, error })
    // Destroyed without an error before its end: what `for await` reports as a premature close.
    const onClose = () => onError(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))
    body.on('data', onData)
    body.on('end', onEnd)
    body.on('error', onError)
    body.on('close', onClose)
  })
}

/**
 * Drops a body without reading it. undici's body emits an abort error when
 * destroyed early; with no listener that would be an uncaught exception.
 */
export function discard(body: Readable): void {
  body.on('error', noop)
  body.destroy()
}

/**
 * Settles with the promise, or rejects with the signal's reason as soon as it
 * aborts. undici only notes an abort while a request waits for its
 * connection, so a hung DNS lookup, TCP connect or TLS handshake would
 * otherwise outlive the deadline by the connect timeout. The abandoned
 * request fails later (at the latest when the run's agent is destroyed);
 * its rejection is swallowed here.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/** The Content-Length header as a number; -1 when absent or unreadable. */
export function contentLength(headers: Record<string, string | string[] | undefined>): number {
  const value = headers['content-length']
  if (typeof value !== 'string') return -1
  const length = Number(value)
  return Number.isFinite(length) ? length : -1
}
