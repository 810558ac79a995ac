import type { Docs } from './schema-reference.ts'

/**
 * The words of the file-format reference, one line per field of the zod
 * schemas. scripts/gen-schema.ts puts each into the JSON Schema (editor
 * hovers) and into the README's reference section; a field missing here fails the build.
 */

export const PROBE_INTRO = `One probe per YAML file (\`.yaml\`/\`.yml\`) in \`probes/\` (or the files and folders given with \`--probes\`; a folder contributes its own files, not its subfolders'). An unknown field is an error, so a typo never silently disables a check. Start a file with \`# yaml-language-server: $schema=../schema/probe.schema.json\` for autocomplete in editors.

A file may be at most 1 MiB. Durations are a number and a unit: \`250ms\`, \`10s\`, \`1m\`, \`4h\`, \`1d\`, at most \`24d\` (every duration becomes a timer, and Node's timers cannot wait longer); \`0\` only where a field says so. Strings may hold templates: \`{{ env.NAME }}\` is read from the environment when the file is loaded (a missing variable is an error, and so is a value holding a line break, such as a trailing newline); \`{{ secret.NAME }}\` is read from the environment, else from the file \`NAME\` in the secrets directory; \`{{ run.id }}\` (unique per run), \`{{ run.timestamp }}\` (Unix seconds), \`{{ probe.name }}\`, a \`vars\` name, or a name captured by an earlier step are filled in at run time. A cleanup step whose templates cannot be filled in (the create step never returned an id) is skipped, and the report says why.

**Secrets.** A value is a secret when it is read with \`{{ secret.NAME }}\`, or when an \`{{ env.NAME }}\` value is used as a credential: in a header \`authorization\`, \`proxy-authorization\`, \`cookie\`, \`x-api-key\` or one whose name contains \`token\`, \`secret\`, \`password\`, \`key\` or \`auth\` (also through a var), or in a URL's user-info. A secret is at least 8 characters, holds no line break, and is shown as \`***\` in every output, in any of its forms (as is, JSON-escaped, percent-encoded, base64 in \`Basic\` credentials). Every other environment value is plain configuration and is shown, so a report names the host that failed. Probe names, step names and labels take no template. One example of each kind:

\`\`\`yaml
vars:
  base: "{{ env.ITEMS_API_URL }}"                         # plain configuration: shown
defaults:
  headers:
    authorization: "Bearer {{ secret.ITEMS_API_TOKEN }}"  # a secret, from the environment
    x-signing-key: "{{ secret.SIGNING_KEY }}"             # a secret, from /run/secrets/SIGNING_KEY when the environment has none
    x-api-key: "{{ env.ITEMS_API_KEY }}"                  # an env value used as a credential: a secret by use
\`\`\``

export const ALERTING_INTRO = `\`alerting/alerting.yaml\` (or \`--alerting <file>\`) holds the default alert policy and the named channels. A probe's \`alert:\` block overrides the defaults field by field. The file may be at most 1 MiB. Templates here read the environment (\`{{ env.NAME }}\`, \`{{ secret.NAME }}\`); a value holding a line break is an error. A channel's credential fields (\`smtp.pass\`, \`routingKey\`, a webhook's or Slack's \`url\`, a webhook's \`headers\`) make the values they read secrets; the other fields (\`smtp.host\`, \`smtp.user\`, an Alertmanager \`url\`) are shown. Start the file with \`# yaml-language-server: $schema=../schema/alerting.schema.json\` for autocomplete.`

const POLICY: Record<string, string> = {
  failureThreshold: 'Consecutive failed runs before the alert fires (one `firing` notification per channel). Default: 5.',
  successThreshold: 'Consecutive passing runs before a firing alert resolves. Default: 1.',
  reminderInterval:
    'Re-notify while the alert is still firing; `0` (unquoted or quoted) = never, otherwise at least 1m and at most 24d. Default: 4h. PagerDuty and Alertmanager get no reminders (PagerDuty escalates by itself; Alertmanager is re-sent the firing state every minute).',
  sendResolved: 'Send a `resolved` notification when the probe recovers. Default: true.',
  channels: 'Names of channels defined in the alerting file that receive the notifications. Default: none.',
}

