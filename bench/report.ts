/**
 * BENCHMARKS.md from one run's results: the goals with their verdicts, a
 * table per measurement, and the method behind each number.
 */
import { cpus } from 'node:os'
import type { CapacityRow } from './capacity.ts'
import type { BenchResults } from './results.ts'
import { perRequest } from './cpu.ts'
import { renderFootprint } from './footprint-report.ts'
import { fixed, markdownTable, ratio } from './stats.ts'

const RSS_LIMIT_MIB = 200e6 / 2 ** 20

export function renderReport(r: BenchResults): string {
  return [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (${r.plan.quick ? 'quick' : 'full'} run) on ${r.startedAt.toISOString().slice(0, 10)}; do not edit by hand.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.versions.node}, loopback, no TLS. The run took ${Math.round(r.seconds)} s.`,
    'Every figure of a table comes from this one run, so ratios compare like with like.',
    '',
    '## Goals',
    '',
    goals(r),
    '',
    bounds(r),
    '',
    '## CPU per HTTP request',
    '',
    cpuTable(r),
    '',
    blackboxTable(r),
    '',
    '## Daemon capacity (3-step CRUD probes every 5 s)',
    '',
    capacityTable(r),
    '',
    '## Timing accuracy',
    '',
    accuracyTable(r),
    '',
    '## Loading probe files',
    '',
    markdownTable(
      ['files', 'loadConfig, fresh process (ms)', 'its CPU (ms)', '`probe validate`, wall time with Node startup (ms)'],
      [[String(r.load.files), fixed(r.load.loadConfigMs, 0), fixed(r.load.loadConfigCpuMs, 0), fixed(r.load.validateWallMs, 0)]],
    ),
    '',
    renderFootprint(r.footprint, r.load, r.startedAt),
    '',
    METHOD,
  ].join('\n')
}

/** Why a goal is missed, with this run's numbers: what the miss is made of, not an excuse. */
function bounds(r: BenchResults): string {
  const notes: string[] = []
  const big = r.cpu.rows.at(-1)
  if (big) {
    const per = perRequest(big, r.cpu.startup)
    if (per.runsOnly > 1.2 * per.floor) {
      notes.push(
        `- **CPU per request** (${ratio(per.runsOnly, per.floor)} of the floor): both are mostly kernel work on loopback (connect, write, close); a run opens one connection where the keep-alive-off floor opens three, and the floor that also keeps one connection per run costs ${fixed(per.floorPerRun, 3)} ms/req. The rest is undici's request and body streams, the probe's own checks (templates, JSONPath, expectations, masking), and the JSON report that run --once writes. Loading the probe files is extra in run --once (net of startup, ${ratio(per.netOfStartup, per.floor)}): YAML parsing and schema validation of one file per 3 requests.`,
      )
    }
  }
  if (big && big.engineLoop > 1.2 * big.floorLoop) {
    const miss = big.engineLoop / big.floorLoop - 1.2
    const width = Math.max(...big.loopRatios) - Math.min(...big.loopRatios)
    const noise = width >= miss ? ' Between repeats of this run the ratio moved by more than the miss.' : ''
    notes.push(
      `- **Request path** (engine loop ${ratio(big.engineLoop, big.floorLoop)} of the floor loop; per repeat ${spread(big.loopRatios)}): what smokeprobe does per request beyond the floor is undici's request and body streams, the run's abort signals, and the probe's checks (templates, JSONPath, expectations, captures, masking); the kernel's part (connect, write, close on loopback) is common to both and is most of either.${noise}`,
    )
  }
  const at1000 = r.capacity.find((c) => c.probes === 1_000 && c.nodeOptions === '')
  const small = r.capacity.find((c) => c.nodeOptions === '' && c.probes < 1_000)
  if (at1000 && at1000.peakRssMiB > RSS_LIMIT_MIB) {
    notes.push(
      `- **RSS** (${fixed(at1000.peakRssMiB, 0)} MiB at 1,000 probes with the default heap${small ? `; ${fixed(small.peakRssMiB, 0)} MiB already at ${small.probes} probes` : ''}): Node 24 with type stripping and smokeprobe's modules takes ~115 MiB before any probe is loaded. Each run opens and closes a connection, and what a closed socket's native handle still reaches (the run's undici client, parser, request and headers) survives young-generation collections, so it is promoted and the old generation grows until a full collection. A smaller young generation trims the peak; capping the old generation reaches the limit at a CPU cost, and the cap is a hard limit that must grow with the number of probes (the live heap is ~47 MB at 1,000 probes). In a container, Node sizes its heap from the memory limit.`,
    )
  }
  const ten = r.accuracy.find((a) => a.inFlight <= 10)
  if (ten && ten.engine.p99 > 5) {
    const cause =
      ten.floor.p99 > 5
        ? 'the floor client misses 5 ms as well, so the bound is the machine — the target’s own timers and the two cores that target, client and bench share — not the prober'
        : 'the floor meets it, so the excess is the prober’s own work between the bytes and its clock'
    notes.push(
      `- **Timing error at ${ten.inFlight} in flight** (${fixed(ten.engine.p99, 2)} ms p99, floor ${fixed(ten.floor.p99, 2)} ms): ${cause}.`,
    )
  }
  for (const a of r.accuracy) {
    if (a.engine.p99 > a.floor.p99) {
      notes.push(
        `- **Timing error at ${a.inFlight} in flight** is above the floor's (${fixed(a.engine.p99, 2)} vs ${fixed(a.floor.p99, 2)} ms p99).`,
      )
    }
  }
  if (notes.length === 0) return 'Every goal is met in this run.'
  return ['What bounds the goals not met:', '', ...notes].join('\n')
}

