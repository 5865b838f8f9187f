/**
 * Cachet's metrics, and a snapshot that reads every series of them.
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import type * as MetricLabel from "effect/MetricLabel"
import * as MetricState from "effect/MetricState"

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

const operationsKey = MetricKey.counter("cachet_operations_total", {
  description: "Cache operations by backend, namespace, operation and outcome (hit, miss, ok, error)",
  incremental: true
})
const durationKey = MetricKey.histogram(
  "cachet_operation_duration_seconds",
  MetricBoundaries.exponential({ start: 0.00005, factor: 2, count: 16 }),
  "Cache operation latency in seconds"
)

/**
 * One series of the operation metrics, its labels fixed: updated with no labels, it goes straight to its series
 * (a metric updated with labels looks its series up by the label array on every update).
 *
 * @internal
 */
export const operationCount = (labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
  Metric.fromMetricKey(MetricKey.taggedWithLabels(operationsKey, labels))

/** @internal */
export const operationDuration = (labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
  Metric.fromMetricKey(MetricKey.taggedWithLabels(durationKey, labels))

/** @internal */
export const metrics = {
  operations: Metric.fromMetricKey(operationsKey),
  duration: Metric.fromMetricKey(durationKey),
  staleServed: counter(
    "cachet_stale_served_total",
    "Stale values served by getOrSet (while revalidating or on a lookup error)"
  ),
  refreshes: counter("cachet_refreshes_total", "Background refreshes by outcome"),
  singleFlightJoins: counter(
    "cachet_single_flight_joins_total",
    "getOrSet calls that waited for another caller's lookup instead of running their own"
  ),
  lockWaits: counter(
    "cachet_lock_waits_total",
    "getOrSet calls with a lock that found another process's lock and waited for its value"
  ),
  decodeHeals: counter(
    "cachet_decode_heals_total",
    "getOrSet reads whose stored entry did not decode and was treated as a miss (and overwritten)"
  ),
  lockReleaseFailures: counter(
    "cachet_lock_release_failures_total",
    "getOrSet locks whose release failed: other processes wait until the lock expires"
  ),
  lookupTimeouts: counter(
    "cachet_lookup_timeouts_total",
    "getOrSet calls whose lookup outlived their timeout (it goes on in the background), by kind (soft: stale served; hard: LOOKUP_TIMEOUT or stale under staleIfError)"
  ),
  refreshAheads: counter(
    "cachet_refresh_ahead_total",
    "Background refreshes started by getOrSet hits past the refreshAhead fraction of their freshness"
  ),
  failSafeThrottled: counter(
    "cachet_fail_safe_throttled_total",
    "Stale values getOrSet served without a lookup, within failSafeThrottle of a failed one"
  ),
  localInvalidations: counter(
    "cachet_local_invalidations_total",
    "Keys the local tier dropped because the backend reported them changed by another writer"
  ),
  localFlushes: counter(
    "cachet_local_flushes_total",
    "Times the local tier dropped everything it held, by reason (flushed, cleared, disconnected, unresponsive, reconnected, topology, failover)"
  ),
  tagInvalidations: counter("cachet_tag_invalidations_total", "invalidateTags calls that completed"),
  tagInvalidatedEntries: counter(
    "cachet_tag_invalidated_entries_total",
    "Entries removed by invalidateTags because they were written with one of its tags"
  ),
  failOpen: counter(
    "cachet_fail_open_total",
    'Operations whose backend failure was turned into a miss or a no-op (failOpen, or getOrSet with onCacheError: "bypass")'
  )
}

/** @internal */
/** `stale`: a getOrSet served a value past its freshness (and refreshes it in the background). */
export type Outcome = "hit" | "miss" | "stale" | "ok" | "error"

/** @internal */
export interface MetricRow {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** A counter's count, or the number of observations of a histogram. */
  readonly value: number
  /** The sum of a histogram's observations (seconds, for durations). */
  readonly sum?: number | undefined
}

/**
 * Every series of Cachet's metrics with its labels. Effect keeps one series per label set, so `Metric.value` of an
 * untagged metric reads a series nobody updates; a snapshot reads them all.
 *
 * @internal
 */
export const snapshot: Effect.Effect<ReadonlyArray<MetricRow>> = Effect.map(Metric.snapshot, (pairs) => {
  const rows: Array<MetricRow> = []
  for (const pair of pairs) {
    const name = pair.metricKey.name
    if (!name.startsWith("cachet_")) continue
    const labels: Record<string, string> = {}
    for (const tag of pair.metricKey.tags) labels[tag.key] = tag.value
    const state = pair.metricState
    if (MetricState.isCounterState(state)) rows.push({ name, labels, value: Number(state.count) })
    else if (MetricState.isHistogramState(state)) rows.push({ name, labels, value: state.count, sum: state.sum })
  }
  return rows
})
