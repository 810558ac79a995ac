import type { HistoryView } from '../history/store.ts'
import type { NetworkStatus } from '../judge/canaries.ts'
import { failureText } from '../probe/failure-text.ts'
import type { HistoryAccess } from './history-routes.ts'
import { bar, escapeHtml, LEGEND, ms, notified, percent, span, pageHead, STATUS_PAGE_REFRESH_SECONDS, timeTag } from './page-parts.ts'
import type { AlertStateName, ProbeStatus } from './status.ts'

export { escapeHtml, STATUS_PAGE_REFRESH_SECONDS } from './page-parts.ts'

/** Cells in a probe's bar of recent runs. */
export const BAR_RUNS = 60
/** Past incidents listed per probe on the overview. */
const RECENT_INCIDENTS = 3

const STATE_ORDER: Record<AlertStateName, number> = { firing: 0, failing: 1, recovering: 2, ok: 3 }

/**
 * The human status page: one self-contained document (inline CSS, no
 * script, no external asset) with the worst probes first, each with its bar
 * of recent runs, uptime, durations and incidents, the way Gatus and Uptime
 * Kuma show them.
 */
export function renderStatusPage(
  probes: readonly ProbeStatus[],
  options: { now: Date; location: string | null; network?: NetworkStatus | null; history?: HistoryAccess },
): string {
  const now = options.now.getTime()
  const sorted = [...probes].sort((a, b) => STATE_ORDER[a.alert.state] - STATE_ORDER[b.alert.state] || a.name.localeCompare(b.name))
  const line = summaryLine(probes)
  const where = options.location === null ? '' : ` from ${escapeHtml(options.location)}`
  const sections = sorted.map((probe) => section(probe, options.history?.view(probe.name, BAR_RUNS) ?? null, now))
  return `${pageHead(`smokeprobe${line.bad > 0 ? ` (${line.bad} failing)` : ''}`)}
<body>
<header>
<h1>smokeprobe</h1>
<p class="summary ${line.kind}" role="status">${escapeHtml(line.text)}</p>
<p class="meta">${probes.length} probes${where}. Updated ${timeTag(now, now)}, refreshes every ${STATUS_PAGE_REFRESH_SECONDS} s.
<a href="api/probes">JSON</a> · <a href="metrics">metrics</a></p>
${networkLine(options.network ?? null)}
${LEGEND}
</header>
<main>
${sections.length === 0 ? '<p>No probes are configured.</p>' : sections.join('\n')}
</main>
</body>
</html>
`
}

/** The line on top: all good, how many fail, or that the monitor itself cannot reach anything. */
export function summaryLine(probes: readonly ProbeStatus[]): { text: string; kind: 'good' | 'bad' | 'network'; bad: number } {
  const bad = probes.filter((p) => p.alert.state === 'firing' || p.alert.state === 'failing').length
  const inconclusive = probes.filter((p) => p.lastRun?.outcome === 'inconclusive').length
  if (inconclusive > 0)
    return {
      text: `The monitor's own network is down: ${inconclusive} of ${probes.length} probes cannot tell (their last runs are inconclusive)`,
      kind: 'network',
      bad,
    }
  if (bad > 0) return { text: `${bad} of ${probes.length} probes failing`, kind: 'bad', bad }
  return { text: probes.length === 0 ? 'No probes' : `All ${probes.length} probes passing`, kind: 'good', bad }
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
  return `<p class="network" role="alert">The monitor's own network is down: every canary failed (${escapeHtml(failed)}) at ${escapeHtml(network.checkedAt ?? '')}. Runs failing to connect are inconclusive and page nobody.</p>`
}

/** Muted: runs count, nothing is sent, until the window or mute ends. */
function mutedTag(probe: ProbeStatus, now: number): string {
  const by = probe.mutedBy
  if (!by) return ''
  const what = by.kind === 'maintenance' ? `maintenance window ${escapeHtml(by.name)}` : `mute ${escapeHtml(by.name)}`
  return ` <span class="tag" title="runs count, notifications wait until it ends">muted by ${what} until ${timeTag(Date.parse(by.until), now)}</span>`
}