function verdict(ok: boolean): string {
  return ok ? 'met' : '**not met**'
}

function goals(r: BenchResults): string {
  const rows: string[][] = []
  const big = r.cpu.rows.at(-1)
  if (big) {
    const per = perRequest(big, r.cpu.startup)
    rows.push([
      `CPU per request of \`run --once\` (${big.requests} requests, runs only) vs floor`,
      '≤ 1.20×',
      `${ratio(per.runsOnly, per.floor)} (${fixed(per.runsOnly, 3)} vs ${fixed(per.floor, 3)} ms)`,
      verdict(per.runsOnly <= 1.2 * per.floor),
    ])
    rows.push([
      `the same, request path only: engine loop vs floor loop (${big.requests} requests, in-process CPU, warmed up)`,
      '≤ 1.20×',
      `${ratio(big.engineLoop, big.floorLoop)} (${fixed(big.engineLoop, 3)} vs ${fixed(big.floorLoop, 3)} ms)`,
      verdict(big.engineLoop <= 1.2 * big.floorLoop),
    ])
    const bb = r.blackbox.at(-1)
    if (bb?.ok) {
      const exporter = (bb.cpuSeconds * 1000) / bb.probes
      rows.push([
        'CPU per request of `run --once` vs blackbox_exporter per probe',
        'well under 1×',
        `${ratio(per.runsOnly, exporter)} (${fixed(per.runsOnly, 3)} vs ${fixed(exporter, 3)} ms)`,
        verdict(per.runsOnly < 0.8 * exporter),
      ])
    } else rows.push(['CPU vs blackbox_exporter', 'well under 1×', bb && !bb.ok ? bb.note : 'not measured', 'n/a'])
  }
  const plain = r.capacity.filter((c) => c.nodeOptions === '')
  const kept = plain.filter((c) => c.onTime >= 0.99).map((c) => c.probes)
  const largest = kept.length > 0 ? Math.max(...kept) : 0
  rows.push([
    'daemon capacity, ≥ 99% of runs within 1 s of their slot',
    '≥ 1,000 probes',
    `${largest} probes kept (steps: ${plain.map((c) => `${c.probes}: ${fixed(c.onTime * 100, 1)}%`).join(', ')})`,
    verdict(largest >= 1_000),
  ])
  const at1000 = plain.find((c) => c.probes === 1_000)
  if (at1000)
    rows.push(
      rssGoal(
        at1000,
        r.capacity.filter((c) => c.probes === 1_000 && c.nodeOptions !== ''),
      ),
    )
  if (at1000) {
    rows.push([
      '`/metrics` scrape at 1,000 probes (median)',
      '≤ 100 ms',
      `${fixed(at1000.scrape.medianMs, 1)} ms, ${fixed(at1000.scrape.bytes / 1024, 0)} KiB`,
      verdict(at1000.scrape.medianMs <= 100),
    ])
  }
  for (const a of r.accuracy) {
    const bound = a.inFlight <= 10 ? ' and ≤ 5 ms' : ''
    rows.push([
      `timing error p99 at ${a.inFlight} in flight`,
      `≤ floor's${bound}`,
      `${fixed(a.engine.p99, 2)} ms (floor ${fixed(a.floor.p99, 2)} ms)`,
      verdict(a.engine.p99 <= a.floor.p99 && (a.inFlight > 10 || a.engine.p99 <= 5)),
    ])
  }
  rows.push([
    `load and validate ${r.load.files} probe files`,
    '≤ 1 s',
    `${fixed(r.load.loadConfigMs, 0)} ms (CPU ${fixed(r.load.loadConfigCpuMs, 0)} ms)`,
    verdict(r.load.loadConfigMs <= 1_000),
  ])
  return markdownTable(['goal', 'target', 'measured', 'verdict'], rows)
}

