/** One message for one channel: what every channel formats in its own protocol. */
export type NotificationEvent = 'firing' | 'resolved' | 'reminder' | 'test'

export interface Notification {
  /** Unique per (incident, event, sequence): an idempotency key receivers can dedupe on. */
  readonly id: string
  readonly event: NotificationEvent
  readonly probe: string
  /** The vantage point (`--location`), or null when none was given. */
  readonly location: string | null
  /**
   * Deterministic from probe, location and incident start, so restarts and
   * replicas agree on it (PagerDuty dedup_key, webhook groupKey).
   */
  readonly incidentId: string
  /** ISO time of the incident's first failed run. */
  readonly since: string
  /** ISO time this event was decided. */
  readonly at: string
  readonly consecutiveFailures: number
  /** One line for a subject or a pager title, e.g. `FIRING items-crud: read: expected status 200, got 500`. */
  readonly summary: string
  readonly error: NotificationError | null
  readonly labels: Readonly<Record<string, string>>
  /** The probe's `description`, when it has one: what the failing check does, for the person paged. */
  readonly description?: string
  /** The probe's `runbook` URL, when it declares one: what to do about it. */
  readonly runbook?: string
}

/** The failed step as a notification carries it: the reason and, when the step got a response, its evidence (SPEC "Failure evidence"). */
export interface NotificationError {
  readonly step: string
  readonly message: string
  /** The response status, */
  readonly status?: number
  /** its `content-type`, */
  readonly contentType?: string
  /** and the first 512 bytes of its body, masked (`<N bytes of TYPE>` for a binary body); absent for an empty body or no response. */
  readonly excerpt?: string
}
