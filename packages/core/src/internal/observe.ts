import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricLabel from "effect/MetricLabel"
import * as MetricLabelModule from "effect/MetricLabel"
import * as MetricState from "effect/MetricState"
import type * as Schedule from "effect/Schedule"
import type * as Tracer from "effect/Tracer"
import type { Operation } from "../CacheError.js"
import { type CacheError, isRetryable, withContext } from "../CacheError.js"

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

/** @internal */
export const metrics = {
  operations: counter(
    "cachet_operations_total",
    "Cache operations by backend, namespace, operation and outcome (hit, miss, ok, error)"
  ),
  duration: Metric.histogram(
    "cachet_operation_duration_seconds",
    MetricBoundaries.exponential({ start: 0.00005, factor: 2, count: 16 }),
    "Cache operation latency in seconds"
  ),
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
  failOpen: counter(
    "cachet_fail_open_total",
    'Operations whose backend failure was turned into a miss or a no-op (failOpen, or getOrSet with onCacheError: "bypass")'
  )
}

/** @internal */
/** `stale`: a getOrSet served a value past its freshness (and refreshes it in the background). */
export type Outcome = "hit" | "miss" | "stale" | "ok" | "error"

/**
 * Operations whose answer cannot change by running them twice. Never add, increment or decrement (their first
 * attempt may have been applied before its reply was lost), nor delete, persist or the pattern deletions, whose
 * answer (did it exist, how many went) would describe the retry instead of the call.
 */
const idempotent = new Set(["get", "getMany", "set", "setMany", "has", "timeToLive", "expire", "ping", "getOrSet"])

// An open circuit answers at once by design: retrying it would only spin until the cooldown ends.
const shouldRetry = (error: CacheError): boolean => isRetryable(error) && error.code !== "CIRCUIT_OPEN"

/** @internal */
export interface ObserveOptions {
  readonly backend: string
  readonly retry: Schedule.Schedule<unknown, CacheError> | undefined
  readonly metrics: boolean
  readonly spans: boolean
  readonly spanKeys: boolean
}

/** @internal */
export interface Observer {
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  readonly run: <A>(
    operation: Operation,
    key: string | undefined,
    effect: Effect.Effect<A, CacheError>,
    classify?: (value: A) => Outcome
  ) => Effect.Effect<A, CacheError>
  /**
   * `run` for an effect whose reply still needs a synchronous step (decoding): `finish` runs in the step that records
   * the outcome, and a failure it returns counts as the operation's error.
   */
  readonly runThen: <R, A>(
    operation: Operation,
    key: string | undefined,
    effect: Effect.Effect<R, CacheError>,
    finish: (reply: R) => Exit.Exit<A, CacheError>,
    classify: (value: A) => Outcome
  ) => Effect.Effect<A, CacheError>
  /**
   * `run` for an operation computed synchronously (a backend's synchronous forms): the whole operation, its metrics
   * included, is one Effect step. Inside a trace, or when the retry schedule applies, it runs as `run` would.
   */
  readonly runSync: <A>(
    operation: Operation,
    key: string | undefined,
    compute: () => Exit.Exit<A, CacheError>,
    classify?: (value: A) => Outcome
  ) => Effect.Effect<A, CacheError>
  readonly count: (metric: Metric.Metric.Counter<number>, extra?: ReadonlyArray<MetricLabel.MetricLabel>) => void
}

const ok = (): Outcome => "ok"

type OperationLabels = { readonly [K in Outcome | "duration"]: ReadonlyArray<MetricLabel.MetricLabel> }