/** Met by the default heap, or only with a variant (said so, with its CPU cost), or not at all. */
function rssGoal(plain: CapacityRow, variants: readonly CapacityRow[]): string[] {
  const measured = [plain, ...variants]
    .map((c) => `${c.nodeOptions || 'default heap'}: ${fixed(c.peakRssMiB, 0)} MiB, ${fixed(c.cpuPerRunMs, 2)} ms CPU/run`)
    .join('; ')
  const fitting = variants.find((c) => c.peakRssMiB <= RSS_LIMIT_MIB)
  let result = verdict(plain.peakRssMiB <= RSS_LIMIT_MIB)
  if (plain.peakRssMiB > RSS_LIMIT_MIB && fitting) result = `met only with NODE_OPTIONS=${fitting.nodeOptions}`
  return ['peak RSS of the daemon at 1,000 probes', '≤ 200 MB (190.7 MiB)', measured, result]
}

function cpuTable(r: BenchResults): string {
  const s = r.cpu.startup
  const rows = r.cpu.rows.map((row) => {
    const per = perRequest(row, s)
    return [
      String(row.requests),
      fixed(row.runOnce, 2),
      fixed(row.validate, 2),
      fixed(row.floor, 2),
      fixed(per.gross, 3),
      fixed(per.netOfStartup, 3),
      fixed(per.runsOnly, 3),
      fixed(per.floor, 3),
      fixed(per.floorPerRun, 3),
      ratio(per.runsOnly, per.floor),
      ratio(per.netOfStartup, per.floor),
      fixed(row.runOnceRssMiB, 0),
      fixed(row.engineLoop, 3),
      fixed(row.floorLoop, 3),
      ratio(row.engineLoop, row.floorLoop),
      spread(row.loopRatios),
    ]
  })
  const head = [
    'requests',
    'run --once CPU (s)',
    'validate CPU (s)',
    'floor CPU (s)',
    'run --once ms/req, gross',
    'ms/req, net of startup',
    'ms/req, runs only',
    'floor ms/req',
    'floor, conn per run, ms/req',
    'runs only ÷ floor',
    'net of startup ÷ floor',
    'run --once peak RSS (MiB)',
    'engine loop ms/req',
    'floor loop ms/req',
    'engine ÷ floor, loops',
    'loops ratio per repeat, min–max',
  ]
  const startup = `Startup (1 probe, 3 requests): run --once ${fixed(s.runOnce, 2)} s, validate ${fixed(s.validate, 2)} s, floor ${fixed(s.floor, 2)} s CPU. ${r.cpu.repeats} repeat(s), medians; ${r.cpu.concurrency} runs in flight (run --once's concurrency) for every client.`
  return `${markdownTable(head, rows)}\n\n${startup}`
}

function spread(values: readonly number[]): string {
  if (values.length === 0) return 'n/a'
  return `${fixed(Math.min(...values), 2)}–${fixed(Math.max(...values), 2)}`
}

function blackboxTable(r: BenchResults): string {
  const floorPer = r.cpu.rows.map((row) => perRequest(row, r.cpu.startup).floor)
  const rows = r.blackbox.map((b, i) => {
    if (!b.ok) return ['—', '—', '—', '—', b.note]
    const per = (b.cpuSeconds * 1000) / b.probes
    return [
      String(b.probes),
      fixed(b.cpuSeconds, 2),
      fixed(per, 3),
      ratio(per, floorPer[i] ?? Number.NaN),
      `blackbox_exporter ${b.version}, ${b.failures} failed probes`,
    ]
  })
  return markdownTable(['probes (1 GET each)', 'exporter CPU (s)', 'ms/probe', '÷ floor ms/req', 'note'], rows)
}

function capacityTable(r: BenchResults): string {
  const rows = r.capacity.map((c) => [
    String(c.probes),
    c.nodeOptions || 'default',
    `${c.runs} / ${c.expectedRuns}`,
    String(c.failedRuns),
    `${fixed(c.onTime * 100, 2)}%`,
    `${fixed(c.within100ms * 100, 2)}%`,
    `≤ ${c.p99LatenessBucket} s`,
    fixed(c.cpuPerRunMs, 2),
    fixed(c.cores, 2),
    fixed(c.peakRssMiB, 0),
    `${fixed(c.scrape.medianMs, 1)} / ${fixed(c.scrape.maxMs, 1)}`,
    fixed(c.scrape.bytes / 1024, 0),
  ])
  const head = [
    'probes',
    'NODE_OPTIONS',
    'runs / slots',
    'failed runs',
    'started ≤ 1 s late',
    '≤ 100 ms late',
    'p99 lateness',
    'CPU ms/run',
    'cores busy',
    'peak RSS (MiB)',
    '/metrics ms (median / max)',
    '/metrics KiB',
  ]
  const window = r.capacity[0]?.windowSeconds ?? 0
  return `${markdownTable(head, rows)}\n\nEach step is a fresh daemon: ${r.plan.capacity.warmupSeconds} s warm-up after /readyz, then a ${window} s window (${window / 5} intervals). The search stops at the first step under 99%.`
}

