/**
 * The status page in a real browser: Debian's chromium, headless, driven by
 * playwright-core, with JavaScript disabled (the page must need none),
 * against an in-process daemon with a failing and a passing probe.
 * SMOKEPROBE_SCREENSHOTS=<dir> also writes the overview and the detail view
 * at 1280 px and 375 px there (docs/ holds the committed ones).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HistoryDocument } from '../../src/history/store.ts'
import type { Outcome } from '../../src/judge/judge.ts'
import { CELL_CLASS } from '../../src/server/page-parts.ts'
import { Cleanups, type InProcess, probeFile, startRuntime, waitFor, writeConfig } from '../daemon/harness.ts'
import { startTarget } from '../daemon/sinks.ts'

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(
  (path): path is string => Boolean(path),
)
const executable = CANDIDATES.find((path) => existsSync(path))
const NO_BROWSER = `no chromium found (looked at ${CANDIDATES.join(', ')}): install it (apt-get install chromium) or set CHROMIUM_PATH`

// In CI a missing browser is a failure, never a silent pass; elsewhere the skip says why.
if (!executable && process.env.CI === 'true')
  describe('status page in headless chromium', () => {
    it('needs a browser', () => {
      throw new Error(NO_BROWSER)
    })
  })

describe.skipIf(!executable)(`status page in headless chromium${executable ? '' : ` — skipped: ${NO_BROWSER}`}`, () => {
  const cleanups = new Cleanups()
  let browser: Browser
  let daemon: InProcess

  beforeAll(async () => {
    const failing = await startTarget('fail')
    const passing = await startTarget('ok')
    cleanups.defer(() => Promise.all([failing.close(), passing.close()]))
    const config = await writeConfig(cleanups, {
      probes: [
        probeFile({ name: 'checkout', target: failing.url, interval: '1s' }),
        probeFile({ name: 'homepage', target: passing.url, interval: '1s' }),
      ],
      alerting: { defaults: { failureThreshold: 2 } },
    })
    daemon = await startRuntime(cleanups, config)
    await waitFor('the incident to open', async () => (await history('checkout')).incidents.length > 0)
    browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox'] })
    cleanups.defer(() => browser.close())
  }, 60_000)
  afterAll(() => cleanups.run())

  async function history(probe: string): Promise<HistoryDocument> {
    return (await (await fetch(`${daemon.url}/api/probes/${probe}/history`)).json()) as HistoryDocument
  }

  async function open(path: string, width: number, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width, height: 900 }, colorScheme })
    const page = await context.newPage()
    const response = await page.goto(`${daemon.url}${path}`)
    expect(response?.status()).toBe(200)
    return page
  }

  /** The page's cells of one probe: outcome and run time (the tooltip starts with it), padding left out. */
  async function cells(page: Page, probe: string): Promise<{ outcome: string; at: string }[]> {
    return page.evaluate((name) => {
      const section = document.querySelector(`section[aria-labelledby="p-${name}"]`)
      return [...(section?.querySelectorAll('.bar i[class]') ?? [])].map((cell) => ({
        outcome: cell.className,
        at: (cell.getAttribute('title') ?? '').split(',')[0] ?? '',
      }))
    }, probe)
  }

  async function overflow(page: Page): Promise<{ scrollWidth: number; clientWidth: number; wide: string[] }> {
    return page.evaluate(() => {
      const root = document.documentElement
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 0.5 && !el.closest('.scroll'))
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`)
      return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide }
    })
  }

  it('shows one cell per run with its outcome, the incident, and the summary, without JavaScript', async () => {
    const before = await history('checkout')
    const page = await open('/', 1280)
    const after = await history('checkout')
    const failing = await cells(page, 'checkout')
    // The page was rendered between the two reads: its cells are the newest runs of that moment, in order.
    expect(failing.length).toBeGreaterThanOrEqual(Math.min(60, before.runs.length))
    expect(failing.length).toBeLessThanOrEqual(Math.min(60, after.runs.length))
    // A cell's class is its outcome's letter (CELL_CLASS), its tooltip starts with the run's time to the second.
    const second = (iso: string) => `${iso.slice(0, 19)}Z`
    const shown = after.runs.filter((run) => second(run.at) <= failing.at(-1)!.at).slice(-failing.length)
    expect(failing).toEqual(shown.map((run) => ({ outcome: CELL_CLASS[run.outcome as Outcome], at: second(run.at) })))
    expect(failing.every((cell) => cell.outcome === 'f')).toBe(true)
    const passing = await cells(page, 'homepage')
    expect(passing.length).toBeGreaterThan(0)
    expect(passing.every((cell) => cell.outcome === 's')).toBe(true)
    // 60 slots per bar, padded on the left while fewer runs exist.
    expect(await page.locator('section[aria-labelledby="p-checkout"] .bar i').count()).toBe(60)
    await expect(page.locator('section[aria-labelledby="p-checkout"] .incident').innerText()).resolves.toMatch(
      /Incident open since .* ago[\s\S]*check: expected status 200, got 503[\s\S]*failed step check/,
    )
    await expect(page.locator('.summary').innerText()).resolves.toBe('1 of 2 probes failing')
    // Worst first, and the bar has a text alternative.
    await expect(page.locator('section h2').allInnerTexts()).resolves.toEqual(['checkout', 'homepage'])
    await expect(page.locator('section[aria-labelledby="p-checkout"] .bar').getAttribute('aria-label')).resolves.toMatch(
      /^Last \d+ runs: \d+ failed$/,
    )
    await shoot(page, 'status-overview-1280.png')
  })

  it('nothing overflows at 375 px, on the overview and the detail view', async () => {
    for (const path of ['/', '/probes/checkout']) {
      const page = await open(path, 375)
      const { scrollWidth, clientWidth, wide } = await overflow(page)
      expect(wide, path).toEqual([])
      expect(scrollWidth, path).toBeLessThanOrEqual(clientWidth)
      await shoot(page, path === '/' ? 'status-overview-375.png' : 'status-detail-375.png')
    }
  })

  it('the detail view charts the steps as inline SVG and lists the runs', async () => {
    const page = await open('/probes/checkout', 1280)
    await expect(page.locator('svg[role="img"] polyline').count()).resolves.toBe(1)
    await expect(page.locator('svg[role="img"] title').first().textContent()).resolves.toMatch(/^Step durations over the last \d+ runs$/)
    expect(await page.locator('table.runs tbody tr').count()).toBeGreaterThan(1)
    await expect(page.locator('h1').innerText()).resolves.toMatch(/^checkout\s+firing$/)
    await shoot(page, 'status-detail-1280.png')
  })

  it('follows prefers-color-scheme: dark', async () => {
    const colours = async (scheme: 'light' | 'dark') =>
      (await open('/', 1280, scheme)).evaluate(() => {
        const style = getComputedStyle(document.body)
        return { background: style.backgroundColor, text: style.color }
      })
    expect(await colours('light')).toEqual({ background: 'rgb(255, 255, 255)', text: 'rgb(26, 26, 26)' })
    expect(await colours('dark')).toEqual({ background: 'rgb(20, 20, 20)', text: 'rgb(232, 232, 232)' })
  })

  async function shoot(page: Page, name: string): Promise<void> {
    const dir = process.env.SMOKEPROBE_SCREENSHOTS
    if (dir) await page.screenshot({ path: join(dir, name), fullPage: true })
  }
})
