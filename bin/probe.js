#!/usr/bin/env node
// The installed entry point is plain JS so a global/npx install can start it;
// the sources it imports are TypeScript that Node 24 runs by stripping types.

// DNS lookups (getaddrinfo) run on libuv's thread pool, which the state file's
// fs calls share; with the default 4 threads, four hung lookups time out every
// other probe, even one to 'localhost'. libuv reads the size once, when the
// pool first starts, so it is set here, before anything is imported: static
// imports would be evaluated before this line. A size the operator chose is kept.
process.env.UV_THREADPOOL_SIZE ??= '64'
await import('../src/cli/main.ts')
