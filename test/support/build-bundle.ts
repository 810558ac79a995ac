/**
 * vitest globalSetup: builds dist/ from the tree under test before any test
 * file runs, so every test that starts bin/probe.js as a process runs the
 * bundle users run (bin/startup.js `entryModule`), built from these sources.
 */
import { buildBundle } from '../../scripts/build.js'

export default async function setup(): Promise<void> {
  await buildBundle()
}
