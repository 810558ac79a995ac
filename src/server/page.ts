import type { NetworkStatus } from '../judge/canaries.ts'
import { failureText } from '../probe/failure-text.ts'
import type { AlertStateName, ProbeStatus } from './status.ts'

/** Seconds between reloads of the status page; about one probe interval. */
export const STATUS_PAGE_REFRESH_SECONDS = 30

/** Every byte HTML treats specially, so a probe name or error text can never become markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const STATE_ORDER: Record<AlertStateName, number> = { firing: 0, failing: 1, recovering: 2, ok: 3 }

/**
 * The human status page: one self-contained document (inline CSS, no
 * script, no external asset) with the worst probes first, the way Gatus
 * and Cloudprober show them.
 */
export function renderStatusPage(
  probes: readonly ProbeStatus[],
  options: { now: Date; location: string | null; network?: NetworkStatus | null },
): string {
  const sorted = [...probes].sort((a, b) => STATE_ORDER[a.alert.state] - STATE_ORDER[b.alert.state] || a.name.localeCompare(b.name))
  const counts = summary(probes)
  const where = options.location === null ? '' : ` from ${escapeHtml(options.location)}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${STATUS_PAGE_REFRESH_SECONDS}">
<title>smokeprobe${counts.bad > 0 ? ` (${counts.bad} failing)` : ''}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>smokeprobe</h1>
<p class="meta">${probes.length} probes${where}: ${escapeHtml(counts.text)}. Updated ${escapeHtml(options.now.toISOString())}.
<a href="api/probes">JSON</a> · <a href="metrics">metrics</a></p>
${networkLine(options.network ?? null)}
<table>
<thead><tr><th>probe</th><th>state</th><th>failures in a row</th><th>last run</th><th>duration</th><th>last failure</th></tr></thead>
<tbody>
${sorted.length === 0 ? '<tr><td colspan="6">No probes are configured.</td></tr>' : sorted.map(row).join('\n')}
</tbody>
</table>
</body>
</html>
`
}

function row(probe: ProbeStatus): string {
  const run = probe.lastRun
  const description = probe.description === undefined ? '' : `<div class="meta">${escapeHtml(probe.description)}</div>`
  // An http(s) URL (checked at load), escaped for the attribute: never a script, never a way out of the quotes.
  const runbook =
    probe.runbook === undefined ? '' : ` <a class="meta" href="${escapeHtml(probe.runbook)}" rel="noopener noreferrer">runbook</a>`
  const since = probe.alert.since === null ? '' : ` title="since ${escapeHtml(probe.alert.since)}"`
  const excerpt = run?.failure?.bodyExcerpt === undefined ? '' : `<pre class="excerpt">${escapeHtml(run.failure.bodyExcerpt)}</pre>`
  const failure = run?.failure ? `${escapeHtml(failureText(run.failure))}${excerpt}` : ''
  return [
    `<tr class="${probe.alert.state}">`,
    `<td><strong>${escapeHtml(probe.name)}</strong> <span class="meta">${escapeHtml(probe.schedule)}</span>${runbook}${description}</td>`,
    `<td><span class="state"${since}>${probe.alert.state}</span></td>`,
    `<td class="num">${probe.consecutiveFailures}</td>`,
    `<td>${run === null ? 'not yet' : `<time datetime="${escapeHtml(run.startedAt)}">${escapeHtml(run.startedAt)}</time>${OUTCOME_TAG[run.outcome] ?? ''}`}</td>`,
    `<td class="num">${run === null ? '' : `${Math.round(run.durationMs)} ms`}</td>`,
    `<td>${failure}</td>`,
    '</tr>',
  ].join('')
}

/** Runs that are not what they seem: a pass that needed a retry, a failure the monitor's own network explains. */
const OUTCOME_TAG: Partial<Record<string, string>> = {
  retried: ' <span class="tag" title="passed only after a retry">flaky</span>',
  inconclusive: ' <span class="tag" title="every canary failed too: not counted">inconclusive</span>',
}

/** Says so when the monitor itself cannot reach the canaries: its failures are then not the targets'. */
function networkLine(network: NetworkStatus | null): string {
  if (network === null || network.up !== false) return ''
  const failed = network.canaries.map((c) => `${c.url}: ${c.detail}`).join('; ')
  return `<p class="network">The monitor's own network is down: every canary failed (${escapeHtml(failed)}) at ${escapeHtml(network.checkedAt ?? '')}. Runs failing to connect are inconclusive and page nobody.</p>`
}

function summary(probes: readonly ProbeStatus[]): { text: string; bad: number } {
  const by: Record<AlertStateName, number> = { ok: 0, failing: 0, firing: 0, recovering: 0 }
  for (const probe of probes) by[probe.alert.state]++
  const parts = (Object.keys(by) as AlertStateName[]).filter((state) => by[state] > 0).map((state) => `${by[state]} ${state}`)
  return { text: parts.length === 0 ? 'none' : parts.join(', '), bad: by.failing + by.firing }
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1a1a1a; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
.meta { color: #666; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
th { font-weight: 600; background: #f5f5f5; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.state { display: inline-block; padding: 0 .5rem; border-radius: .6rem; font-weight: 600; }
.ok .state { background: #d8f5dd; color: #11632a; }
.recovering .state { background: #dcebfb; color: #1d4f8c; }
.failing .state { background: #fff1c7; color: #7a5200; }
.firing .state { background: #fbd9d9; color: #8c1d1d; }
.firing td:last-child, .failing td:last-child { color: #8c1d1d; }
.tag { font-size: .75rem; padding: 0 .3rem; border-radius: .4rem; background: #fff1c7; color: #7a5200; }
.network { padding: .4rem .6rem; background: #fbd9d9; color: #8c1d1d; font-weight: 600; }
.excerpt { margin: .3rem 0 0; padding: .3rem; background: #f5f5f5; color: #1a1a1a; font-size: .8rem; white-space: pre-wrap; max-height: 8rem; overflow: auto; }
`
