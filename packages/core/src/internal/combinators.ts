/**
 * The public declarations of `Cache`'s combinators, metrics and cache-aside accessors, re-exported by `Cache.ts`
 * (which would otherwise run far past the size of a file one reads at once). Implementations are in `cached.ts`,
 * `failOpen.ts`, `resolver.ts` and `metrics.ts`.
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import type * as Request from "effect/Request"
import type * as RequestResolver from "effect/RequestResolver"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Cache, Lookup, RequireJsonEncoded, RequireJsonSafe } from "../Cache.js"
import type { CacheError } from "../CacheError.js"
import * as internal from "./cached.js"
import * as failOpenInternal from "./failOpen.js"
import * as observe from "./metrics.js"
import type * as Model from "./model.js"
import * as resolverInternal from "./resolver.js"

/**
 * The options of `cached`: those of `getOrSet`, and the key of a call.
 *
 * @since 0.1.0
 * @category models
 */
export type CachedOptions<Args extends ReadonlyArray<unknown>, A> = Model.CachedOptions<Args, A>

/**
 * A cached function, with `invalidate` to drop the entry of some arguments.
 *
 * @since 0.1.0
 * @category models
 */
export type CachedFunction<Args extends ReadonlyArray<unknown>, A, E, R> = Model.CachedFunction<Args, A, E, R>

/**
 * Turn a function into a cached one, with `.invalidate(...args)`. The function may return an `Effect` or a
 * plain value. With `schema`, results are encoded and checked by it (Date, BigInt, classes round-trip);
 * without, they go through the cache's JSON codec and must be JSON-safe (see `JsonSafe`).
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { Effect } from "effect"
 *
 * const getUser = Cache.cached({ key: (id: number) => `user:${id}`, timeToLive: "5 minutes" })(
 *   (id: number) => Effect.succeed({ id, name: "Ada" })
 * )
 * const program = Effect.zipRight(getUser(1), getUser.invalidate(1))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const cached: {
  <Args extends ReadonlyArray<unknown>, A, I>(
    options: CachedOptions<Args, A> & { readonly schema: Schema.Schema<A, I, never> & RequireJsonEncoded<I> }
  ): {
    <E, R>(f: (...args: Args) => Effect.Effect<A, E, R>): CachedFunction<Args, A, E, R>
    (f: (...args: Args) => A): CachedFunction<Args, A, never, never>
  }
  <Args extends ReadonlyArray<unknown>>(
    options: CachedOptions<Args, unknown>
  ): {
    <A, E, R>(f: ((...args: Args) => Effect.Effect<A, E, R>) & RequireJsonSafe<A>): CachedFunction<Args, A, E, R>
    <A>(f: ((...args: Args) => A) & RequireJsonSafe<A>): CachedFunction<Args, A, never, never>
  }
} = internal.cached

/**
 * Make a cache fail open: a read that fails because the backend is unavailable or timed out is a miss, a write
 * is a no-op (`add`, `delete`, `expire`, `persist` answer `false`; counts answer `0`), and `getOrSet` runs its
 * lookup. Each is logged at warning level and counted in `cachet_fail_open_total`. Encode errors, decode errors,
 * bad input and command errors still fail; so do `increment`/`decrement` (no honest fallback exists) and `ping`
 * (a health check must tell the truth). Takes a layer or a service.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { MemoryCache } from "@cachet/memory"
 *
 * const CacheLive = Cache.failOpen(MemoryCache.layer())
 * ```
 *
 * @since 0.1.0
 * @category failure policy
 */
export const failOpen: {
  <E, R>(layer: Layer.Layer<Cache, E, R>): Layer.Layer<Cache, E, R>
  (service: Cache.Service): Cache.Service
} = failOpenInternal.failOpen

