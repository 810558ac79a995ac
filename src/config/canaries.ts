/**
 * `canaries:` of the alerting file: URLs outside the targets that tell the
 * monitor's own network from a target's outage (SPEC "Fewer false pages").
 */
import * as z from 'zod'
import { type TemplateContext, envString } from './template.ts'

/** Canaries listed at most: each is asked on every check, and a handful already tells a dead network from one dead host. */
export const MAX_CANARIES = 10

export function canariesSchema(context: TemplateContext) {
  const Canary = z
    .strictObject({
      /** An http(s) URL outside the targets (the cluster's DNS name, a public endpoint); may come from `{{ env.NAME }}`. */
      url: envString(context).pipe(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })),
      /** The status that counts as an answer. @defaultValue any status below 500 */
      status: z.int().min(100).max(599).optional(),
    })
    .meta({ description: 'A URL the monitor must reach when its own network works' })
  return z.array(Canary).max(MAX_CANARIES, `at most ${MAX_CANARIES} canaries`).default([])
}

export type CanaryConfig = z.output<ReturnType<typeof canariesSchema>>[number]

/**
 * Where a URL points for the purpose of "is this canary a target?": its
 * origin and path, without query or fragment. Two URLs with the same
 * origin and path reach the same handler whatever their query says.
 */
export function urlEndpoint(url: string): string | null {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return null
  }
}
