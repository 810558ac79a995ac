/** What a route answers; `http.ts` writes it with the headers every answer carries. */
export interface Reply {
  readonly status: number
  readonly type: string
  readonly body: string
  readonly headers?: Record<string, string>
}

export const JSON_TYPE = 'application/json; charset=utf-8'

export function json(status: number, value: unknown): Reply {
  return { status, type: JSON_TYPE, body: `${JSON.stringify(value)}\n` }
}