/**
 * The metrics every cache records (labels `backend`, `namespace`, and `operation`/`outcome` where they apply):
 * `operations` (`cachet_operations_total`, outcome hit, miss, ok or error), `duration`
 * (`cachet_operation_duration_seconds`), `staleServed`, `refreshes` (outcome ok or error), `singleFlightJoins`,
 * `lockWaits` (getOrSet calls that waited for another process's lock), `lockReleaseFailures`
 * (`cachet_lock_release_failures_total`: getOrSet locks whose release failed, so that others wait until the lock
 * expires; each one is also logged at warning level), `decodeHeals` (getOrSet reads whose entry did not decode and
 * was overwritten) and `failOpen`. Read them with `Cache.metricsSnapshot`, or export them with your Effect metrics
 * exporter: Effect keeps a series per label set, so `Metric.value` of an untagged metric reads 0 (tag it with every
 * label to read one series).
 *
 * @since 0.1.0
 * @category observability
 */
export const metrics = observe.metrics

/**
 * One series of Cachet's metrics: its name, its labels and its count (for a histogram, the number of observations
 * and their sum).
 *
 * @since 0.1.0
 * @category observability
 */
export type MetricRow = observe.MetricRow

/**
 * Every series of Cachet's metrics as it stands now, for tests and health pages.
 *
 * @example
 * import { Cache } from "@cachet/core"
 * import { Effect } from "effect"
 *
 * const misses = Effect.map(Cache.metricsSnapshot, (rows) =>
 *   rows.filter((row) => row.name === "cachet_operations_total" && row.labels.outcome === "miss")
 * )
 *
 * @since 0.1.0
 * @category observability
 */
export const metricsSnapshot: Effect.Effect<ReadonlyArray<MetricRow>> = observe.snapshot

/**
 * Options of `refreshEvery`: those of a write, and whether to jitter the schedule.
 *
 * @since 0.1.0
 * @category models
 */
export type RefreshOptions = Model.RefreshOptions

/**
 * Keep a hot key warm: run `lookup` now and on every recurrence of `schedule`, storing each result, in a fiber
 * that lives in the current scope and stops with it. A failing lookup or write is logged and counted, and the
 * previous value stays. Give `schema` for values that JSON cannot carry.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { Effect, Schedule } from "effect"
 *
 * const keepRatesWarm = Cache.refreshEvery("rates", Effect.succeed({ eur: 1.08 }), Schedule.spaced("1 minute"), {
 *   timeToLive: "5 minutes"
 * })
 * ```
 *
 * @since 0.1.0
 * @category schedules
 */
export const refreshEvery: {
  <A, I, E, R, Out, R2>(
    key: string,
    lookup: Effect.Effect<A, E, R>,
    schedule: Schedule.Schedule<Out, unknown, R2>,
    options: RefreshOptions & { readonly schema: Schema.Schema<A, I, never> & RequireJsonEncoded<I> }
  ): Effect.Effect<Fiber.RuntimeFiber<void>, never, Cache | Scope.Scope | R | R2>
  <A, E, R, Out, R2>(
    key: string,
    lookup: Effect.Effect<A, E, R> & RequireJsonSafe<A>,
    schedule: Schedule.Schedule<Out, unknown, R2>,
    options?: RefreshOptions
  ): Effect.Effect<Fiber.RuntimeFiber<void>, never, Cache | Scope.Scope | R | R2>
} = internal.refreshEvery

/**
 * Cache-aside through the service in context. With `schema`, the cached value is decoded and checked by it;
 * without, the value goes through the JSON codec and its type must be `JsonSafe`.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { Effect, Schema } from "effect"
 *
 * const User = Schema.Struct({ name: Schema.String })
 * const user = Cache.getOrSet("user:1", Effect.succeed({ name: "Ada" }), { schema: User, timeToLive: "10 minutes" })
 * const plain = Cache.getOrSet("greeting", Effect.succeed("hello"))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const getOrSet: {
  <A, I, E, R>(
    key: string,
    lookup: Effect.Effect<A, E, R>,
    options: Cache.GetOrSetOptions<A> & { readonly schema: Schema.Schema<A, I, never> & RequireJsonEncoded<I> }
  ): Effect.Effect<A, E | CacheError, Cache | Exclude<R, Lookup>>
  <A, E, R>(
    key: string,
    lookup: Effect.Effect<A, E, R> & RequireJsonSafe<A>,
    options?: Cache.GetOrSetOptions<A>
  ): Effect.Effect<A, E | CacheError, Cache | Exclude<R, Lookup>>
} = internal.getOrSet

/**
 * `getOrSetMany` through the service in context: one read of every key, one `lookupMany` of the misses (in
 * order), one write of their values; the answers in the order of `keys`. With `schema`, as `getOrSet`.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { Effect } from "effect"
 *
 * const names = Cache.getOrSetMany(["user:1", "user:2"], (missing) => Effect.succeed(missing.map((key) => `name of ${key}`)), {
 *   timeToLive: "10 minutes"
 * })
 * ```
 *
 * @since 0.3.0
 * @category accessors
 */
