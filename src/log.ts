import { type DestinationStream, type Logger, pino } from 'pino'
import type { SecretMask } from './config/secrets.ts'

export type { Logger }

/** Header and config fields that carry credentials even when they did not come from the environment. */
const REDACT_PATHS = [
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["proxy-authorization"]',
  'request.headers.authorization',
  'request.headers.cookie',
  'smtp.pass',
  'smtp.user',
  'routingKey',
  'pass',
  'password',
  'token',
]

export interface LoggerOptions {
  readonly level?: string
  readonly secrets: SecretMask
  readonly destination?: DestinationStream
}

/**
 * The one logger: JSON lines, credential fields redacted, and every string
 * passed through the secret mask so an environment value never reaches a log.
 */
export function createLogger({ level = 'info', secrets, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { svc: 'smokeprobe' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    maskedDestination(secrets, destination ?? pino.destination({ dest: 1, sync: false })),
  )
}

/**
 * Masks each finished line, so a secret is caught wherever it hides: a
 * message, a field, an error text from a library, a stack.
 */
function maskedDestination(secrets: SecretMask, inner: DestinationStream): DestinationStream {
  const masked = {
    write: (line: string) => inner.write(secrets.mask(line)),
    flush: (cb?: (err?: Error) => void) => (inner as { flush?: (cb?: (err?: Error) => void) => void }).flush?.(cb) ?? cb?.(),
  }
  return masked as DestinationStream
}

/** A logger that writes nothing, for tests and `run --once`. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
