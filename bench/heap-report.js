// Preloaded into a benchmarked daemon (`node --import bench/heap-report.js
// bin/probe.js run …`): on SIGUSR2 it runs two full garbage collections and
// writes the live heap (what survives them) and the RSS before and after to
// the file named by BENCH_HEAP_REPORT. Nothing happens until the signal, so
// the measured window runs as it would without it. Plain JS for the reason
// given in exit-report.js.
import { writeFileSync } from 'node:fs'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const file = process.env.BENCH_HEAP_REPORT
if (file) {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc')
  process.on('SIGUSR2', () => {
    const before = process.memoryUsage()
    gc()
    gc()
    const after = process.memoryUsage()
    const live = getHeapStatistics().used_heap_size
    const mib = (bytes) => bytes / 2 ** 20
    const report = { heapUsedMiB: mib(before.heapUsed), liveHeapMiB: mib(live), rssBeforeMiB: mib(before.rss), rssAfterMiB: mib(after.rss) }
    writeFileSync(file, JSON.stringify(report))
  })
}