function section(probe: ProbeStatus, view: HistoryView | null, now: number): string {
  const id = `p-${probe.name}`
  const description = probe.description === undefined ? '' : `<p class="meta">${escapeHtml(probe.description)}</p>`
  // An http(s) URL (checked at load), escaped for the attribute: never a script, never a way out of the quotes.
  const runbook =
    probe.runbook === undefined ? '' : ` <a class="meta" href="${escapeHtml(probe.runbook)}" rel="noopener noreferrer">runbook</a>`
  const since = probe.alert.since === null ? '' : ` since ${timeTag(Date.parse(probe.alert.since), now)}`
  const last = probe.lastRun
  const lastText =
    last === null ? 'not run yet' : `last run ${timeTag(Date.parse(last.startedAt), now)}, ${ms(last.durationMs)}${OUTCOME_TAG[last.outcome] ?? ''}`
  return `<section class="probe ${probe.alert.state}" aria-labelledby="${escapeHtml(id)}">
<div class="head"><h2 id="${escapeHtml(id)}"><a href="probes/${encodeURIComponent(probe.name)}">${escapeHtml(probe.name)}</a></h2>
<span class="state ${probe.alert.state}">${probe.alert.state}</span><span class="meta">${probe.consecutiveFailures} failed in a row${since} · ${escapeHtml(probe.schedule)} · ${lastText}</span>${mutedTag(probe, now)}${runbook}</div>
${description}${bar(view?.recent ?? [], BAR_RUNS)}
${figures(probe)}
${currentIncident(probe, view, now)}${pastIncidents(view, now)}
</section>`
}

export function figures(probe: ProbeStatus): string {
  return `<table class="figures"><caption class="meta">uptime, then duration over 24 h<span class="sr"> of ${escapeHtml(probe.name)}</span></caption>
<thead><tr><th scope="col">1 h</th><th scope="col">24 h</th><th scope="col">7 d</th><th scope="col">p50</th><th scope="col">p95</th></tr></thead>
<tbody><tr><td>${percent(probe.uptime?.['1h'])}</td><td>${percent(probe.uptime?.['24h'])}</td><td>${percent(probe.uptime?.['7d'])}</td><td>${ms(probe.p50Ms)}</td><td>${ms(probe.p95Ms)}</td></tr></tbody></table>`
}

/** The open incident with its evidence: the failed step, the reason, the response's excerpt. */
export function currentIncident(probe: ProbeStatus, view: HistoryView | null, now: number): string {
  const failure = probe.lastRun?.failure
  const open = view?.open ?? null
  if (!open && !(failure && probe.alert.state !== 'ok')) return ''
  const head = open ? `Incident open since ${timeTag(open.openedAt, now)} (${span(now - open.openedAt)})` : 'Failing'
  const status = failure?.status === undefined ? '' : ` · response ${failure.status}`
  const type = failure?.contentType === undefined ? '' : `, ${escapeHtml(failure.contentType)}`
  const evidence = failure
    ? `<p class="reason">${escapeHtml(failureText(failure))}</p><p class="meta">failed step <strong>${escapeHtml(failure.step)}</strong> · reason ${escapeHtml(failure.reason)}${status}${type}</p>${
        failure.bodyExcerpt === undefined ? '' : `<pre class="excerpt">${escapeHtml(failure.bodyExcerpt)}</pre>`
      }`
    : ''
  const who = open ? `<p class="meta">Notified: ${notified(open)}</p>` : ''
  return `<div class="incident"><p><strong>${head}</strong></p>${evidence}${who}</div>`
}

function pastIncidents(view: HistoryView | null, now: number): string {
  const past = (view?.incidents ?? []).filter((i) => i.resolvedAt !== null).slice(0, RECENT_INCIDENTS)
  if (past.length === 0) return ''
  const rows = past.map(
    (i) => `<tr><td>${timeTag(i.openedAt, now)}</td><td>${span((i.resolvedAt ?? now) - i.openedAt)}</td><td>${notified(i)}</td></tr>`,
  )
  return `<table class="incidents"><caption class="meta">Recent incidents</caption>
<thead><tr><th scope="col">started</th><th scope="col">lasted</th><th scope="col">notified</th></tr></thead>
<tbody>${rows.join('')}</tbody></table>`
}
