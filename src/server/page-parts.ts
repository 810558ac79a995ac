/**
 * What the overview and the detail page share: escaping, the CSP, the
 * style sheet, times, figures and the bar of recent runs. Everything a
 * probe, a target or a channel wrote passes `escapeHtml` on its way in.
 */
import type { RunRecord } from '../history/runs.ts'
import type { Outcome } from '../judge/judge.ts'
import type { Incident } from '../history/store.ts'

/** No script and no external asset may run, even if escaping ever failed. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'"

/** Seconds between reloads of the status page; about one probe interval. */
export const STATUS_PAGE_REFRESH_SECONDS = 30

/** Every byte HTML treats specially, so a probe name or error text can never become markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** `3 min ago`, for a person scanning the page; the tooltip and `datetime` hold the exact time. */
export function relative(at: number, now: number): string {
  const s = Math.round((now - at) / 1000)
  // A second ahead is the clocks of a run and of the page; further ahead is a time to come (a mute's end).
  if (s < -1) return `in ${distance(-s)}`
  if (s < 0) return 'just now'
  return `${distance(s)} ago`
}

function distance(s: number): string {
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`
}

const DAY_MS = 86_400_000
let isoDay = Number.NaN
let isoPrefix = ''

/**
 * `Date#toISOString` for a page of 60,000 run times: measured at 5–8 µs a call
 * here, a third of the 100 ms budget of the 1,000-probe page on its own. The
 * date part is formatted once per day, the time by arithmetic. Same output.
 */
export function isoTime(at: number, seconds = false): string {
  if (!Number.isInteger(at) || at < 0 || at >= 253_402_300_800_000) {
    const iso = new Date(at).toISOString()
    return seconds ? `${iso.slice(0, 19)}Z` : iso
  }
  const day = Math.floor(at / DAY_MS)
  if (day !== isoDay) {
    isoDay = day
    isoPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11)
  }
  const rest = at - day * DAY_MS
  const h = Math.floor(rest / 3_600_000)
  const m = Math.floor(rest / 60_000) % 60
  const sec = Math.floor(rest / 1000) % 60
  const milli = rest % 1000
  if (seconds) return `${isoPrefix}${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:${sec < 10 ? '0' : ''}${sec}Z`
  return `${isoPrefix}${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
}

export function timeTag(at: number, now: number): string {
  const iso = isoTime(at)
  return `<time datetime="${iso}" title="${iso}">${relative(at, now)}</time>`
}

export function span(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–'
  return `${value === 0 ? '0' : value < 10 ? value.toFixed(1) : Math.round(value)} ms`
}

export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–'
  // 99.95 % must not read as 100 %: only a perfect record says 100.
  const p = value * 100
  return `${value === 1 ? '100' : p >= 99.9 ? p.toFixed(2) : p.toFixed(1)} %`
}

const OUTCOME_WORD: Record<Outcome, string> = {
  success: 'passed',
  failure: 'failed',
  retried: 'passed after a retry',
  inconclusive: 'inconclusive (network down)',
  aborted: 'aborted',
}

/** The outcome in words, muted or not: the text alternative of a cell's colour. */
export function outcomeWords(run: RunRecord): string {
  return `${OUTCOME_WORD[run.outcome] ?? run.outcome}${run.muted ? ', muted' : ''}`
}

/**
 * One cell per run, oldest left (an `<i>` whose class is its outcome, see
 * CELL_CLASS). The colour is never the only signal: a failure is a
 * full-height cell, a pass a shorter one, inconclusive striped, muted hollow;
 * the bar's label counts them in words and every cell's tooltip says what it was.
 */
export function bar(runs: readonly RunRecord[], slots: number): string {
  const counts = new Map<string, number>()
  let cells = ''
  // The hot loop of a 1,000-probe page (60,000 cells): fixed parts looked up, escaping only what a target or a file wrote.
  for (const run of runs) {
    const kind = CELLS[run.outcome]?.[run.muted ? 1 : 0] ?? CELLS.aborted[0]
    counts.set(kind.words, (counts.get(kind.words) ?? 0) + 1)
    const reason = run.step === null ? '' : `, ${escapeHtml(run.step)}: ${escapeHtml(run.reason ?? 'failed')}`
    const d = run.durationMs
    cells += `${kind.open}${isoTime(run.at, true)}, ${kind.words}, ${d >= 10 ? Math.round(d) : ms(d).slice(0, -3)} ms${reason}"></i>`
  }
  const label =
    runs.length === 0 ? 'No runs yet' : `Last ${runs.length} runs: ${[...counts].map(([words, n]) => `${n} ${words}`).join(', ')}`
  return `<div class="bar" role="img" aria-label="${escapeHtml(label)}">${EMPTY_CELL.repeat(Math.max(0, slots - runs.length))}${cells}</div>`
}

/** A slot with no run yet. */
const EMPTY_CELL = '<i></i>'

/**
 * One letter per outcome: a 1,000-probe page has 60,000 cells, and every
 * byte of one is 60 kB of page (BENCHMARKS.md "Run history").
 */
export const CELL_CLASS: Readonly<Record<Outcome, string>> = {
  success: 's',
  failure: 'f',
  retried: 'r',
  inconclusive: 'n',
  aborted: 'a',
}

