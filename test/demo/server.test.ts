import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { type DemoApi, startDemoApi } from '../../demo/server.ts'

const TOKEN = 'demo-token-123'
let api: DemoApi | undefined

afterEach(async () => {
  await api?.close()
  api = undefined
})

async function start(token?: string): Promise<DemoApi> {
  api = await startDemoApi({ token })
  return api
}

/** `token: null` sends no authorization header. */
function call(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const headers: Record<string, string> = {}
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  return fetch(`${api!.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
}

async function createItem(name = 'smoke-1'): Promise<{ id: string; name: string; createdAt: string }> {
  const res = await call('POST', '/items', { name })
  expect(res.status).toBe(201)
  return (await res.json()) as { id: string; name: string; createdAt: string }
}

describe('demo API: CRUD', () => {
  it('creates, reads, lists and deletes an item', async () => {
    await start(TOKEN)
    const created = await createItem('smoke-abc')
    expect(created.name).toBe('smoke-abc')
    expect(Date.parse(created.createdAt)).not.toBeNaN()
    expect(api!.items.get(created.id)).toEqual(created)

    const read = await call('GET', `/items/${created.id}`)
    expect(read.status).toBe(200)
    expect(await read.json()).toEqual(created)

    const list = await call('GET', '/items')
    expect(await list.json()).toEqual({ data: [created], items: [created], count: 1, next: null })

    const deleted = await call('DELETE', `/items/${created.id}`)
    expect(deleted.status).toBe(204)
    expect(await deleted.text()).toBe('')
    expect(api!.items.size).toBe(0)
    expect((await call('GET', `/items/${created.id}`)).status).toBe(404)
    expect((await call('DELETE', `/items/${created.id}`)).status).toBe(404)
  })

  it('lists in pages, each naming the next, and refuses a bad page size', async () => {
    await start(TOKEN)
    for (let i = 0; i < 5; i++) await createItem(`smoke-${i}`)
    const names: string[] = []
    let next: string | null = '/items?size=2'
    let pages = 0
    while (next) {
      const page = (await (await call('GET', next)).json()) as { data: { name: string }[]; next: string | null; count: number }
      expect(page.count).toBe(5)
      names.push(...page.data.map((item) => item.name))
      next = page.next
      pages++
    }
    expect(pages).toBe(3)
    expect(names).toEqual(['smoke-0', 'smoke-1', 'smoke-2', 'smoke-3', 'smoke-4'])
    expect((await call('GET', '/items?size=0')).status).toBe(400)
    expect((await call('GET', '/items?size=1001')).status).toBe(400)
    expect((await call('GET', '/items?page=0')).status).toBe(400)
  })

  it('refuses a body that is not JSON or has no name', async () => {
    await start()
    const notJson = await fetch(`${api!.url}/items`, { method: 'POST', body: '{oops' })
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toEqual({ error: 'request body is not valid JSON' })
    expect((await call('POST', '/items', { title: 'x' })).status).toBe(400)
    expect((await call('POST', '/items', { name: '' })).status).toBe(400)
    expect((await call('POST', '/items', ['name'])).status).toBe(400)
    expect(api!.items.size).toBe(0)
  })

  it('answers 404 for unknown routes and 405 for unknown methods', async () => {
    await start()
    expect((await call('GET', '/nope')).status).toBe(404)
    expect((await call('GET', '/items/%E0%A4%A')).status).toBe(404)
    const wrongMethod = await call('PATCH', '/items')
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST')
  })
})

describe('demo API: bearer token', () => {
  it('requires the configured token everywhere but /healthz', async () => {
    await start(TOKEN)
    expect((await call('GET', '/items', undefined, null)).status).toBe(401)
    expect((await call('GET', '/items', undefined, 'wrong')).status).toBe(401)
    expect((await call('PUT', '/_faults', { mode: 'error' }, null)).status).toBe(401)
    expect((await call('GET', '/healthz', undefined, null)).status).toBe(200)
    expect((await call('GET', '/items')).status).toBe(200)
  })

  it('needs no token when none is configured', async () => {
    await start()
    expect((await call('GET', '/items', undefined, null)).status).toBe(200)
  })
})

describe('demo API: faults', () => {
  it('error: reads fail with 500, creating still works', async () => {
    await start(TOKEN)
    const item = await createItem()
    const set = await call('PUT', '/_faults', { mode: 'error' })
    expect(await set.json()).toMatchObject({ mode: 'error' })
    expect((await call('GET', `/items/${item.id}`)).status).toBe(500)
    expect((await call('GET', '/items')).status).toBe(500)
    expect((await call('DELETE', `/items/${item.id}`)).status).toBe(204)
  })

  it('wrong-name: a read returns 200 with a different name', async () => {
    await start()
    const item = await createItem('smoke-1')
    api!.setFault('wrong-name')
    const read = await call('GET', `/items/${item.id}`)
    expect(read.status).toBe(200)
    const body = (await read.json()) as { id: string; name: string }
    expect(body.id).toBe(item.id)
    expect(body.name).not.toBe('smoke-1')
  })

  it('no-delete: DELETE fails and the item stays', async () => {
    await start()
    const item = await createItem()
    api!.setFault('no-delete')
    expect((await call('DELETE', `/items/${item.id}`)).status).toBe(500)
    expect(api!.items.has(item.id)).toBe(true)
    api!.setFault('ok')
    expect((await call('DELETE', `/items/${item.id}`)).status).toBe(204)
  })

  it('slow: item responses wait delayMs, the control routes do not', async () => {
    await start()
    await call('PUT', '/_faults', { mode: 'slow', delayMs: 300 })
    expect(await (await call('GET', '/_faults')).json()).toEqual({ mode: 'slow', delayMs: 300 })
    const started = performance.now()
    expect((await call('GET', '/items')).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(250)
    expect((await call('GET', '/healthz')).status).toBe(200)
  })

  it('close() does not wait for a pending slow response', async () => {
    await start()
    api!.setFault('slow', 60_000)
    const pending = call('GET', '/items').then(
      () => 'answered',
      () => 'dropped',
    )
    await waitForConnection()
    await api!.close()
    api = undefined
    expect(await pending).toBe('dropped')
  })

  it('refuses an unknown mode or a bad delay', async () => {
    await start()
    const bad = await call('PUT', '/_faults', { mode: 'explode' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toContain('mode must be one of ok, error, slow, wrong-name, no-delete')
    expect((await call('PUT', '/_faults', { mode: 'slow', delayMs: -1 })).status).toBe(400)
    expect((await call('PUT', '/_faults', { mode: 'slow', delayMs: 'soon' })).status).toBe(400)
    expect(() => api!.setFault('explode' as never)).toThrow(/mode must be one of/)
    expect(await (await call('GET', '/_faults')).json()).toMatchObject({ mode: 'ok' })
  })
})

describe('demo API: standalone', () => {
  it('logs one line with its URL and serves until SIGTERM', async () => {
    const child = spawn(process.execPath, ['demo/server.ts'], {
      env: { ...process.env, DEMO_API_PORT: '0', DEMO_API_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      const lines = createInterface({ input: child.stdout })
      const [line] = (await once(lines, 'line')) as [string]
      expect(line).toMatch(/^demo API listening on http:\/\/127\.0\.0\.1:\d+ \(bearer token required\)$/)
      const url = /http:\/\/\S+/.exec(line)![0]
      expect((await fetch(`${url}/items`)).status).toBe(401)
      expect((await fetch(`${url}/items`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200)
      child.kill('SIGTERM')
      const [code] = (await once(child, 'exit')) as [number | null]
      expect(code).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})

/**
 * Lets the request sent just before reach the server's handler: a short pause,
 * then one round trip through the same server, which accepts in order.
 */
async function waitForConnection(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect((await call('GET', '/_faults')).ok).toBe(true)
}
