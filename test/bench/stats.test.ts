import { describe, expect, test } from 'vitest'
import {
  cpuFromProcStat,
  fixed,
  histogramAt,
  markdownTable,
  median,
  parsePrometheus,
  percentile,
  ratio,
  statusMiB,
  sumOf,
} from '../../bench/stats.ts'

describe('bench statistics and parsing', () => {
  test('median and nearest-rank percentiles', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([4, 1, 3, 2])).toBe(2)
    expect(Number.isNaN(median([]))).toBe(true)
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(hundred, 99)).toBe(99)
    expect(percentile(hundred, 50)).toBe(50)
    expect(percentile(hundred, 100)).toBe(100)
    expect(percentile([7], 0)).toBe(7)
  })

  test('/proc/<pid>/stat: user + system ticks, even with spaces and parentheses in the command name', () => {
    const fields = ['S', '1', '2', '3', '0', '-1', '4194560', '100', '0', '0', '0', '250', '50', '0', '0', '20', '0', '1']
    expect(cpuFromProcStat(`1234 (node (my) app) ${fields.join(' ')}`)).toBe(3)
    expect(cpuFromProcStat(`1234 (x) ${fields.join(' ')}`, 1000)).toBe(0.3)
    expect(() => cpuFromProcStat('garbage')).toThrow(/unreadable/)
  })

  test('/proc/<pid>/status fields in MiB', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n'
    expect(statusMiB(status, 'VmHWM')).toBe(200)
    expect(statusMiB(status, 'VmRSS')).toBe(100)
    expect(Number.isNaN(statusMiB(status, 'VmSwap'))).toBe(true)
  })

  test('Prometheus text: samples, sums over label sets, histogram buckets', () => {
    const text = [
      '# HELP probe_runs_total Finished runs.',
      '# TYPE probe_runs_total counter',
      'probe_runs_total{probe="a",result="success"} 3',
      'probe_runs_total{probe="b",result="failure"} 2',
      'lat_bucket{le="1",location="x"} 4',
      'lat_bucket{le="+Inf",location="x"} 5',
      'lat_bucket{le="1",location="y"} 1',
      'lat_count{location="x"} 5',
      'lat_count{location="y"} 1',
      'weird{msg="a \\"quoted\\" value"} +Inf',
    ].join('\n')
    const samples = parsePrometheus(text)
    expect(samples).toHaveLength(8)
    expect(samples[0]).toEqual({ name: 'probe_runs_total', labels: { probe: 'a', result: 'success' }, value: 3 })
    expect(sumOf(samples, 'probe_runs_total')).toBe(5)
    expect(histogramAt(samples, 'lat', '1')).toEqual({ below: 5, count: 6 })
    expect(samples.at(-1)?.value).toBe(Number.POSITIVE_INFINITY)
    expect(samples.at(-1)?.labels.msg).toBe('a \\"quoted\\" value')
  })

  test('Markdown table and number formatting', () => {
    expect(markdownTable(['a', 'b'], [['1', '2']])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |')
    expect(fixed(1.23456, 2)).toBe('1.23')
    expect(fixed(Number.NaN, 2)).toBe('n/a')
    expect(ratio(3, 2)).toBe('1.50×')
    expect(ratio(1, 0)).toBe('n/a')
  })
})
