/**
 * The alert state in `--state-dir`: one versioned JSON file with each probe's
 * state and the outbox of undelivered notifications, so a restart neither
 * pages twice nor loses a resolve. The I/O is `state/snapshot.ts`'s: atomic,
 * serialized and coalesced writes, a corrupt file set aside. A file that
 * exists but cannot be read is never replaced: the load throws
 * `StateUnreadableError` and every later save is refused (README "Alerting").
 */
import { createHash } from 'node:crypto'
import * as z from 'zod'
import type { AlertPolicy } from '../config/alert-policy.ts'
import type { Failure } from '../probe/result.ts'
import type { WriteReporting } from '../state/fs.ts'
import { createSnapshot, type Snapshot } from '../state/snapshot.ts'
import type { OutboxEntry } from './delivery.ts'
import type { Notification } from './notification.ts'
import type { AlertState } from './state.ts'

export { StateUnreadableError } from '../state/fs.ts'

export const STATE_FILE = 'alert-state.json'
export const STATE_VERSION = 1

export interface ProbeRecord {
  /** The policy the state was decided under: a removed probe is resolved by it. */
  readonly policy: AlertPolicy
  /** Gatus's `alert.Checksum()`: tells a policy change from a restart. */
  readonly policyHash: string
  readonly labels: Readonly<Record<string, string>>
  /** The probe's description and runbook, told with each of its notifications; absent when it has none. */
  readonly description?: string
  readonly runbook?: string
  /**
   * Channels the open incident was paged to, by name and destination hash:
   * they, and only they, get its reminders and resolve.
   */
  readonly paged: readonly PagedChannel[]
  readonly state: AlertState
  /**
   * The open incident's id, fixed when it fired, so its reminders and resolve
   * carry the firing's id (PagerDuty dedup_key) even if `--location` changed
   * across a restart. Null while no incident is open, and in a state file
   * written before it was stored (then derived as at the firing).
   */
  readonly incidentId: string | null
  /**
   * The `--location` the open incident fired under: its reminders, resolve
   * and Alertmanager re-sends keep it (the location label is part of the
   * alert's identity there). Absent while no incident is open, and in a state
   * file written before it was stored (then the current location).
   */
  readonly incidentLocation?: string | null
}

/** A channel an incident was paged to. `hash` null: unknown (a state file from before it was stored). */
export interface PagedChannel {
  readonly name: string
  readonly hash: string | null
}

export interface StoredAlerts {
  readonly probes: Readonly<Record<string, ProbeRecord>>
  readonly outbox: readonly OutboxEntry[]
}

/**
 * Missing file: empty, no warning. Corrupt, or another version: set aside,
 * empty and a warning to log. There but unreadable (a directory, a dangling
 * symlink, EACCES, EIO): `load` throws `StateUnreadableError` and every later
 * save is refused.
 */
export type Store = Snapshot<StoredAlerts>

export const EMPTY_ALERTS: StoredAlerts = { probes: {}, outbox: [] }

/** After every write attempt (coalesced saves share one) `onWrite`; a new cause logged once to `logger`. */
export type StoreOptions = WriteReporting

/** sha256 of the policy with sorted keys, first 16 hex digits. */
export function policyHash(policy: AlertPolicy): string {
  const canonical = JSON.stringify(policy, Object.keys(policy).sort())
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16)
}

export function createStore(dir: string, options: StoreOptions = {}): Store {
  return createSnapshot(dir, {
    ...options,
    name: STATE_FILE,
    label: 'alert state',
    version: STATE_VERSION,
    schema: StoredAlertsSchema,
    empty: EMPTY_ALERTS,
    // Refuse rather than start empty: the file may hold open incidents and
    // queued resolves, and the first write would replace it for good.
    unreadable: 'refuse',
  })
}

// Each shape `satisfies` its TypeScript type, so a field added to the type
// and not here is a type error (test/alerting/store.test.ts also checks that
// none is dropped, optional ones included).

const Iso = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'expected an ISO time')