/** Per outcome, unmuted and muted: the cell's opening up to its tooltip, and the outcome in words. */
const CELLS = Object.fromEntries(
  (Object.keys(OUTCOME_WORD) as Outcome[]).map((outcome) => [
    outcome,
    [false, true].map((muted) => ({
      open: `<i class="${CELL_CLASS[outcome]}${muted ? ' m' : ''}" title="`,
      words: outcomeWords({ outcome, muted } as RunRecord),
    })),
  ]),
) as Record<Outcome, { open: string; words: string }[]> & { aborted: [{ open: string; words: string }] }

/** Who was told of an incident, in words: `oncall (sent), hook (failed)`. */
export function notified(incident: Incident): string {
  const latest = new Map<string, string>()
  for (const n of incident.notifications) latest.set(`${n.channel} ${n.event}`, `${n.channel}: ${n.event} ${n.result}`)
  return latest.size === 0 ? 'nobody' : escapeHtml([...latest.values()].join(', '))
}

export const LEGEND = `<p class="legend meta" aria-hidden="true"><i class="s"></i> passed <i class="r"></i> passed after retry <i class="f"></i> failed <i class="n"></i> inconclusive <i class="s m"></i> muted</p>`

/** The head every page shares: self-refreshing, phone-width, no asset from elsewhere. */
export function pageHead(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${STATUS_PAGE_REFRESH_SECONDS}">
<title>${title}</title>
<style>${STYLE}</style>
</head>`
}

export const STYLE = `
:root { color-scheme: light dark; --fg: #1a1a1a; --bg: #fff; --muted: #595959; --line: #ddd; --panel: #f5f5f5;
  --ok: #1a7f37; --bad: #c62828; --warn: #8a5a00; --info: #1d4f8c; --none: #e4e4e4;
  --ok-bg: #d8f5dd; --bad-bg: #fbd9d9; --warn-bg: #fff1c7; --info-bg: #dcebfb; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e8e8; --bg: #141414; --muted: #a8a8a8; --line: #333; --panel: #202020;
    --ok: #4ac26b; --bad: #ff6b6b; --warn: #e3b341; --info: #79b8ff; --none: #303030;
    --ok-bg: #12361d; --bad-bg: #4a1717; --warn-bg: #3d2f00; --info-bg: #14304f; }
}
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 70rem; color: var(--fg); background: var(--bg); overflow-wrap: break-word; }
a { color: var(--info); }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
h2 { font-size: 1.05rem; margin: 0; }
.meta { color: var(--muted); font-size: .85rem; }
.summary { font-size: 1.1rem; font-weight: 600; padding: .5rem .75rem; border-radius: .4rem; margin: .5rem 0; }
.summary.good { background: var(--ok-bg); }
.summary.bad { background: var(--bad-bg); }
.summary.network { background: var(--warn-bg); }
.network { padding: .4rem .6rem; border-radius: .4rem; background: var(--warn-bg); font-weight: 600; overflow-wrap: anywhere; }
.tag { font-size: .75rem; padding: 0 .3rem; border-radius: .4rem; background: var(--warn-bg); }
.probe { border: 1px solid var(--line); border-radius: .5rem; padding: .75rem; margin: .75rem 0; }
.probe.firing, .probe.failing { border-color: var(--bad); }
.head { display: flex; flex-wrap: wrap; gap: .25rem .6rem; align-items: baseline; }
.state { display: inline-block; padding: 0 .5rem; border-radius: .6rem; font-weight: 600; font-size: .85rem; }
.state.ok { background: var(--ok-bg); }
.state.recovering { background: var(--info-bg); }
.state.failing { background: var(--warn-bg); }
.state.firing { background: var(--bad-bg); }
.bar { display: flex; gap: 1px; align-items: flex-end; height: 1.6rem; margin: .5rem 0; }
.bar i, .legend i { flex: 1 1 0; min-width: 0; height: 70%; border-radius: 1px; background: var(--none); display: inline-block; }
.bar i.s, .legend i.s { background: var(--ok); }
.bar i.r, .legend i.r { background: var(--ok); height: 85%; opacity: .7; }
.bar i.f, .legend i.f { background: var(--bad); height: 100%; }
.bar i.n, .legend i.n { background: repeating-linear-gradient(45deg, var(--warn) 0 2px, transparent 2px 4px); height: 100%; }
.bar i.a, .legend i.a { background: var(--muted); height: 40%; }
.bar i.m, .legend i.m { background: transparent; border: 1px solid var(--muted); }
p.legend i[class] { width: .6rem; height: .8rem; vertical-align: middle; margin-left: .4rem; }
h2, .excerpt, .incident, .head { overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; font-size: .85rem; }
.figures { max-width: 36rem; }
.figures td, .figures th { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; padding: .2rem .35rem; }
caption { text-align: left; }
.incident { background: var(--bad-bg); border-radius: .4rem; padding: .5rem .75rem; margin: .5rem 0; }
.excerpt { margin: .3rem 0 0; padding: .3rem; background: var(--panel); font-size: .8rem; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 8rem; overflow: auto; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
details summary { cursor: pointer; }
svg { display: block; width: 100%; max-width: 44rem; height: auto; }
.scroll { overflow-x: auto; }
`
