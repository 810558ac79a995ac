/**
 * The create → read → delete probe file the CLI and real-stack suites run
 * against an items API (POST /items, GET and DELETE /items/:id), as
 * `probes/items-crud.yaml` does: the base URL and the bearer token come
 * from the environment, so the token is a secret the mask must hide.
 */
export interface CrudProbeFile {
  readonly name: string
  /** Top-level lines between `name:` and `vars:`: schedule, timeout, labels. */
  readonly settings: readonly string[]
  /** The environment variables holding the API's base URL and its token. */
  readonly urlEnv: string
  readonly tokenEnv: string
}

export function crudProbeFile(options: CrudProbeFile): string {
  return `name: ${options.name}
${options.settings.join('\n')}
vars:
  base: "{{ env.${options.urlEnv} }}"
defaults:
  headers:
    authorization: "Bearer {{ env.${options.tokenEnv} }}"
steps:
  - name: create
    request:
      method: POST
      url: "{{ base }}/items"
      json: { name: "smoke-{{ run.id }}" }
    expect:
      status: 201
      json: { $.name: "smoke-{{ run.id }}" }
    capture: { itemId: $.id }
  - name: read
    request: { url: "{{ base }}/items/{{ itemId }}" }
    expect: { status: 200, json: { $.id: "{{ itemId }}" } }
  - name: delete
    cleanup: true
    request: { method: DELETE, url: "{{ base }}/items/{{ itemId }}" }
    expect: { status: [200, 204] }
`
}