export const getOrSetMany: {
  <A, I, E, R>(
    keys: Iterable<string>,
    lookupMany: (missing: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<A>, E, R>,
    options: Cache.GetOrSetManyOptions<A> & { readonly schema: Schema.Schema<A, I, never> & RequireJsonEncoded<I> }
  ): Effect.Effect<ReadonlyArray<A>, E | CacheError, Cache | R>
  <A, E, R>(
    keys: Iterable<string>,
    lookupMany: (missing: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<A>, E, R> & RequireJsonSafe<A>,
    options?: Cache.GetOrSetManyOptions<A>
  ): Effect.Effect<ReadonlyArray<A>, E | CacheError, Cache | R>
} = internal.getOrSetMany

/**
 * Options of `Cache.resolver`.
 *
 * @since 0.3.0
 * @category models
 */
export interface ResolverOptions<A extends Request.Request<unknown, unknown>, I> {
  /** The cache key of a request. */
  readonly key: (request: A) => string
  /** How long a looked-up value lives: a duration, or a function of the value. */
  readonly timeToLive?:
    | Duration.DurationInput
    | ((value: Request.Request.Success<A>) => Duration.DurationInput)
    | undefined
  /** Values that JSON cannot carry go through a schema, as in `getOrSet`. */
  readonly schema?: Schema.Schema<Request.Request.Success<A>, I, never> | undefined
}

/**
 * A `RequestResolver` in front of `resolver`, so that `Effect.request` batches go through the cache: a batch is one
 * `getMany`; hits never reach `resolver`; the misses reach it as one batch, each request answered with its own
 * success or failure; what it found is stored. The cache never fails a request: when the backend cannot be read the
 * batch goes to `resolver` (logged and counted as in `failOpen`), and a failed store is logged.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { Effect, Request, RequestResolver } from "effect"
 *
 * class GetUser extends Request.TaggedClass("GetUser")<string, never, { readonly id: number }> {}
 * const users = RequestResolver.makeBatched((requests: ReadonlyArray<GetUser>) =>
 *   Effect.forEach(requests, (request) => Request.succeed(request, `user ${request.id}`), { discard: true })
 * )
 * const cachedUsers = Cache.resolver(users, { key: (request) => `user:${request.id}`, timeToLive: "5 minutes" })
 * const user = Effect.request(new GetUser({ id: 1 }), cachedUsers)
 * ```
 *
 * @since 0.3.0
 * @category combinators
 */
export const resolver: {
  <A extends Request.Request<unknown, unknown>, I>(
    resolver: RequestResolver.RequestResolver<A>,
    options: ResolverOptions<A, I> & {
      readonly schema: Schema.Schema<Request.Request.Success<A>, I, never> & RequireJsonEncoded<I>
    }
  ): Effect.Effect<RequestResolver.RequestResolver<A>, never, Cache>
  <A extends Request.Request<unknown, unknown>>(
    resolver: RequestResolver.RequestResolver<A>,
    options: Omit<ResolverOptions<A, never>, "schema"> & RequireJsonSafe<Request.Request.Success<A>>
  ): Effect.Effect<RequestResolver.RequestResolver<A>, never, Cache>
} = resolverInternal.resolver
