import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { formatDiagnostic, loadConfig } from '../../src/loader/load.ts'
import { TEST_ENV } from './env.ts'

/**
 * One bad file per rule, next to its exact expected message(s) in
 * `<rule>.expected` (blackbox_exporter's testdata + TestLoadBadConfigs).
 * `alerting-*.yaml` fixtures are alerting files, loaded with a valid probe;
 * the others are probe files (or folders), loaded with a valid alerting file.
 * `UPDATE_GOLDEN=1 npx vitest run test/config/golden.test.ts` rewrites the
 * .expected files; review the diff before committing it.
 */
const DIR = 'test/fixtures/invalid'
const VALID_PROBE = 'test/fixtures/valid/health.yml'
const VALID_ALERTING = 'test/fixtures/alerting/basic.yaml'

const fixtures = readdirSync(DIR)
  .filter((name) => name.endsWith('.yaml') || statSync(path.join(DIR, name)).isDirectory())
  .map((name) => name.replace(/\.yaml$/, ''))
  .sort()

describe('invalid configuration fixtures', () => {
  test('cover every rule the brief lists', () => {
    const rules = ['unknown-field', 'bad-status', 'bad-duration', 'timeout-not-below-interval', 'duplicate-name', 'missing-env']
    rules.push('bad-regex', 'bad-jsonpath', 'unknown-template-variable', 'json-and-body', 'interval-and-schedule', 'bad-cron')
    rules.push('unknown-channel', 'alerting-unknown-channel-type', 'bad-label', 'empty-steps', 'yaml-syntax', 'empty-folder')
    expect(fixtures).toEqual(expect.arrayContaining(rules))
  })

  test.each(fixtures)('%s', async (rule) => {
    const fixture = path.join(DIR, statSync(path.join(DIR, rule), { throwIfNoEntry: false })?.isDirectory() ? rule : `${rule}.yaml`)
    const isAlerting = rule.startsWith('alerting-')
    const result = await loadConfig({
      probePaths: [isAlerting ? VALID_PROBE : fixture],
      alertingPath: isAlerting ? fixture : VALID_ALERTING,
      env: TEST_ENV,
    })
    expect(result.ok).toBe(false)
    const actual = result.ok ? '' : result.diagnostics.map(formatDiagnostic).join('\n') + '\n'
    const expectedFile = path.join(DIR, `${rule}.expected`)
    if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, actual)
    expect(actual).toBe(readFileSync(expectedFile, 'utf8'))
    for (const secret of Object.values(TEST_ENV)) expect(actual).not.toContain(secret)
  })
})
