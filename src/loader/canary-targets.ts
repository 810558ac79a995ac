/**
 * A canary must not be a target: a canary on the target's own origin and
 * path fails exactly when the target does, so every outage of that target
 * would look like the monitor's network going down and never page.
 */
import { urlEndpoint } from '../config/canaries.ts'
import type { Probe } from '../config/probe-schema.ts'
import { renderTemplate, renderTemplateValue, type Scope } from '../config/template.ts'
import type { AlertingConfig } from './alerting-schema.ts'

export interface CanaryTargetProblem {
  /** Index into `canaries`. */
  readonly index: number
  readonly message: string
}

/**
 * Every canary whose origin and path equal those of a probe step's URL.
 * A step URL is compared as far as it is known at load: with the
 * environment and the vars that need nothing of the run; a URL built from
 * captures or `run.*` cannot be known and is not compared.
 */
export function canariesOnTargets(alerting: Pick<AlertingConfig, 'canaries'>, probes: readonly Probe[]): CanaryTargetProblem[] {
  const targets = new Map<string, string>()
  for (const probe of probes) {
    for (const [index, url] of knownStepUrls(probe)) {
      const endpoint = urlEndpoint(url)
      if (endpoint !== null && !targets.has(endpoint)) targets.set(endpoint, `probe "${probe.name}" (${probe.file}: steps[${index}].request.url)`)
    }
  }
  const problems: CanaryTargetProblem[] = []
  for (const [index, canary] of alerting.canaries.entries()) {
    const endpoint = urlEndpoint(canary.url)
    const target = endpoint === null ? undefined : targets.get(endpoint)
    if (target !== undefined)
      problems.push({
        index,
        message: `this canary is also a target: ${target} has the same origin and path; a canary must be outside the targets, or an outage of that target would read as the monitor's network being down`,
      })
  }
  return problems
}

function knownStepUrls(probe: Probe): [number, string][] {
  const values = new Map<string, unknown>([['probe.name', probe.name]])
  const scope: Scope = (name) => values.get(name)
  for (const [name, template] of Object.entries(probe.vars)) {
    const value = renderTemplateValue(template, scope)
    if (value.ok) values.set(name, value.value)
  }
  const out: [number, string][] = []
  for (const [index, step] of probe.steps.entries()) {
    const url = renderTemplate(step.request.url, scope)
    if (url.ok) out.push([index, url.value])
  }
  return out
}
