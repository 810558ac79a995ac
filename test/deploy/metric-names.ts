/** The SPEC "Metrics" table: names there are a contract that dashboards and rules may rely on. */
export const SPEC_METRICS = [
  'probe_success',
  'probe_duration_seconds',
  'probe_runs_total',
  'probe_step_duration_seconds',
  'probe_failures_total',
  'probe_consecutive_failures',
  'probe_alert_firing',
  'probe_muted',
  'probe_last_run_timestamp_seconds',
  'probe_notifications_total',
  'probe_config_info',
  'probe_config_last_reload_successful',
  'probe_state_write_failures_total',
  'probe_network_up',
  'probe_runs_skipped_total',
  'probe_runs_missed_total',
  'probe_schedule_lateness_seconds',
  'probe_notifications_pending',
  'probe_cleanup_pending',
  'probe_sweep_deleted_total',
  'probe_orphans_found',
] as const

/**
 * Metrics beyond the SPEC table that README "Metrics" documents, each the only
 * signal of its event (a cleanup given up, a sweep that failed): rules and
 * dashboards may use them, and their names are kept as if they were contract.
 */
export const DOCUMENTED_METRICS = [...SPEC_METRICS, 'probe_cleanup_abandoned_total', 'probe_sweep_failures_total'] as const

/** Every smokeprobe metric a PromQL expression names, histogram series (`_bucket`, `_sum`, `_count`) by their family. */
export function metricsIn(expr: string): string[] {
  const names = [...expr.matchAll(/\b(probe_[a-z0-9_]+|smokeprobe_[a-z0-9_]+)\b/g)].map((m) => m[1]!)
  return [...new Set(names.map((name) => name.replace(/_(bucket|sum|count)$/, '')))]
}
