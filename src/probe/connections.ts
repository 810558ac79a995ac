import { type LookupAddress, type LookupOptions, lookup as dnsLookup } from 'node:dns'
import type { Socket } from 'node:net'
import type { buildConnector } from 'undici'
import type { Probe } from '../config/probe-schema.ts'
import { buildConnector as undiciConnector } from './undici.ts'

/**
 * A connection opened during a run, with the moments (performance.now())
 * it passed each phase; 0 means "not (yet)".
 */
export class Connection {
  readonly startedAt: number
  readonly tls: boolean
  lookupAt = 0
  connectedAt = 0
  secureAt = 0

  constructor(socket: Socket, tls: boolean, startedAt: number) {
    this.startedAt = startedAt
    this.tls = tls
    // 'lookup' only fires for a host name: an IP literal has no DNS phase.
    socket.once('lookup', () => {
      this.lookupAt = performance.now()
    })
    socket.once('connect', () => {
      this.connectedAt = performance.now()
    })
    if (tls)
      socket.once('secureConnect', () => {
        this.secureAt = performance.now()
      })
  }

  /** When the connection could carry a request; 0 while it is still being set up. */
  get readyAt(): number {
    return this.tls ? this.secureAt : this.connectedAt
  }
}

/**
 * Records the connections a run's agent opens. Steps run one after another
 * and the agent is the run's own, so a connection opened while a request is
 * in flight belongs to that request; a request that reused a socket sees none.
 */
export class ConnectionWatch {
  #opened: Connection[] = []

  add(connection: Connection): void {
    this.#opened.push(connection)
  }

  /** The connections opened since the last call. */
  take(): Connection[] {
    const opened = this.#opened
    if (opened.length > 0) this.#opened = []
    return opened
  }
}

/** What a probe's connections are opened with: the same for all its runs. */
export type ConnectSettings = Pick<Probe, 'timeout' | 'tls'>

const connectors = new WeakMap<ConnectSettings, buildConnector.connector>()

/**
 * undici's connector for a probe, built once and shared by all its runs: it
 * holds settings, never a socket, and its TLS session cache is off, so no
 * connection resumes a session another one negotiated and each pays a full
 * handshake, as a new user's does. Built per run, each brought its own
 * session cache, map and FinalizationRegistry to the run's garbage. undici
 * ignores the Agent's connect options when `connect` is a function, so the
 * timeout and TLS options are given here.
 */
export function sharedConnector(settings: ConnectSettings): buildConnector.connector {
  let connect = connectors.get(settings)
  if (!connect) {
    connect = undiciConnector({
      allowH2: false,
      timeout: settings.timeout,
      rejectUnauthorized: !settings.tls.insecure,
      maxCachedSessions: 0,
      lookup: sharedLookup,
    } as buildConnector.BuildOptions)
    connectors.set(settings, connect)
  }
  return connect
}

/**
 * A connector that hands each new socket to the run's watch before it
 * connects (undici has no timing API).
 */
export function timedConnector(connect: buildConnector.connector, watch: ConnectionWatch): buildConnector.connector {
  return (target, callback) => {
    const startedAt = performance.now()
    // The runtime returns the socket; the .d.ts says void.
    const socket = connect(target, callback) as unknown as Socket | undefined
    if (socket) watch.add(new Connection(socket, target.protocol === 'https:', startedAt))
    return socket
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void
type Lookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void

/**
 * `dns.lookup` with one getaddrinfo per name in flight: runs that ask for a
 * name already being looked up wait for that answer instead of taking a
 * thread-pool thread of their own. A name whose resolution hangs then holds
 * one of libuv's threads, not one per run of every probe that uses it, and
 * cannot starve the pool for other names or the state file. Nothing is
 * cached: a lookup that ends is forgotten, so every run still measures DNS
 * (a run that joined a lookup reports the time it waited for it).
 */
export function shareLookups(lookup: Lookup): Lookup {
  const inFlight = new Map<string, LookupCallback[]>()
  return (hostname, options, callback) => {
    const key = `${hostname}\u0000${options.family ?? 0}\u0000${options.all === true}\u0000${options.hints ?? 0}\u0000${options.order ?? ''}`
    const waiting = inFlight.get(key)
    if (waiting) {
      waiting.push(callback)
      return
    }
    const callbacks = [callback]
    inFlight.set(key, callbacks)
    lookup(hostname, options, (error, address, family) => {
      inFlight.delete(key)
      // Each socket gets its own list: net may reorder the addresses it tries.
      for (const done of callbacks) done(error, Array.isArray(address) ? [...address] : address, family)
    })
  }
}

const sharedLookup = shareLookups(dnsLookup as unknown as Lookup)
