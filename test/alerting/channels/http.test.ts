import { describe, expect, it } from 'vitest'
import { classifyResponse, parseRetryAfter } from '../../../src/alerting/channels/http.ts'

const NOW = Date.parse('2026-01-01T10:00:00.000Z')
const same = (text: string) => text

describe('parseRetryAfter', () => {
  it.each<[string, number | undefined]>([
    ['120', 120_000],
    [' 0 ', 0],
    ['Thu, 01 Jan 2026 10:00:30 GMT', 30_000],
    ['Thu, 01 Jan 2026 09:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
  ])('%j → %s', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected)
  })
})

describe('classifyResponse', () => {
  it.each<[number, boolean | 'ok']>([
    [200, 'ok'],
    [202, 'ok'],
    [204, 'ok'],
    [302, false],
    [400, false],
    [404, false],
    [408, true],
    [413, false],
    [429, true],
    [500, true],
    [504, true],
  ])('HTTP %i → %s', (status, expected) => {
    const result = classifyResponse(status, null, '', same)
    expect(result.ok ? 'ok' : result.retryable).toBe(expected)
  })

  it('an unparseable Retry-After is ignored rather than guessed', () => {
    expect(classifyResponse(429, 'later', '', same)).toEqual({ ok: false, retryable: true, reason: 'HTTP 429' })
  })
})

describe('Retry-After bound', () => {
  it('a Retry-After longer than a minute is honoured for a minute only', () => {
    expect(classifyResponse(503, '99999999', '', same)).toEqual({ ok: false, retryable: true, reason: 'HTTP 503', retryAfterMs: 60_000 })
    expect(classifyResponse(429, '30', '', same)).toEqual({ ok: false, retryable: true, reason: 'HTTP 429', retryAfterMs: 30_000 })
  })
})
