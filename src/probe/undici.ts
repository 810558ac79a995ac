/**
 * The parts of undici smokeprobe uses, loaded without the rest of its index:
 * the index loads fetch, WebSocket, EventSource, the caches (SQLite among
 * them) and the mocks as well, ≈ 2.7 MB of heap, 12 MB resident and 20 ms
 * of every start-up that no probe needs (BENCHMARKS.md, "Footprint").
 * test/probe/undici.test.ts checks these are the very objects `undici`
 * exports, so an upgrade that moves them fails there, not in production.
 */
import type * as Undici from 'undici'
import api from 'undici/lib/api/index.js'
import buildConnectorFunction from 'undici/lib/core/connect.js'
import util from 'undici/lib/core/util.js'
import AgentClass from 'undici/lib/dispatcher/agent.js'
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js'

// What undici's index does to give every dispatcher its request(), stream()… methods.
Object.assign(DispatcherClass.prototype, api)

export const Agent: typeof Undici.Agent = AgentClass
export type Agent = Undici.Agent
export const buildConnector: typeof Undici.buildConnector = buildConnectorFunction

type RequestOptions = { dispatcher: Undici.Dispatcher } & Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> &
  Partial<Pick<Undici.Dispatcher.RequestOptions, 'method'>>

/**
 * undici's `request(url, options)`, on the dispatcher given: there is no
 * global one here, so every caller says whose connections a request uses.
 */
export function request(url: string | URL, options: RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options
  const target: URL = util.parseURL(url)
  return api.request.call(dispatcher, {
    ...rest,
    origin: target.origin,
    path: target.search ? `${target.pathname}${target.search}` : target.pathname,
    method: rest.method ?? (rest.body ? 'PUT' : 'GET'),
  })
}
