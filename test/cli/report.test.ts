import { describe, expect, test } from 'vitest'
import { formatReport, formatTimings, jsonReport } from '../../src/cli/report.ts'
import { COLOR, PLAIN, styleFor } from '../../src/cli/style.ts'
import { abortedRun, failedRun, passedRun } from '../support/run-results.ts'
import { Capture } from './helpers.ts'

describe('the run --once report', () => {
  test('shows each probe’s verdict, each step with its request, status and timings, and why a step failed or was skipped', () => {
    const text = formatReport(
      [
        { result: passedRun, file: 'probes/items.yaml' },
        { result: failedRun, file: 'probes/orders.yaml' },
      ],
      PLAIN,
      5_100,
    )
    expect(text).toBe(
      [
        'PASS items-crud (probes/items.yaml)  182 ms',
        '  ✓ create  POST http://127.0.0.1:8080/items  → 201  48 B  41 ms  (dns 1 ms, connect 2 ms, first byte 30 ms, transfer 1 ms)',
        '  ✓ delete  DELETE http://127.0.0.1:8080/items/7  → 204  0 B  9 ms  (first byte 8 ms, transfer 0 ms) [cleanup]',
        'FAIL orders (probes/orders.yaml)  5.01 s',
        '  ✗ read    GET https://***/orders/1  → 500  2.0 KiB  120 ms  (dns 3 ms, connect 10 ms, tls 25 ms, first byte 80 ms, transfer 2 ms)',
        '      read: expected status 200, got 500',
        '  - update  skipped: an earlier step failed',
        '  - delete  skipped: {{ orderId }} was never captured [cleanup]',
        '',
        '1 passed, 1 failed of 2 probes in 5.10 s',
        '',
      ].join('\n'),
    )
  })

  test('an aborted run is neither passed nor failed, and is counted apart', () => {
    const text = formatReport([{ result: abortedRun }], PLAIN, 10)
    expect(text).toContain('ABORTED slow  182 ms')
    expect(text).toContain('  - create  skipped: the run was aborted by shutdown')
    expect(text).toContain('0 passed, 0 failed, 1 aborted of 1 probe in 10 ms')
  })

  test('a step sent more than once shows its attempts, passed or failed; --json carries them', () => {
    const [first, ...rest] = passedRun.steps
    const retried = { ...passedRun, steps: [{ ...first!, attempts: 3 }, ...rest] }
    const text = formatReport([{ result: retried }], PLAIN, 200)
    expect(text).toContain('  ✓ create  POST http://127.0.0.1:8080/items  → 201  48 B  41 ms  (3 attempts)  (dns 1 ms')
    expect(text).not.toMatch(/delete .*attempts/)
    expect(JSON.parse(JSON.stringify(jsonReport([retried], new Date(0)))).results[0].steps[0].attempts).toBe(3)
  })

  test('colours only with the colour style', () => {
    expect(formatReport([{ result: failedRun }], PLAIN, 1)).not.toContain('\u001b[')
    const coloured = formatReport([{ result: failedRun }], COLOR, 1)
    expect(coloured).toContain('\u001b[31mFAIL\u001b[39m')
    expect(coloured).toContain('\u001b[31mread: expected status 200, got 500\u001b[39m')
  })

  test('colour needs a terminal and no NO_COLOR', () => {
    expect(styleFor(new Capture(true), {})).toBe(COLOR)
    expect(styleFor(new Capture(true), { NO_COLOR: '1' })).toBe(PLAIN)
    expect(styleFor(new Capture(true), { NO_COLOR: '' })).toBe(COLOR)
    expect(styleFor(new Capture(false), {})).toBe(PLAIN)
  })

  test('phases that did not happen are left out', () => {
    expect(formatTimings({})).toBe('')
    expect(formatTimings({ firstByteMs: 1500 })).toBe('(first byte 1.50 s)')
  })
})

describe('the --json document', () => {
  test('is versioned and counts passed and not passed runs', () => {
    const document = jsonReport([passedRun, failedRun, abortedRun], new Date('2026-01-01T00:00:05Z'))
    expect(document).toEqual({
      version: 1,
      generatedAt: '2026-01-01T00:00:05.000Z',
      passed: 1,
      failed: 2,
      results: [passedRun, failedRun, abortedRun],
    })
  })
})
