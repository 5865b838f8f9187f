/**
 * How an operation is run: its retry, its span, its metrics and the re-labelling of its errors with the caller's
 * view. The runner is chosen once per view, when the cache is built: a synchronous backend's answer is settled in
 * the step that asked for it; an asynchronous backend's Effect runs between two steps.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { type CacheError, isRetryable, type Operation } from "../CacheError.js"
import * as Backends from "./backend.js"
import type { Place } from "./context.js"
import { type Outcome, operationCount, operationDuration } from "./metrics.js"
import { withContext } from "./relabel.js"

/**
 * Operations whose answer cannot change by running them twice. Never add, increment or decrement (their first
 * attempt may have been applied before its reply was lost), nor delete, persist or the pattern deletions, whose
 * answer (did it exist, how many went) would describe the retry instead of the call.
 */
const idempotent: ReadonlySet<Operation> = new Set<Operation>([
  "get",
  "getMany",
  "set",
  "setMany",
  "has",
  "timeToLive",
  "expire",
  "ping",
  "getOrSet"
])

// An open circuit answers at once by design: retrying it would only spin until the cooldown ends.
const shouldRetry = (error: CacheError): boolean => isRetryable(error) && error.code !== "CIRCUIT_OPEN"

/** @internal */
export interface ObserveOptions {
  readonly backend: string
  /** The backend's server, for the `server.*` span attributes. */
  readonly server: { readonly address: string; readonly port: number } | undefined
  readonly retry: Schedule.Schedule<unknown, CacheError> | undefined
  readonly metrics: boolean
  readonly spans: boolean
  readonly spanKeys: boolean
  /** Whether the backend's commands answer with an `Exit` at the call (`Backend.fromSync`). */
  readonly synchronous: boolean
}

