/**
 * `probe run`: the long-running daemon. Signals: SIGHUP reloads the files;
 * SIGTERM/SIGINT stop scheduling, let in-flight runs finish (or abort them
 * within a bound), flush deliveries, save state and exit 0. A second
 * SIGTERM/SIGINT exits at once.
 */
import type { DaemonOptions } from './options.ts'
import { SecretMask } from '../config/secrets.ts'
import { createLogger } from '../log.ts'
import { holdDaemonHeap } from './heap.ts'
import { createRuntime } from './runtime.ts'

const EXIT_OK = 0
const EXIT_CONFIG = 2
const EXIT_FORCED = 1

export async function runDaemon(options: DaemonOptions): Promise<number> {
  const secrets = new SecretMask()
  const logger = createLogger({ level: options.logLevel, secrets })
  const runtime = createRuntime({ options, env: process.env, logger, secrets })

  const started = await runtime.start()
  if (!started.ok) {
    for (const error of started.errors) process.stderr.write(`${secrets.mask(error)}\n`)
    process.stderr.write('probe run: not started\n')
    return EXIT_CONFIG
  }

  // Only now: the probes are loaded (holdYoungGeneration says why it waits for that).
  const releaseHeap = holdDaemonHeap()

  // A promise some part forgot to catch is a bug to log, never a reason to stop probing: without a
  // handler, Node exits, and a SIGHUP could take monitoring down (README "Reload").
  const onUnhandled = (reason: unknown) => logger.error({ err: reason }, 'bug: unhandled promise rejection')
  process.on('unhandledRejection', onUnhandled)

  return new Promise<number>((resolve) => {
    let reloading: Promise<unknown> = Promise.resolve()
    let stopping = false

    const onHangup = () => {
      logger.info('SIGHUP: reloading configuration')
      // A configuration problem comes back as `false` (logged and exported by the runtime); a throw
      // is a bug, logged here so the chain goes on and the next SIGHUP still reloads.
      reloading = reloading.then(() => runtime.reload()).catch((error: unknown) => logger.error({ err: error }, 'bug: the reload threw'))
    }
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second stop signal: exiting without waiting')
        logger.flush()
        process.exit(EXIT_FORCED)
      }
      stopping = true
      logger.info({ signal }, 'stopping: finishing in-flight runs and deliveries')
      process.off('SIGHUP', onHangup)
      void reloading
        .then(() => runtime.stop())
        .catch((error: unknown) => logger.error({ err: error }, 'bug: error during shutdown'))
        .finally(() => {
          process.off('SIGTERM', onStop)
          process.off('SIGINT', onStop)
          process.off('unhandledRejection', onUnhandled)
          releaseHeap()
          logger.flush(() => resolve(EXIT_OK))
        })
    }
    process.on('SIGHUP', onHangup)
    process.on('SIGTERM', onStop)
    process.on('SIGINT', onStop)
  })
}
