/**
 * The process entry point (`bin/probe.js` imports this): hands the real
 * streams, environment and working directory to `runCli` and exits with
 * its code.
 */
import { runCli } from './program.ts'

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  })
} catch (error) {
  // Users' mistakes come back as messages and exit codes; reaching here is a bug, and its stack helps report it.
  process.stderr.write(`probe: internal error (a bug in smokeprobe): ${(error as Error)?.stack ?? String(error)}\n`)
  process.exitCode = 1
}
