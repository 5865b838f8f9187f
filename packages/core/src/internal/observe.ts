import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricLabel from "effect/MetricLabel"
import * as MetricLabelModule from "effect/MetricLabel"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Tracer from "effect/Tracer"
import { type CacheError, isRetryable, withContext } from "../CacheError.js"

/** @internal */
export const metrics = {
  operations: Metric.counter("cachet_operations_total", {
    description: "Cache operations by backend, namespace, operation and outcome (hit, miss, ok, error)",
    incremental: true
  }),
  duration: Metric.histogram(
    "cachet_operation_duration_seconds",
    MetricBoundaries.exponential({ start: 0.00005, factor: 2, count: 16 }),
    "Cache operation latency in seconds"
  ),
  staleServed: Metric.counter("cachet_stale_served_total", {
    description: "Stale values served by getOrSet (while revalidating or on a lookup error)",
    incremental: true
  }),
  refreshes: Metric.counter("cachet_refreshes_total", {
    description: "Background refreshes by outcome",
    incremental: true
  }),
  singleFlightJoins: Metric.counter("cachet_single_flight_joins_total", {
    description: "getOrSet calls that waited for another caller's lookup instead of running their own",
    incremental: true
  }),
  lockWaits: Metric.counter("cachet_lock_waits_total", {
    description: "getOrSet calls with a lock that found another process's lock and waited for its value",
    incremental: true
  }),
  failOpen: Metric.counter("cachet_fail_open_total", {
    description: "Operations whose backend failure was turned into a miss or a no-op by failOpen",
    incremental: true
  })
}

/** @internal */
export type Outcome = "hit" | "miss" | "ok" | "error"

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
    operation: string,
    key: string | undefined,
    effect: Effect.Effect<A, CacheError>,
    classify?: (value: A) => Outcome
  ) => Effect.Effect<A, CacheError>
  readonly count: (metric: Metric.Metric.Counter<number>, extra?: ReadonlyArray<MetricLabel.MetricLabel>) => void
}

const ok = (): Outcome => "ok"

/** @internal */
export const makeObserver = (options: ObserveOptions, namespace: string): Observer => {
  const labels = [MetricLabelModule.make("backend", options.backend), MetricLabelModule.make("namespace", namespace)]
  // Label arrays are built once per operation and outcome, not per call.
  const operationLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const labelsFor = (operation: string, outcome: Outcome | undefined) => {
    const id = outcome === undefined ? operation : `${operation}\u0000${outcome}`
    let found = operationLabels.get(id)
    if (found === undefined) {
      found = [
        ...labels,
        MetricLabelModule.make("operation", operation),
        ...(outcome === undefined ? [] : [MetricLabelModule.make("outcome", outcome)])
      ]
      operationLabels.set(id, found)
    }
    return found
  }

  // Built on first use inside a trace, once per operation (keys vary, so with spanKeys once per call).
  const spanOptionsCache = new Map<string, Tracer.SpanOptions>()
  const spanOptionsFor = (operation: string, key: string | undefined): Tracer.SpanOptions => {
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

  const record = (operation: string, outcome: Outcome, start: number) => {
    metrics.operations.unsafeUpdate(1, labelsFor(operation, outcome))
    metrics.duration.unsafeUpdate((performance.now() - start) / 1000, labelsFor(operation, undefined))
  }

  const run = <A>(
    operation: string,
    key: string | undefined,
    effect: Effect.Effect<A, CacheError>,
    classify: (value: A) => Outcome = ok
  ): Effect.Effect<A, CacheError> => {
    const attempt =
      options.retry !== undefined && idempotent.has(operation)
        ? Effect.retry(effect, { schedule: options.retry, while: shouldRetry })
        : effect
    if (!options.metrics && !options.spans)
      return Effect.mapError(attempt, (error) => withContext(error, operation, key))
    // One step to read the context and the clock, one to label the error and record the outcome: each Effect step
    // costs about as much as a memory hit, so the hot path takes as few as it can.
    return Effect.contextWithEffect((context: Context.Context<never>) => {
      const start = options.metrics ? performance.now() : 0
      const observed = Effect.matchEffect(attempt, {
        onFailure: (error) => {
          if (options.metrics) record(operation, "error", start)
          return Effect.fail(withContext(error, operation, key))
        },
        onSuccess: (value) => {
          if (options.metrics) record(operation, classify(value), start)
          return Effect.succeed(value)
        }
      })
      // Spans only inside a trace, as OpenTelemetry's Redis instrumentations do by default: a span without a
      // parent belongs to no request, and making one costs more than a memory hit itself.
      return options.spans && Option.isSome(Context.getOption(context, Tracer.ParentSpan))
        ? Effect.withSpan(observed, `cachet.${operation}`, spanOptionsFor(operation, key))
        : observed
    })
  }

  return {
    labels,
    run,
    count: (metric, extra = []) => metric.unsafeUpdate(1, extra.length === 0 ? labels : [...labels, ...extra])
  }
}