export const FailureSchema = z.object({
  step: z.string(),
  kind: z.enum(['transport', 'timeout', 'status', 'expectation', 'capture', 'body_too_large']),
  reason: z.enum([
    'timeout',
    'dns',
    'connect',
    'reset',
    'tls',
    'redirect',
    'transport',
    'status',
    'expectation',
    'capture',
    'body_too_large',
    'invalid_body',
    'template',
  ]),
  message: z.string(),
  // The failure evidence, so a firing's excerpt survives a restart.
  status: z.int().optional(),
  contentType: z.string().optional(),
  bodyExcerpt: z.string().optional(),
}) satisfies z.ZodType<Failure>

const Open = {
  since: Iso,
  failedRuns: z.int().min(0),
  lastFailure: FailureSchema.nullable(),
  lastNotifiedAt: Iso,
  reminders: z.int().min(0),
}

export const AlertStateSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ok') }),
  z.object({ kind: z.literal('failing'), since: Iso, failures: z.int().min(1), lastFailure: FailureSchema.nullable() }),
  z.object({ kind: z.literal('firing'), failures: z.int().min(1), ...Open }),
  z.object({ kind: z.literal('recovering'), successes: z.int().min(1), ...Open }),
]) satisfies z.ZodType<AlertState>

export const AlertPolicySchema = z.object({
  failureThreshold: z.int().min(1),
  successThreshold: z.int().min(1),
  reminderIntervalMs: z.number().min(0),
  sendResolved: z.boolean(),
  channels: z.array(z.string()),
}) satisfies z.ZodType<AlertPolicy>

export const NotificationSchema = z.object({
  id: z.string().min(1),
  event: z.enum(['firing', 'resolved', 'reminder', 'test']),
  probe: z.string(),
  location: z.string().nullable(),
  incidentId: z.string(),
  since: Iso,
  at: Iso,
  consecutiveFailures: z.int().min(0),
  summary: z.string(),
  error: z
    .object({
      step: z.string(),
      message: z.string(),
      // The evidence, absent in files written before it was carried.
      status: z.int().optional(),
      contentType: z.string().optional(),
      excerpt: z.string().optional(),
    })
    .nullable(),
  labels: z.record(z.string(), z.string()),
  // Absent when the probe has none, and in files written before they were carried.
  description: z.string().optional(),
  runbook: z.string().optional(),
}) satisfies z.ZodType<Notification>

export const ProbeRecordSchema = z.object({
  policy: AlertPolicySchema,
  policyHash: z.string(),
  labels: z.record(z.string(), z.string()),
  // Absent when the probe has none, and in files written before they were stored.
  description: z.string().optional(),
  runbook: z.string().optional(),
  // A bare name is a file from before destination hashes were stored: hash unknown.
  paged: z.array(
    z
      .union([z.string().transform((name) => ({ name, hash: null })), z.object({ name: z.string(), hash: z.string().min(1).nullable() })])
      // One output type, not a union of two alike: the type test compares it exactly.
      .transform((paged): PagedChannel => paged),
  ),
  state: AlertStateSchema,
  // Absent in files written before the id was stored.
  incidentId: z.string().min(1).nullable().default(null),
  // Absent in files written before it was stored.
  incidentLocation: z.string().nullable().optional(),
}) satisfies z.ZodType<ProbeRecord>

export const OutboxEntrySchema = z.object({
  channel: z.string().min(1),
  // Absent in files from before destination hashes were stored: unknown.
  identity: z.string().min(1).nullable().default(null),
  notification: NotificationSchema,
  attempts: z.int().min(0),
  enqueuedAt: Iso,
  firstAttemptAt: Iso.nullable(),
  nextAttemptAt: Iso,
  lastError: z.string().nullable(),
}) satisfies z.ZodType<OutboxEntry>

/** The file's body; `version` beside it is the snapshot module's. */
export const StoredAlertsSchema = z.object({
  probes: z.record(z.string(), ProbeRecordSchema),
  outbox: z.array(OutboxEntrySchema),
}) satisfies z.ZodType<StoredAlerts>