function prefixed(prefix: string, fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([key, text]) => [`${prefix}.${key}`, text]))
}

const MATCHER = {
  exists: '`true`: the value must be present; `false`: it must be absent.',
  matches: 'A JavaScript regular expression the value must match (compiled at load).',
}

/** A sweep's list and delete requests have a step request's fields. */
const SWEEP_REQUEST: Record<string, string> = {
  method: 'The HTTP method (GET for `list`, DELETE for `delete` unless given).',
  url: 'The URL; templates allowed (`vars`, `run.*`, and in `delete` the record’s fields as `{{ item.<field> }}`).',
  headers: 'Request headers (the probe’s `defaults.headers` are sent too); templates allowed.',
  json: 'A JSON body; templates allowed.',
  body: 'A raw text body; templates allowed. Give either `json` or `body`.',
  timeout: 'A timeout for this request: at least 10ms. Default: the probe’s `timeout`.',
  followRedirects: 'Follow redirects: `true` (at most 5) or a number of hops (1 to 20). Default: false.',
}

export const PROBE_DOCS: Docs = {
  keys: { 'steps[].expect.json': '<JSONPath>', 'steps[].expect.headers': '<header>', 'steps[].capture': '<variable>' },
  types: {
    schedule: 'cron expression',
    maxBodySize: 'size',
    steps: 'list of steps (at least 1)',
    'steps[].expect.json': 'map of matchers',
    'steps[].expect.headers': 'map of matchers',
    'steps[].capture': 'map of sources',
    'steps[].expect.json.<JSONPath>.matches': 'regular expression',
    'steps[].expect.headers.<header>.matches': 'regular expression',
    'steps[].expect.body.matches': 'regular expression',
    'steps[].capture.<variable>.json': 'JSONPath',
    'sweep.match': 'regular expression',
    'sweep.next': 'JSONPath',
    'sweep.items': 'JSONPath',
    'sweep.name': 'JSONPath',
    'sweep.createdAt': 'JSONPath',
  },
  fields: {
    name: 'Unique across all probe files: lower-case letters, digits and `-`, starting with a letter or digit, at most 63 characters. The `probe` label of every metric and alert.',
    description:
      'What the probe checks, in words; shown by `probe list --json`, the status page and every firing notification. At most 4096 characters.',
    runbook:
      'An http(s) URL of the runbook: what the on-call engineer should do when this probe fires. Linked from every firing notification (Alertmanager `runbook_url` annotation, PagerDuty `links`, email, webhook, Slack). At most 2048 characters.',
    interval: 'How often the probe runs. Default: 1m (when `schedule` is not given). At least 1s, at most 24d, and longer than `timeout`.',
    schedule: 'A cron expression in UTC (5 fields, or 6 with seconds first), instead of `interval`.',
    timeout:
      'The budget for the whole run, every step and cleanup included: at least 10ms, and shorter than the interval. Cleanup steps keep a reserve of it, so a hung step still leaves time to delete what the run created.',
    labels:
      'Extra labels on this probe’s alerts (Alertmanager, webhook). Names are letters, digits and `_`, values at most 1024 characters; `probe`, `location`, `step`, `reason`, `result`, `alertname`, `channel`, `event` and `le` are reserved.',
    maxBodySize:
      'The largest response body read per step, in bytes or with a unit (`512KiB`, `1MiB`, `10MB`); a larger body fails the step as "body too large".',
    tls: 'TLS settings for every step.',
    'tls.insecure':
      'Accept any server certificate (self-signed, expired, wrong host). Only for targets you cannot give a valid certificate.',
    vars: 'Named values for templates, e.g. `base: "{{ env.ITEMS_API_URL }}"`; each may use `env.*`, `run.*`, `probe.name` and the vars before it.',
    defaults: 'Settings every step inherits.',
    'defaults.headers': 'Request headers sent by every step (a step’s own header of the same name wins); templates allowed.',
    steps: 'The requests, run in order. After a step fails, the remaining steps are skipped, except cleanup steps.',
    'steps[].name': 'Unique within the probe: lower-case letters, digits, `-` and `_`. Names the step in reports, metrics and alerts.',
    'steps[].cleanup':
      'Run this step even after an earlier step failed (to delete what the probe created). Skipped, with the reason, when its templates cannot be filled in.',
    'steps[].request': 'The HTTP request.',
    'steps[].request.method': 'The HTTP method.',
    'steps[].request.url': 'The URL, usually built from templates: `"{{ base }}/items/{{ itemId }}"`.',
    'steps[].request.headers': 'Request headers of this step; templates allowed.',
    'steps[].request.json':
      'A JSON body (any YAML value; its strings may hold templates, and `"{{ id }}"` alone keeps the captured value’s type). Sets `content-type: application/json` unless a header says otherwise.',
    'steps[].request.body': 'A raw text body; templates allowed. Give either `json` or `body`.',
    'steps[].request.timeout': 'A timeout for this step alone: at least 10ms, and within the probe’s `timeout`.',
    'steps[].request.followRedirects':
      'Follow redirects: `true` (at most 5 hops, loops detected) or the maximum number of hops. By default a redirect is the response checked.',
    'steps[].expect': 'What the response must look like; the first mismatch fails the step with a reason in plain words.',
    'steps[].expect.status': 'The accepted status: a number or a list of numbers. Default: any 2xx.',
    'steps[].expect.maxDuration': 'Fail the step when it takes longer than this: at least 1ms, at most 24d.',
    'steps[].expect.json':
      'Checks on the JSON response body, keyed by JSONPath (`$.data.id`). A plain value must equal what the path selects, after templating (`"{{ itemId }}"` also equals the number 42 when that is what was captured).',
    'steps[].expect.json.<JSONPath>': 'The expected value, or a matcher object.',
    'steps[].expect.json.<JSONPath>.exists': MATCHER.exists,
    'steps[].expect.json.<JSONPath>.matches': `${MATCHER.matches} A non-string value is matched as JSON text.`,
    'steps[].expect.json.<JSONPath>.equals': 'The expected value, when it is itself a list or an object.',
    'steps[].expect.headers':
      'Checks on response headers, keyed by header name (any case). A plain string must equal the header value, after templating.',
    'steps[].expect.headers.<header>': 'The expected value, or a matcher object.',
    'steps[].expect.headers.<header>.exists': MATCHER.exists,
    'steps[].expect.headers.<header>.matches': MATCHER.matches,
    'steps[].expect.body': 'Checks on the response body as text.',
    'steps[].expect.body.contains': 'Text the body must contain; templates allowed.',
    'steps[].expect.body.matches': 'A JavaScript regular expression the body must match (compiled at load).',
    'steps[].capture':
      'Values taken from the response for later steps, as `{{ name }}`. A capture that finds nothing fails the step; what was found is kept, so a cleanup step can still use it.',
    'steps[].capture.<variable>': 'A JSONPath into the response body (`$.id`), or an object naming another source.',
    'steps[].capture.<variable>.json': 'A JSONPath into the response body.',
    'steps[].capture.<variable>.header': 'A response header name.',
    'steps[].capture.<variable>.status': '`true`: the response status code.',
    'steps[].retry':
      'Send the request again after a transport fault (refused, reset, DNS, TLS), a timeout or a 5xx — never after another answer. Each retry must fit in the run’s deadline, before the cleanup reserve. A run that passes only after a retry counts as `retried`: a success for alerting, flaky on the status page.',
    'steps[].retry.attempts': 'Retries after the first attempt: 1 to 5.',
    'steps[].retry.delay': 'Wait before each retry. Default: 1s.',
    'steps[].retry.unsafe':
      'Allow retries of a POST or PATCH, which are not idempotent (the target must tolerate the repeat). Without it such a retry is a validation error. Default: false.',
    alert: 'This probe’s alert policy; each field given overrides the alerting file’s `defaults`.',
    ...prefixed('alert', POLICY),
    sweep:
      'Finds and deletes this probe’s leftover records (see "Orphan sweep"): the daemon runs it every `interval`, outside any run’s budget; `probe sweep` runs it once.',
    'sweep.interval': 'How often the daemon sweeps (the first sweep runs when the daemon starts): at least 1s. Default: 1h.',
    'sweep.list': 'The request that lists the records (a page of them).',
    ...prefixed('sweep.list', SWEEP_REQUEST),
    'sweep.next':
      'A JSONPath, in each page, of the next page’s URL (relative or absolute; another origin is refused). At most 100 pages are read. None: one page.',
    'sweep.items': 'A JSONPath, in each page, of the array of records.',
    'sweep.name': 'A JSONPath, within a record, of its name.',
    'sweep.match':
      'A regular expression (RE2) only this probe’s own records’ names match, such as `^smoke-`. One that matches the empty string (`.*`, `""`) is refused.',
    'sweep.createdAt': 'A JSONPath, within a record, of its creation time: ISO 8601 text or Unix seconds. A record without one is kept.',
    'sweep.minAge': 'Required: only records older than this are deleted, so a run in flight never loses its record. At least 1s.',
    'sweep.delete': 'The request that deletes one record; it must use a field of the record, such as `{{ item.id }}`.',
    ...prefixed('sweep.delete', SWEEP_REQUEST),
    'sweep.max': 'At most this many deletions per sweep (1 to 1000); the rest wait for the next sweep. Default: 100.',
  },
}

