/**
 * Preload (`node --import`) for the thread-pool test: when undici opens its
 * first connection, BUSY_JOBS fs calls each hold one libuv thread (an open of
 * a FIFO blocks until a writer comes), as a hung getaddrinfo or a stalled
 * disk would, without burning CPU. They are released BUSY_RELEASE_MS later,
 * so the process can exit.
 */
import { subscribe } from 'node:diagnostics_channel'
import { closeSync, constants, open, openSync } from 'node:fs'

const fifo = process.env.BUSY_FIFO ?? ''
const jobs = Number(process.env.BUSY_JOBS ?? 8)
let started = false

subscribe('undici:client:beforeConnect', () => {
  if (started) return
  started = true
  let writer = -1
  let done = 0
  // The writer stays open until every job has opened (jobs queued behind a small pool open later).
  const finished = () => {
    if (++done === jobs && writer >= 0) closeSync(writer)
  }
  for (let i = 0; i < jobs; i++)
    open(fifo, 'r', (error, fd) => {
      if (!error) closeSync(fd)
      finished()
    })
  setTimeout(
    () => {
      writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
      if (done === jobs) closeSync(writer)
    },
    Number(process.env.BUSY_RELEASE_MS ?? 3_000),
  )
})
