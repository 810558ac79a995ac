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
 * Masks the values of each finished line, so a secret is caught wherever it
 * hides: a message, a field, an error text from a library, a stack. Keys are
 * field names, never masked (`svc` stays `svc`).
 */
function maskedDestination(secrets: SecretMask, inner: DestinationStream): DestinationStream {
  const masked = {
    write: (line: string) => inner.write(maskLine(line, secrets)),
    flush: (cb?: (err?: Error) => void) => (inner as { flush?: (cb?: (err?: Error) => void) => void }).flush?.(cb) ?? cb?.(),
  }
  return masked as DestinationStream
}

/** A JSON log line with every string value masked; a line that is not JSON is masked whole. */
export function maskLine(line: string, secrets: SecretMask): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    return secrets.mask(line)
  }
  const masked = JSON.stringify(parsed, (_key, value: unknown) => (typeof value === 'string' ? secrets.mask(value) : value))
  return line.endsWith('\n') ? `${masked}\n` : masked
}

/** A logger that writes nothing, for tests and `run --once`. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
