import { describe, expect, test } from 'vitest'
import { replaceSection } from '../../bench/footprint-report.ts'

/** `npm run bench -- --only footprint` rewrites its own section of BENCHMARKS.md and keeps every other one. */
describe('replacing the footprint section', () => {
  const section = '## Footprint: memory\n\nnew'
  test('an existing section is replaced up to the next section, the rest kept', () => {
    const text = '# B\n\n## CPU\n\nx\n\n## Footprint: memory\n\nold\n\n### Daemon\n\nold table\n\n## Method\n\nm\n\n## The image (written by hand)\n\nh\n'
    expect(replaceSection(text, section)).toBe('# B\n\n## CPU\n\nx\n\n## Footprint: memory\n\nnew\n\n## Method\n\nm\n\n## The image (written by hand)\n\nh\n')
  })
  test('a section at the end is replaced to the end', () => {
    expect(replaceSection('# B\n\n## Footprint\n\nold\n', section)).toBe(`# B\n\n${section}\n`)
  })
  test('without one, it goes before the method', () => {
    expect(replaceSection('# B\n\n## CPU\n\nx\n\n## Method\n\nm\n', section)).toBe(`# B\n\n## CPU\n\nx\n\n${section}\n\n## Method\n\nm\n`)
  })
  test('without a method either, at the end', () => {
    expect(replaceSection('# B\n', section)).toBe(`# B\n\n${section}\n`)
  })
})
