// Types of the undici modules src/probe/undici.ts loads one by one (the package types only its index).
declare module 'undici/lib/api/index.js' {
  const api: {
    request(
      this: import('undici').Dispatcher,
      options: import('undici').Dispatcher.RequestOptions,
    ): Promise<import('undici').Dispatcher.ResponseData>
  }
  export default api
}
declare module 'undici/lib/core/connect.js' {
  const buildConnector: typeof import('undici').buildConnector
  export default buildConnector
}
declare module 'undici/lib/core/util.js' {
  const util: { parseURL(url: string | URL): URL }
  export default util
}
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: typeof import('undici').Agent
  export default Agent
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  const Dispatcher: typeof import('undici').Dispatcher
  export default Dispatcher
}
