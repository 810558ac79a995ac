/**
 * Writes the JSON Schemas of the probe and alerting files (for editor
 * autocomplete: `# yaml-language-server: $schema=../schema/probe.schema.json`)
 * and the README's file-format reference (between its `reference:start` and
 * `reference:end` markers), all from the zod schemas the loader uses.
 * `npm run gen-schema`; test/config/schema.test.ts fails when the committed
 * files are stale.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import * as z from 'zod'
import { alertingFileSchema } from '../src/loader/alerting-schema.ts'
import { probeFileSchema } from '../src/config/probe-schema.ts'
import { SecretMask } from '../src/config/secrets.ts'
import { ALERTING_DOCS, ALERTING_INTRO, PROBE_DOCS, PROBE_INTRO } from './schema-docs.ts'
import { type Docs, type JsonSchema, markdownTable, referenceRows, type Row } from './schema-reference.ts'

export const OUTPUTS = {
  probe: 'schema/probe.schema.json',
  alerting: 'schema/alerting.schema.json',
  readme: 'README.md',
} as const

const START = '<!-- reference:start -->'
const END = '<!-- reference:end -->'

/** The generated files, path → content; `readme` is the README as it is, whose marked reference section is replaced. */
export function generateFiles(readme: string): Record<string, string> {
  // Generating a schema parses nothing, so no environment is needed.
  const context = { env: {}, secrets: new SecretMask() }
  const probe = jsonSchema(
    probeFileSchema(context).meta({
      title: 'smokeprobe probe file',
      description: 'One probe: a sequence of HTTP steps run as a user would, on a schedule. Unknown fields are errors.',
    }),
  )
  const alerting = jsonSchema(
    alertingFileSchema(context).meta({
      title: 'smokeprobe alerting file',
      description: 'The default alert policy and the named channels notifications go to. Unknown fields are errors.',
    }),
  )
  // Building the rows also writes each field's description into the schema, for editor hovers.
  const probeRows = referenceRows(probe, PROBE_DOCS)
  const { rows: alertingRows, channels } = alertingReference(alerting)
  return {
    [OUTPUTS.probe]: `${JSON.stringify(probe, null, 2)}\n`,
    [OUTPUTS.alerting]: `${JSON.stringify(alerting, null, 2)}\n`,
    [OUTPUTS.readme]: replaceReference(readme, referenceMarkdown(probeRows, alertingRows, channels)),
  }
}

function replaceReference(readme: string, reference: string): string {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`${OUTPUTS.readme} needs the markers ${START} and ${END} around its file reference`)
  return `${readme.slice(0, start + START.length)}\n${reference}${readme.slice(end)}`
}

/** A plain copy, so that writing one field's description can never reach another field sharing a node. */
function jsonSchema(schema: z.ZodType): JsonSchema {
  return JSON.parse(JSON.stringify(z.toJSONSchema(schema, { io: 'input', target: 'draft-07' }))) as JsonSchema
}

/** The alerting rows, and one table per channel type (each channel's fields depend on its `type`). */
function alertingReference(alerting: JsonSchema): { rows: Row[]; channels: { type: string; rows: Row[] }[] } {
  const rows = referenceRows(alerting, ALERTING_DOCS)
  const channelNode = alerting.properties?.channels?.additionalProperties
  const options = typeof channelNode === 'object' ? (channelNode.oneOf ?? []) : []
  const channels = options.map((option) => {
    const type = String(option.properties?.type?.const)
    const channelRows = referenceRows(option, channelDocs(type, option)).map((r) => ({ ...r, path: `channels.<name>.${r.path}` }))
    return { type, rows: channelRows }
  })
  return { rows, channels }
}

/** The meta key a channel field uses for the README's word for its type (`{ referenceType: 'integer' }`). */
const REFERENCE_TYPE = 'referenceType'

/**
 * A channel's words come from its own schema: each field's `.meta({ description })`
 * (src/alerting/channels/<type>.ts), so a new channel needs no edit here. The
 * `referenceType` meta key is taken out of the JSON Schema, where it means nothing.
 */
function channelDocs(type: string, option: JsonSchema): Docs {
  const fields: Record<string, string> = {}
  const types: Record<string, string> = {}
  const visit = (node: JsonSchema, path: string): void => {
    const mutable = node as JsonSchema & { [REFERENCE_TYPE]?: string }
    const referenceType = mutable[REFERENCE_TYPE]
    if (referenceType !== undefined) {
      types[path] = referenceType
      delete mutable[REFERENCE_TYPE]
    }
    if (path !== '' && node.description !== undefined) fields[path] = node.description
    for (const [key, child] of Object.entries(node.properties ?? {})) visit(child, path === '' ? key : `${path}.${key}`)
    for (const branch of node.anyOf ?? []) visit(branch, path)
  }
  visit(option, '')
  for (const key of Object.keys(option.properties ?? {})) {
    if (fields[key] === undefined) throw new Error(`channel ${type}: field ${key} has no .meta({ description }) in its schema`)
  }
  return { keys: {}, types, fields }
}

function referenceMarkdown(probeRows: Row[], alertingRows: Row[], channels: { type: string; rows: Row[] }[]): string {
  const parts = [
    '<!-- Generated by `npm run gen-schema` from the zod schemas in src/config/ and the words in scripts/schema-docs.ts; edit those, not this. -->',
    '',
    '### Probe file reference',
    '',
    PROBE_INTRO,
    '',
    markdownTable(probeRows),
    '',
    '### Alerting file reference',
    '',
    ALERTING_INTRO,
    '',
    markdownTable(alertingRows),
  ]
  for (const channel of channels) parts.push('', `#### Channel \`type: ${channel.type}\``, '', markdownTable(channel.rows))
  return `${parts.join('\n')}\n`
}

if (import.meta.main) {
  const root = path.resolve(import.meta.dirname, '..')
  const readme = await readFile(path.join(root, OUTPUTS.readme), 'utf8')
  for (const [file, content] of Object.entries(generateFiles(readme))) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true })
    await writeFile(path.join(root, file), content)
    console.log(`wrote ${file}`)
  }
}
