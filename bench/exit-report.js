// Preloaded with `node --import bench/exit-report.js …`: when the process
// exits, writes its own user + system CPU and peak RSS (getrusage, every
// thread) to the file named by BENCH_CPU_REPORT. Reading /proc of a child
// that has exited is impossible; this is the exit-time equivalent. Plain JS:
// a TypeScript preload would load Node's type stripper into every measured
// process, before the bin's compile cache could spare it.
import { writeFileSync } from 'node:fs'

const file = process.env.BENCH_CPU_REPORT
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage()
    const report = { cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, maxRssMiB: usage.maxRSS / 1024 }
    writeFileSync(file, JSON.stringify(report))
  })
}