export const ALERTING_DOCS: Docs = {
  keys: {},
  types: { channels: 'map of channels', 'channels.<name>': 'channel (by `type`, below)' },
  fields: {
    defaults: 'The alert policy of every probe that does not override it.',
    ...prefixed('defaults', POLICY),
    channels: 'Named channels, keyed by a name of lower-case letters, digits, `-` and `_`. Check one with `probe alert test <name>`.',
    'channels.<name>': 'One channel; its `type` decides its other fields.',
    canaries:
      'URLs outside the targets that the monitor must reach when its own network works (at most 10). When a run fails to connect or times out, the canaries are asked (one check at a time, its answer kept 30 s, 2 s per canary); when every one fails, the run is `inconclusive`: neither a failure nor a success, and nothing is paged. A canary with the origin and path of a probe step’s URL is an error.',
    'canaries[].url': 'An http(s) URL; may come from `{{ env.NAME }}`.',
    'canaries[].status': 'The status that counts as an answer. Default: any status below 500.',
    maintenance:
      'Maintenance windows: the probes they cover keep running and counting, but send no notification (`probe_muted` 1); a probe still failing at the end fires then, with its real count.',
    'maintenance[].name': 'Unique name of the window: lower-case letters, digits, `-` and `_`. Shown in logs and by `probe list`.',
    'maintenance[].probes':
      'The probes it covers: each a probe name or a map of labels a probe must all carry (`{ team: storefront }`). Each must select a probe.',
    'maintenance[].schedule':
      'A recurring window: a cron expression (5 fields, or 6 with seconds) of each start, in `timezone`; with `duration`. It must occur (no February 30).',
    'maintenance[].duration': 'How long each occurrence lasts; at least 1s and no longer than the shortest gap between two starts.',
    'maintenance[].timezone': 'The IANA time zone of `schedule` (`Europe/Berlin`), so 02:00 stays 02:00 across daylight saving time. Default UTC.',
    'maintenance[].start': 'A one-off window: its start, an ISO time with its offset (`2026-12-01T10:00:00Z`); with `end`.',
    'maintenance[].end': 'A one-off window: its end, after `start`.',
    api: 'The HTTP API that changes the daemon (`/api/mutes`). Without it, those endpoints are 404.',
    'api.token': 'The bearer token of `/api/mutes`, at least 16 characters; always `{{ secret.NAME }}` (it is a secret by use).',
  },
}
