/**
 * `/probes/<name>`: one probe's recent runs, its per-step durations over time
 * as an inline SVG chart (with the numbers as a table for who cannot see
 * it), its runs and its incidents. No script, no external asset.
 */
import type { HistoryView, StepPoint } from '../history/store.ts'
import { BAR_RUNS, currentIncident, figures } from './page.ts'
import { bar, escapeHtml, ms, notified, outcomeWords, relative, span, pageHead, timeTag } from './page-parts.ts'
import type { ProbeStatus } from './status.ts'

/** Runs listed in the detail page's table. */
const LISTED_RUNS = 30
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']
/** A dash pattern per line as well as a colour, so two lines are told apart without colour. */
const DASHES = ['', '6 3', '2 2', '8 3 2 3', '1 3', '10 4', '4 1', '3 6']

export function renderDetailPage(probe: ProbeStatus, view: HistoryView, options: { now: Date }): string {
  const now = options.now.getTime()
  const runs = view.recent
  const listed = runs.slice(-LISTED_RUNS).reverse()
  const rows = listed.map(
    (run) =>
      `<tr><td>${timeTag(run.at, now)}</td><td>${escapeHtml(outcomeWords(run))}</td><td>${ms(run.durationMs)}</td><td>${escapeHtml(run.step ?? '')}</td><td>${escapeHtml(run.reason ?? '')}</td></tr>`,
  )
  const incidents = view.incidents.map(
    (i) =>
      `<tr><td>${timeTag(i.openedAt, now)}</td><td>${i.resolvedAt === null ? 'open' : timeTag(i.resolvedAt, now)}</td><td>${span((i.resolvedAt ?? now) - i.openedAt)}</td><td>${notified(i)}</td></tr>`,
  )
  const name = escapeHtml(probe.name)
  return `${pageHead(`${name} · smokeprobe`)}
<body>
<p class="meta"><a href="../">← all probes</a> · <a href="../api/probes/${encodeURIComponent(probe.name)}/history">history JSON</a></p>
<h1>${name} <span class="state ${probe.alert.state}">${probe.alert.state}</span></h1>
${probe.description === undefined ? '' : `<p class="meta">${escapeHtml(probe.description)}</p>`}
<p class="meta">${escapeHtml(probe.schedule)} · ${probe.consecutiveFailures} failed in a row</p>
<main>
${bar(runs.slice(-BAR_RUNS), BAR_RUNS)}
${figures(probe)}
${currentIncident(probe, view, now)}
<h2>Step durations</h2>
${chart(view.steps, now)}
<h2>Runs</h2>
<div class="scroll"><table class="runs"><caption class="sr">The last ${listed.length} runs, newest first</caption>
<thead><tr><th scope="col">when</th><th scope="col">outcome</th><th scope="col">duration</th><th scope="col">failed step</th><th scope="col">reason</th></tr></thead>
<tbody>${rows.join('') || '<tr><td colspan="5">No runs yet.</td></tr>'}</tbody></table></div>
<h2>Incidents</h2>
<div class="scroll"><table class="incidents"><caption class="sr">Incidents, newest first</caption>
<thead><tr><th scope="col">started</th><th scope="col">resolved</th><th scope="col">lasted</th><th scope="col">notified</th></tr></thead>
<tbody>${incidents.join('') || '<tr><td colspan="4">None recorded.</td></tr>'}</tbody></table></div>
</main>
</body>
</html>
`
}

const W = 600
const H = 200
const PAD = { left: 64, right: 8, top: 10, bottom: 24 }

/** Each step's duration per run as one line; time on x, milliseconds on y. */
export function chart(points: readonly StepPoint[], now: number): string {
  const names = [...new Set(points.flatMap((p) => Object.keys(p.steps)))]
  if (points.length < 2 || names.length === 0) return '<p class="meta">Not enough runs to chart yet.</p>'
  const first = points[0]!.at
  const last = points[points.length - 1]!.at
  const top = niceCeiling(Math.max(1, ...points.flatMap((p) => Object.values(p.steps))))
  const x = (at: number) => PAD.left + ((at - first) / Math.max(1, last - first)) * (W - PAD.left - PAD.right)
  const y = (value: number) => H - PAD.bottom - (value / top) * (H - PAD.top - PAD.bottom)
  const lines = names.map((step, i) => {
    const coords = points
      .filter((p) => p.steps[step] !== undefined)
      .map((p) => `${x(p.at).toFixed(1)},${y(p.steps[step]!).toFixed(1)}`)
      .join(' ')
    const dash = DASHES[i % DASHES.length] ? ` stroke-dasharray="${DASHES[i % DASHES.length]}"` : ''
    return `<polyline fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.5"${dash} points="${coords}"><title>${escapeHtml(step)}</title></polyline>`
  })
  const grid = [0, 0.5, 1].map(
    (f) =>
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(top * f)}" y2="${y(top * f)}" stroke="currentColor" stroke-opacity=".2"/><text x="${PAD.left - 4}" y="${y(top * f) + 4}" text-anchor="end" font-size="14" fill="currentColor">${ms(top * f)}</text>`,
  )
  const axis = `<text x="${PAD.left}" y="${H - 4}" font-size="14" fill="currentColor"><title>${new Date(first).toISOString()}</title>${relative(first, now)}</text><text x="${W - PAD.right}" y="${H - 4}" font-size="14" text-anchor="end" fill="currentColor"><title>${new Date(last).toISOString()}</title>${relative(last, now)}</text>`
  const legend = names.map(
    (step, i) =>
      `<li><svg width="28" height="10" aria-hidden="true" style="display:inline;width:28px"><line x1="0" x2="28" y1="5" y2="5" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2"${DASHES[i % DASHES.length] ? ` stroke-dasharray="${DASHES[i % DASHES.length]}"` : ''}/></svg> ${escapeHtml(step)}</li>`,
  )
  const summary = names
    .map((step) => {
      const values = points.map((p) => p.steps[step]).filter((v): v is number => v !== undefined)
      return `${step}: ${ms(Math.min(...values))} to ${ms(Math.max(...values))}`
    })
    .join('; ')
  const table = points
    .slice(-20)
    .reverse()
    .map((p) => `<tr><td>${timeTag(p.at, now)}</td>${names.map((step) => `<td>${ms(p.steps[step])}</td>`).join('')}</tr>`)
  return `<figure>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title chart-desc"><title id="chart-title">Step durations over the last ${points.length} runs</title><desc id="chart-desc">${escapeHtml(summary)}</desc>${grid.join('')}${lines.join('')}${axis}</svg>
<figcaption><ul class="meta">${legend.join('')}</ul></figcaption>
</figure>
<details><summary>The numbers (last ${table.length} runs)</summary><div class="scroll"><table><thead><tr><th scope="col">when</th>${names.map((s) => `<th scope="col">${escapeHtml(s)}</th>`).join('')}</tr></thead><tbody>${table.join('')}</tbody></table></div></details>`
}

/** 1, 2 or 5 times a power of ten, at or above `value`: gridlines at round numbers. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}