function accuracyTable(r: BenchResults): string {
  const rows = r.accuracy.map((a) => [
    String(a.inFlight),
    String(a.runs),
    `${fixed(a.engine.p50, 2)} / ${fixed(a.engine.p99, 2)}`,
    `${fixed(a.floor.p50, 2)} / ${fixed(a.floor.p99, 2)}`,
    `${a.engine.failures} / ${a.floor.failures}`,
  ])
  return `${markdownTable(['runs in flight', 'runs', 'smokeprobe error p50 / p99 (ms)', 'floor error p50 / p99 (ms)', 'failed runs (smokeprobe / floor)'], rows)}\n\nInjected delay ${r.plan.delayMs} ms on every response; error = reported duration − delay; ${r.plan.accuracyRepeats} repeat(s), medians of the percentiles.`
}

const METHOD = `## Method

- **Target.** \`bench/target.ts\`, a minimal in-memory CRUD API on node:http in its own process (its CPU is never counted). Two instances run: one answering at once, one holding every response 100 ms (\`--delay\`).
- **Probe.** \`bench/probes.ts\` writes N copies of a 3-step CRUD probe shaped like \`probes/items-crud.yaml\`: POST with a JSON body, status, header and two JSONPath checks and a capture; GET with a JSONPath check; DELETE as cleanup. Base URL and token come from the environment, so the secret mask does its real work.
- **CPU per HTTP request.** Each command runs in a fresh process with \`bench/exit-report.js\` preloaded, which writes the process's own user + system CPU (getrusage, all threads) at exit. *Gross* divides everything by the requests. *Net of startup* subtracts the same command with 1 probe (Node start, module loading), leaving probe file loading in. *Runs only* subtracts \`probe validate\` of the same folder (startup and loading of the N files), leaving the runs, the JSON report and exit. The floor (\`bench/floor-client.ts\`) is a plain node:http client doing the same POST/GET/DELETE with keep-alive off (a connection per request), parsing only the JSON it needs, at the same concurrency, net of its own 1-run startup; "conn per run" is the same client keeping one connection per run, as smokeprobe's per-run agent does. The goal compares *runs only* with the keep-alive-off floor. Because *runs only* is a difference of two whole-process figures, it carries the noise of both; the *loop* columns measure the request path alone: \`bench/engine-client.ts\` (\`runProbe\` over the same N probes) and the floor client each read their own CPU around the measured loop, in-process, after 100 warm-up runs, at the same concurrency.
- **blackbox_exporter.** The Debian package's binary (installed with apt-get when missing; the row says so when it cannot be), \`http_2xx\` module, probing \`/healthz\` of the same target via \`/probe\` at the same concurrency. A load loop in the bench process drives it; only the exporter's CPU (from /proc, over the measured probes, after a 200-probe warm-up) counts. One blackbox probe is one GET, so "ms/probe" compares with "ms/req".
- **Capacity.** A real daemon (\`probe run\`) with N probes at \`interval: 5s\`. The daemon exports \`probe_schedule_lateness_seconds\`, a histogram of how late each run started after its slot; the bench reads its buckets, \`probe_runs_total\`, \`probe_runs_skipped_total\` and \`probe_runs_missed_total\` before and after the window. *Started ≤ 1 s late* is runs in the \`le="1"\` bucket over every slot of the window (a skipped or missed slot counts as late). CPU per run is the daemon's /proc CPU over the window divided by its finished runs; peak RSS is VmHWM at the end. The scrape is timed by the client to the end of the body, under that load.
- **Timing accuracy.** The engine (\`bench/engine-client.ts\`, \`runProbe\` as the daemon calls it) and the floor client run the same closed loop with a fixed number of runs in flight against the 100 ms target; each request's reported duration minus 100 ms is its error. Both first make 50 unmeasured runs (at least one per run in flight): the daemon runs warm, and a cold JIT would measure Node's start-up instead. Both include the target's own timer jitter and connection setup.
- **Loading.** \`loadConfig\` of N files timed in a fresh process (first load, as a starting daemon pays it; wall time, with its CPU time beside it), and \`probe validate\` as wall time including Node startup.
- **Noise.** Repeats and medians as stated under each table; one 2-core machine, so the target, the client and the bench share it, as they would share a small container host.
`