/** @internal */
export const makeObserver = (options: ObserveOptions, namespace: string): Observer => {
  const labels = [MetricLabelModule.make("backend", options.backend), MetricLabelModule.make("namespace", namespace)]
  // Label arrays are built once per operation, not per call: Effect finds a metric's series by the array itself.
  const operationLabels = new Map<string, OperationLabels>()
  const labelsFor = (operation: Operation): OperationLabels => {
    let found = operationLabels.get(operation)
    if (found === undefined) {
      const base = [...labels, MetricLabelModule.make("operation", operation)]
      const withOutcome = (outcome: Outcome) => [...base, MetricLabelModule.make("outcome", outcome)]
      found = {
        duration: base,
        hit: withOutcome("hit"),
        miss: withOutcome("miss"),
        stale: withOutcome("stale"),
        ok: withOutcome("ok"),
        error: withOutcome("error")
      }
      operationLabels.set(operation, found)
    }
    return found
  }

  // Built on first use inside a trace, once per operation (keys vary, so with spanKeys once per call).
  const spanOptionsCache = new Map<string, Tracer.SpanOptions>()
  const spanOptionsFor = (operation: Operation, key: string | undefined): Tracer.SpanOptions => {
    const withKey = options.spanKeys && key !== undefined
    const cached = withKey ? undefined : spanOptionsCache.get(operation)
    if (cached !== undefined) return cached
    const made: Tracer.SpanOptions = {
      kind: "client",
      captureStackTrace: false,
      attributes: {
        "db.system.name": options.backend,
        "db.operation.name": operation,
        "cachet.namespace": namespace,
        ...(withKey ? { "cachet.key": key } : {})
      }
    }
    if (!withKey) spanOptionsCache.set(operation, made)
    return made
  }

  const record = (operation: Operation, outcome: Outcome, start: number) => {
    const found = labelsFor(operation)
    metrics.operations.unsafeUpdate(1, found[outcome])
    metrics.duration.unsafeUpdate((performance.now() - start) / 1000, found.duration)
  }

  const retryFor = (operation: Operation): Schedule.Schedule<unknown, CacheError> | undefined =>
    idempotent.has(operation) ? options.retry : undefined

  const relabel = (operation: Operation, key: string | undefined, cause: Cause.Cause<CacheError>) =>
    Cause.map(cause, (error) => withContext(error, operation, key))

  // The end of every operation: its outcome recorded, its error relabelled with the caller's view.
  const settle = <A>(
    operation: Operation,
    key: string | undefined,
    exit: Exit.Exit<A, CacheError>,
    classify: (value: A) => Outcome,
    start: number
  ): Exit.Exit<A, CacheError> => {
    if (exit._tag === "Success") {
      if (options.metrics) record(operation, classify(exit.value), start)
      return exit
    }
    if (options.metrics) record(operation, "error", start)
    return Exit.failCause(relabel(operation, key, exit.cause))
  }

  // Each Effect step costs about as much as a memory hit, so an operation takes as few as it can: the caller's step
  // that reads the fiber (its span) and the clock, the backend's own, and one that decodes the reply, records the
  // outcome and relabels the error.
  const observe = <R, A>(
    traced: boolean,
    operation: Operation,
    key: string | undefined,
    effect: Effect.Effect<R, CacheError>,
    finish: (reply: R) => Exit.Exit<A, CacheError>,
    classify: (value: A) => Outcome
  ): Effect.Effect<A, CacheError> => {
    const schedule = retryFor(operation)
    const attempt = schedule === undefined ? effect : Effect.retry(effect, { schedule, while: shouldRetry })
    const start = options.metrics ? performance.now() : 0
    const observed = Effect.matchEffect(attempt, {
      onFailure: (error) => settle(operation, key, Exit.fail(error), classify, start),
      onSuccess: (reply) => settle(operation, key, finish(reply), classify, start)
    })
    return traced ? Effect.withSpan(observed, `cachet.${operation}`, spanOptionsFor(operation, key)) : observed
  }

  // Spans only inside a trace, as OpenTelemetry's Redis instrumentations do by default: a span without a parent
  // belongs to no request, and making one costs more than a memory hit itself.
  const traced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
    options.spans && fiber.currentSpan !== undefined

  const runThen = <R, A>(
    operation: Operation,
    key: string | undefined,
    effect: Effect.Effect<R, CacheError>,
    finish: (reply: R) => Exit.Exit<A, CacheError>,
    classify: (value: A) => Outcome
  ): Effect.Effect<A, CacheError> =>
    // Without metrics and spans nothing needs the fiber or the clock: no step of its own.
    !options.metrics && !options.spans
      ? observe(false, operation, key, effect, finish, classify)
      : Effect.withFiberRuntime((fiber) => observe(traced(fiber), operation, key, effect, finish, classify))

  const run = <A>(
    operation: Operation,
    key: string | undefined,
    effect: Effect.Effect<A, CacheError>,
    classify: (value: A) => Outcome = ok
  ): Effect.Effect<A, CacheError> => runThen(operation, key, effect, Exit.succeed, classify)

  const runSync = <A>(
    operation: Operation,
    key: string | undefined,
    compute: () => Exit.Exit<A, CacheError>,
    classify: (value: A) => Outcome = ok
  ): Effect.Effect<A, CacheError> =>
    Effect.withFiberRuntime((fiber) => {
      if (retryFor(operation) !== undefined || traced(fiber)) {
        return observe(traced(fiber), operation, key, Effect.suspend(compute), Exit.succeed, classify)
      }
      const start = options.metrics ? performance.now() : 0
      return settle(operation, key, compute(), classify, start)
    })

  return {
    labels,
    run,
    runThen,
    runSync,
    count: (metric, extra = []) => metric.unsafeUpdate(1, extra.length === 0 ? labels : [...labels, ...extra])
  }
}

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
