/**
 * Writes N copies of the benchmark's probe: the 3-step CRUD run of the
 * example `probes/items-crud.yaml` (create with JSON checks and a capture,
 * read back, delete as cleanup), against the bench target. The base URL and
 * token come from the environment, as in the examples, so the secret mask
 * is exercised as in production.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** The environment every bench probe file needs. */
export function probeEnv(targetUrl: string): Record<string, string> {
  return { BENCH_TARGET_URL: targetUrl, BENCH_TOKEN: 'bench-secret-token' }
}

export function crudProbe(name: string, interval: string): string {
  return `name: ${name}
interval: ${interval}
timeout: 4s
labels: { team: bench }
vars:
  base: "{{ env.BENCH_TARGET_URL }}"
defaults:
  headers:
    authorization: "Bearer {{ env.BENCH_TOKEN }}"
steps:
  - name: create
    request:
      method: POST
      url: "{{ base }}/items"
      json: { name: "smoke-{{ run.id }}" }
    expect:
      status: 201
      maxDuration: 2s
      headers:
        content-type: { matches: "^application/json" }
      json:
        $.name: "smoke-{{ run.id }}"
        $.id: { exists: true }
    capture:
      itemId: $.id
  - name: read
    request:
      method: GET
      url: "{{ base }}/items/{{ itemId }}"
    expect:
      status: 200
      json:
        $.id: "{{ itemId }}"
  - name: delete
    cleanup: true
    request:
      method: DELETE
      url: "{{ base }}/items/{{ itemId }}"
    expect:
      status: [200, 204]
`
}

/** A fresh temporary folder holding `count` probe files; remove it with `removeDir`. */
export async function writeProbeDir(count: number, interval = '5s'): Promise<string> {
  const dir = path.join(tmpdir(), `smokeprobe-bench-${process.pid}-${count}-${Date.now()}`)
  await mkdir(dir, { recursive: true })
  const width = String(count).length
  for (let i = 0; i < count; i++) {
    const name = `crud-${String(i).padStart(width, '0')}`
    await writeFile(path.join(dir, `${name}.yaml`), crudProbe(name, interval))
  }
  return dir
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true })
}