/** @internal */
export interface Observer {
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  /**
   * One operation: `command` is called when the operation runs (never before) and asks the backend; `finish` turns
   * its reply into the answer (decoding), in the step that records the outcome; a failure it returns counts as the
   * operation's error.
   */
  readonly call: <R, A>(
    operation: Operation,
    key: string | undefined,
    command: () => Effect.Effect<R, CacheError>,
    finish: (reply: R) => Exit.Exit<A, CacheError>,
    classify?: (value: A) => Outcome,
    within?: Tracer.Span
  ) => Effect.Effect<A, CacheError>
  /**
   * An operation made of several steps (`getOrSet`: its read, its lookup, its store): `body` runs in one span
   * `cachet.<operation>`, made inside a trace (`undefined` outside one), which its read passes to `call` or `local`
   * as `within` (they put their outcome on it rather than make a span of their own); the lookup's spans and the
   * store's are its children.
   */
  readonly traced: <A, E, R>(
    operation: Operation,
    key: string | undefined,
    body: (span: Tracer.Span | undefined) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
  /**
   * A listing: `stream` observed from its start to its end (its outcome is `ok`, or `error` when it fails; one that
   * its consumer stops early is `ok`), in a span of its own when consumed inside a trace.
   */
  readonly stream: <A>(operation: Operation, stream: Stream.Stream<A, CacheError>) => Stream.Stream<A, CacheError>
  /**
   * An operation refused before it runs (a bad argument): still an operation, counted and in a span as `error`,
   * that sends nothing.
   */
  readonly refuse: (error: CacheError) => Effect.Effect<never, CacheError>
  /** `call` of an Effect built beforehand (one that calls no command at its construction). */
  readonly run: <A>(
    operation: Operation,
    key: string | undefined,
    effect: Effect.Effect<A, CacheError>,
    classify?: (value: A) => Outcome
  ) => Effect.Effect<A, CacheError>
  readonly count: (
    metric: Metric.Metric.Counter<number>,
    extra?: ReadonlyArray<MetricLabel.MetricLabel>,
    amount?: number
  ) => void
  /**
   * An answer of the local tier, in the caller's step: counted with `tier: "local"` (its latency, a map lookup, is
   * not recorded), in a span of its own when inside a trace.
   */
  readonly local: <A>(
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    operation: Operation,
    key: string | undefined,
    outcome: Outcome,
    answer: Exit.Exit<A, CacheError>,
    within?: Tracer.Span
  ) => Effect.Effect<A, CacheError>
}

const ok = (): Outcome => "ok"

// A series is updated with no labels of its own: they are fixed in it.
const none: ReadonlyArray<MetricLabel.MetricLabel> = []

type Counter = Metric.Metric.Counter<number>

/** An operation's series: its count by outcome (and tier), its latency. */
interface OperationSeries {
  readonly outcomes: { readonly [K in Outcome]: Counter }
  readonly local: { readonly [K in Outcome]: Counter }
  readonly duration: Metric.Metric.Histogram<number>
}

/** Reads answer from a tier: hits, misses and stale serves say which one. */
const tiered = (outcome: Outcome): boolean => outcome === "hit" || outcome === "miss" || outcome === "stale"

/** @internal */
export const makeObserver = (options: ObserveOptions, place: Place): Observer => {
  const { namespace } = place
  const labels = [MetricLabel.make("backend", options.backend), MetricLabel.make("namespace", namespace)]
  // Series are found once per operation and outcome, not per call.
  const operationSeries = new Map<Operation, OperationSeries>()
  const seriesFor = (operation: Operation): OperationSeries => {
    let found = operationSeries.get(operation)
    if (found === undefined) {
      const base = [...labels, MetricLabel.make("operation", operation)]
      const withOutcome = (outcome: Outcome, tier: "local" | "remote" = "remote") =>
        operationCount(
          tiered(outcome)
            ? [...base, MetricLabel.make("outcome", outcome), MetricLabel.make("tier", tier)]
            : [...base, MetricLabel.make("outcome", outcome)]
        )
      const local = (outcome: Outcome) => withOutcome(outcome, "local")
      found = {
        duration: operationDuration(base),
        outcomes: {
          hit: withOutcome("hit"),
          miss: withOutcome("miss"),
          stale: withOutcome("stale"),
          ok: withOutcome("ok"),
          error: withOutcome("error")
        },
        local: { hit: local("hit"), miss: local("miss"), stale: local("stale"), ok: local("ok"), error: local("error") }
      }
      operationSeries.set(operation, found)
    }
    return found
  }

  // Named after OpenTelemetry's database conventions. A span is of the remote tier (the backend) unless the local tier
  // answered (`local`, or a `traced` operation that its tier answered).
  const baseAttributes: Record<string, string | number> = {
    "db.system.name": options.backend,
    "db.namespace": place.prefix,
    "cachet.tier": "remote",
    ...(options.server === undefined
      ? {}
      : { "server.address": options.server.address, "server.port": options.server.port })
  }
  // An answer of the local tier reached no server.
  const localAttributes: Record<string, string | number> = {
    "db.system.name": options.backend,
    "db.namespace": place.prefix,
    "cachet.tier": "local"
  }
  // Built on first use inside a trace, once per operation (keys vary, so with spanKeys once per call).
  const spanOptionsCache = new Map<Operation, Tracer.SpanOptions>()
  const localSpanOptionsCache = new Map<Operation, Tracer.SpanOptions>()
  const spanOptionsFor = (
    operation: Operation,
    key: string | undefined,
    tier: "local" | "remote" = "remote"
  ): Tracer.SpanOptions => {
    const withKey = options.spanKeys && key !== undefined
    const cache = tier === "local" ? localSpanOptionsCache : spanOptionsCache
    const cached = withKey ? undefined : cache.get(operation)
    if (cached !== undefined) return cached
    const made: Tracer.SpanOptions = {
      kind: "client",
      captureStackTrace: false,
      attributes: {
        ...(tier === "local" ? localAttributes : baseAttributes),
        "db.operation.name": operation,
        ...(withKey ? { "cachet.key": key } : {})
      }
    }
    if (!withKey) cache.set(operation, made)
    return made
  }

  const record = (operation: Operation, outcome: Outcome, start: number) => {
    const found = seriesFor(operation)
    found.outcomes[outcome].unsafeUpdate(1, none)
    found.duration.unsafeUpdate((performance.now() - start) / 1000, none)
  }

  const retryFor = (operation: Operation): Schedule.Schedule<unknown, CacheError> | undefined =>
    idempotent.has(operation) ? options.retry : undefined

  // The end of every operation: its outcome recorded (and put on its span), its error relabelled with the caller's
  // view.
  const settle = <A>(
    operation: Operation,
    key: string | undefined,
    exit: Exit.Exit<A, CacheError>,
    classify: (value: A) => Outcome,
    start: number,
    span?: Tracer.Span
  ): Exit.Exit<A, CacheError> => {
    if (exit._tag === "Success") {
      if (options.metrics || span !== undefined) {
        const outcome = classify(exit.value)
        if (options.metrics) record(operation, outcome, start)
        span?.attribute("cachet.outcome", outcome)
      }
      return exit
    }
    if (options.metrics) record(operation, "error", start)
    span?.attribute("cachet.outcome", "error")
    return Exit.failCause(Cause.map(exit.cause, (error) => withContext(error, operation, key)))
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
    classify: (value: A) => Outcome,
    within?: Tracer.Span
  ): Effect.Effect<A, CacheError> => {
    const schedule = retryFor(operation)
    const attempt = schedule === undefined ? effect : Effect.retry(effect, { schedule, while: shouldRetry })
    const start = options.metrics ? performance.now() : 0
    const observed = (span?: Tracer.Span) =>
      Effect.matchEffect(attempt, {
        onFailure: (error) => settle(operation, key, Exit.fail(error), classify, start, span),
        onSuccess: (reply) => settle(operation, key, finish(reply), classify, start, span)
      })
    if (!traced) return observed(within)
    // `withSpan`, with the span at hand so that the outcome can be put on it.
    return Effect.useSpan(`cachet.${operation}`, spanOptionsFor(operation, key), (span) =>
      Effect.withParentSpan(observed(span), span)
    )
  }

  // Spans only inside a trace, as OpenTelemetry's Redis instrumentations do by default: a span without a parent
  // belongs to no request, and making one costs more than a memory hit itself.
  const inTrace = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
    options.spans && fiber.currentSpan !== undefined

  type Call = Observer["call"]

  // A synchronous backend answers inside this very step: the whole operation, its metrics included, is one step.
  // A trace, a retry schedule, or an answer that is not an `Exit` (an operation that had to become an Effect, a
  // jittered write drawing from `Random`) takes the general path.
  const callSync: Call = (operation, key, command, finish, classify = ok, within) =>
    Effect.withFiberRuntime((fiber) => {
      const spanned = within === undefined && inTrace(fiber)
      if (spanned || retryFor(operation) !== undefined) {
        return observe(spanned, operation, key, Effect.suspend(command), finish, classify, within)
      }
      const start = options.metrics ? performance.now() : 0
      const reply = command()
      if (!Backends.isExit(reply)) return observe(false, operation, key, reply, finish, classify, within)
      return settle(
        operation,
        key,
        reply._tag === "Success" ? finish(reply.value) : Exit.failCause(reply.cause),
        classify,
        start,
        within
      )
    })

  const callAsync: Call = (operation, key, command, finish, classify = ok, within) =>
    Effect.withFiberRuntime((fiber) =>
      observe(within === undefined && inTrace(fiber), operation, key, command(), finish, classify, within)
    )

  // Without metrics and spans nothing needs the fiber or the clock.
  const callBare: Call = (operation, key, command, finish, classify = ok) =>
    Effect.suspend(() => observe(false, operation, key, command(), finish, classify))

  const call: Call = options.synchronous ? callSync : options.metrics || options.spans ? callAsync : callBare

  const stream: Observer["stream"] = (operation, listing) =>
    Stream.unwrapScoped(
      Effect.withFiberRuntime((fiber) => {
        const start = options.metrics ? performance.now() : 0
        const end = (span: Tracer.Span | undefined) => (exit: Exit.Exit<unknown, CacheError>) =>
          Effect.sync(() => {
            const outcome: Outcome = Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause) ? "ok" : "error"
            if (options.metrics) record(operation, outcome, start)
            span?.attribute("cachet.outcome", outcome)
          })
        if (!inTrace(fiber)) return Effect.succeed(Stream.ensuringWith(listing, end(undefined)))
        // The span ends with the consumer's scope of the stream, so it covers the whole listing.
        return Effect.map(Effect.makeSpanScoped(`cachet.${operation}`, spanOptionsFor(operation, undefined)), (span) =>
          Stream.ensuringWith(listing, end(span)).pipe(Stream.provideService(Tracer.ParentSpan, span))
        )
      })
    )

