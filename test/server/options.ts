import { createMetrics } from '../../src/metrics/registry.ts'
import type { ServerOptions } from '../../src/server/http.ts'
import { silentLogger } from '../../src/log.ts'

/** A server on a free loopback port, ready, serving no probes; each test adds what it checks. */
export function serverOptions(overrides: Partial<ServerOptions> = {}): ServerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    registry: createMetrics({ location: null }).registry,
    isReady: () => true,
    probes: () => [],
    logger: silentLogger(),
    ...overrides,
  }
}