  return {
    labels,
    call,
    stream,
    refuse: (error) => call(error.operation, error.key, () => Exit.fail(error), Exit.succeed),
    run: (operation, key, effect, classify) => call(operation, key, () => effect, Exit.succeed, classify),
    count: (metric, extra = [], amount = 1) => {
      if (options.metrics) metric.unsafeUpdate(amount, extra.length === 0 ? labels : [...labels, ...extra])
    },
    traced: (operation, key, body) =>
      options.spans
        ? Effect.withFiberRuntime((fiber) =>
            fiber.currentSpan === undefined
              ? body(undefined)
              : Effect.useSpan(`cachet.${operation}`, spanOptionsFor(operation, key), (span) =>
                  Effect.withParentSpan(body(span), span)
                )
          )
        : body(undefined),
    local: (fiber, operation, key, outcome, answer, within) => {
      if (options.metrics) seriesFor(operation).local[outcome].unsafeUpdate(1, none)
      if (within !== undefined) {
        within.attribute("cachet.tier", "local")
        within.attribute("cachet.outcome", outcome)
        return answer
      }
      return inTrace(fiber)
        ? Effect.useSpan(`cachet.${operation}`, spanOptionsFor(operation, key, "local"), (span) => {
            span.attribute("cachet.outcome", outcome)
            return answer
          })
        : answer
    }
  }
}
