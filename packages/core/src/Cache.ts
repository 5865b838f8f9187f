/**
 * The cache service. One `Context.Tag`, one set of operations on every backend; the Layer you provide picks
 * where the data lives.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as MetricLabel from "effect/MetricLabel"
import type * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Backend } from "./Backend.js"
import type { CacheError, CacheInvalidInputError } from "./CacheError.js"
import type { CacheResult } from "./CacheResult.js"
import type { Codec } from "./Codec.js"
import * as internal from "./internal/cache.js"
import * as failOpenInternal from "./internal/failOpen.js"
import * as observe from "./internal/metrics.js"
import { metrics as observeMetrics } from "./internal/metrics.js"
import * as TimeToLive from "./internal/timeToLive.js"

/**
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { MemoryCache } from "@cachet/memory"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const cache = yield* Cache.Cache
 *   yield* cache.set("greeting", "hello", { timeToLive: "1 minute" })
 *   return yield* cache.get("greeting")
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(MemoryCache.layer())))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class Cache extends Context.Tag("@cachet/core/Cache")<Cache, Cache.Service>() {}

/**
 * What a `getOrSet` lookup may read and decide, from inside (`yield* Cache.Lookup`): the stale value it replaces,
 * the time-to-live to store its value with, or not to store it at all. Provided to every lookup `getOrSet` runs (and
 * `cached`'s functions), so a lookup that does not use it needs nothing more in its requirements.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { Effect, Option } from "effect"
 *
 * const price = Cache.getOrSet(
 *   "price:42",
 *   Effect.gen(function* () {
 *     const lookup = yield* Cache.Lookup
 *     const fetched = 42
 *     // A price that did not change since the stale one lives longer.
 *     if (Option.contains(lookup.stale, fetched)) yield* lookup.setTimeToLive("1 hour")
 *     return fetched
 *   }),
 *   { timeToLive: "5 minutes", staleIfError: "1 hour" }
 * )
 * ```
 *
 * @since 0.3.0
 * @category tags
 */
export class Lookup extends Context.Tag("@cachet/core/Lookup")<Lookup, Lookup.Service>() {}

/**
 * @since 0.3.0
 */
export declare namespace Lookup {
  /**
   * @since 0.3.0
   * @category models
   */
  export interface Service {
    /** The value this lookup replaces, when the entry is still there past its freshness (a stale window). */
    readonly stale: Option.Option<unknown>
    /** Store the looked-up value with this time-to-live instead of the call's (zero: do not store). */
    readonly setTimeToLive: (timeToLive: Duration.DurationInput) => Effect.Effect<void>
    /** Return the looked-up value without storing it. */
    readonly skipStore: Effect.Effect<void>
  }
}

/**
 * @since 0.1.0
 */
export declare namespace Cache {
  /**
   * Options of a single write.
   *
   * @since 0.1.0
   * @category models
   */
  export interface SetOptions {
    /** How long the entry lives. Zero stores nothing (and removes the key); `Duration.infinity` never expires. */
    readonly timeToLive?: Duration.DurationInput | undefined
    /** Spread the expiry by ±ratio (0–1) so that entries written together do not expire together. */
    readonly timeToLiveJitter?: number | undefined
  }

  /**
   * Options of `getOrSet`.
   *
   * @since 0.1.0
   * @category models
   */
  export interface GetOrSetOptions<A> {
    /** A duration, or a function of the looked-up value. Zero: return the value without storing it. */
    readonly timeToLive?: Duration.DurationInput | ((value: A) => Duration.DurationInput) | undefined
    readonly timeToLiveJitter?: number | undefined
    /**
     * After freshness ends, serve the stale value for this long while one background fiber refreshes it. The
     * entry is stored for `timeToLive` plus the longest stale window; freshness is read back from the remaining
     * time-to-live, so stored values stay plain.
     */
    readonly staleWhileRevalidate?: Duration.DurationInput | undefined
    /** After freshness ends, serve the stale value for this long when `lookup` fails. */
    readonly staleIfError?: Duration.DurationInput | undefined
    /**
     * `"fail"` (default): a backend failure fails the call. `"bypass"`: when the backend is unavailable or times
     * out, run `lookup` and return its value (storing it if the backend answers).
     */
    readonly onCacheError?: "fail" | "bypass" | undefined
    /**
     * Run `lookup` once across processes, not only within this one: on a miss, the process that takes the key's
     * lock (`SET NX PX` with a random token) looks up and stores; the others poll until the value appears or the
     * lock is free again, then one of them takes over. A holder that crashes releases the lock by its expiry.
     * `true` uses the defaults of `LockOptions`. A waiter that gives up fails with `CacheTimeoutError` code
     * `LOCK_TIMEOUT` (served stale under `staleIfError`, looked up straight under `onCacheError: "bypass"`).
     *
     * @since 0.2.0
     */
    readonly lock?: boolean | LockOptions | undefined
    /**
     * With a stale value at hand (within `staleIfError`), serve it once the lookup has run this long; the lookup
     * goes on in the cache's scope and stores its value when it ends. Later callers join it.
     *
     * @since 0.3.0
     */
    readonly softTimeout?: Duration.DurationInput | undefined
    /**
     * Fail with `CacheTimeoutError` code `LOOKUP_TIMEOUT` once the lookup has run this long (or serve the stale value
     * under `staleIfError`); the lookup goes on in the cache's scope and stores its value when it ends. Longer than
     * `softTimeout`.
     *
     * @since 0.3.0
     */
    readonly hardTimeout?: Duration.DurationInput | undefined
    /**
     * A fraction of freshness (between 0 and 1, both excluded): a hit past it returns the value at once and starts
     * one background refresh of the key (one across processes with `lock`). Freshness is the call's `timeToLive`.
     *
     * @since 0.3.0
     */
    readonly refreshAhead?: number | undefined
    /**
     * After a failed lookup was answered with the stale value (`staleIfError`), serve the stale value for this long
     * without calling the lookup again, so that a failing source is not called by every request.
     *
     * @since 0.3.0
     */
    readonly failSafeThrottle?: Duration.DurationInput | undefined
  }

  /**
   * The cross-process lock of `getOrSet`.
   *
   * @since 0.2.0
   * @category models
   */
  export interface LockOptions {
    /**
     * How long the lock lives. Another process takes over after it, so set it above the slowest lookup: a lookup
     * that outlives its lock may run twice. Default 10 seconds.
     */
    readonly timeout?: Duration.DurationInput | undefined
    /** How long a waiter waits in all before failing with `LOCK_TIMEOUT`. Default twice `timeout`. */
    readonly wait?: Duration.DurationInput | undefined
    /** When a waiter looks again. Default every 50 milliseconds, jittered. */
    readonly poll?: Schedule.Schedule<unknown, unknown> | undefined
  }

  /**
   * The operations of every view: the base service, a namespace, a schema view.
   *
   * @since 0.1.0
   * @category models
   */
  export interface View<A> {
    /** The full key prefix of this view, as stored in the backend (the effective one: see `Options.prefix`). */
    readonly prefix: string
    readonly get: (key: string) => Effect.Effect<CacheResult<A>, CacheError>
    /** One answer per key, in the same order; one round trip. */
    readonly getMany: (keys: Iterable<string>) => Effect.Effect<ReadonlyArray<CacheResult<A>>, CacheError>
    readonly set: (key: string, value: A, options?: SetOptions) => Effect.Effect<void, CacheError>
    /** All entries or none. */
    readonly setMany: (
      entries: Iterable<readonly [key: string, value: A]>,
      options?: SetOptions
    ) => Effect.Effect<void, CacheError>
    /** Set only if absent, atomically with the time-to-live: whether it was written. */
    readonly add: (key: string, value: A, options?: SetOptions) => Effect.Effect<boolean, CacheError>
    /** Whether the key existed. */
    readonly delete: (key: string) => Effect.Effect<boolean, CacheError>
    /** How many of the keys existed. */
    readonly deleteMany: (keys: Iterable<string>) => Effect.Effect<number, CacheError>
    readonly has: (key: string) => Effect.Effect<boolean, CacheError>
    /** Miss: absent. `hit(none)`: never expires. `hit(some(d))`: the remaining time-to-live. */
    readonly timeToLive: (key: string) => Effect.Effect<CacheResult<Option.Option<Duration.Duration>>, CacheError>
    /** Whether the key exists (and now expires). A zero time-to-live deletes it. */
    readonly expire: (key: string, timeToLive: Duration.DurationInput) => Effect.Effect<boolean, CacheError>
    /** Whether an expiry was removed. */
    readonly persist: (key: string) => Effect.Effect<boolean, CacheError>
    /** Delete this view's keys matching a Redis glob: how many went. Refused with an empty prefix. */
    readonly deletePattern: (glob: string) => Effect.Effect<number, CacheError>
    /**
     * This view's keys (without the prefix) matching a Redis glob, streamed: exactly the keys written, never the
     * cache's own bookkeeping. Refused with an empty prefix.
     */
    readonly keys: (glob?: string) => Stream.Stream<string, CacheError>
    /** Delete every key of this view, and nothing else: how many went. Refused with an empty prefix. */
    readonly clear: () => Effect.Effect<number, CacheError>
    /** Cache-aside: the cached value, or the lookup's, stored. Concurrent misses of one key run one lookup. */
    readonly getOrSet: <E, R>(
      key: string,
      lookup: Effect.Effect<A, E, R>,
      options?: GetOrSetOptions<A>
    ) => Effect.Effect<A, E | CacheError, Exclude<R, Lookup>>
    /** A view whose keys live under `<prefix><name>:`. */
    readonly namespace: (name: string) => View<A>
    /** The round-trip time to the backend. */
    readonly ping: Effect.Effect<Duration.Duration, CacheError>
  }

  /**
   * The service: a view of `unknown` values under the cache's codec, with counters and typed views.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service extends View<unknown> {
    /** Atomically add `by` (default 1) to an integer entry, creating it at 0: the new value, exact in 64 bits. */
    readonly increment: (key: string, by?: number | bigint) => Effect.Effect<bigint, CacheError>
    /** Atomically subtract `by` (default 1). */
    readonly decrement: (key: string, by?: number | bigint) => Effect.Effect<bigint, CacheError>
    /**
     * A view whose values are encoded and decoded with the schema (Date, BigInt, Option, classes round-trip). The
     * schema's encoded side goes through the cache's codec, so it must be JSON-safe (`Schema.Date`, not
     * `Schema.DateFromSelf`: see `RequireJsonEncoded`); with a `codec` the view uses that codec instead (for
     * example `Codec.msgPack`, which carries dates and bytes), and then any encoded side compiles.
     */
    readonly forSchema: {
      <A, I>(schema: Schema.Schema<A, I, never> & RequireJsonEncoded<I>): View<A>
      <A, I>(schema: Schema.Schema<A, I, never>, codec: Codec): View<A>
    }
    /** The codec the service encodes values with. */
    readonly codec: Codec
    readonly namespace: (name: string) => Service
    /** The backend's name, for metrics and logs. */
    readonly backend: string
  }

  /**
   * Options of `Cache.make`, shared by every backend layer.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    /**
     * Prepended to every key. Default `"cachet:"`. A non-empty prefix that does not end in `":"` gets one
     * (`"tenant1"` stores under `tenant1:`), so that no cache's keys begin another's. An empty prefix reads and
     * writes, but `keys`, `deletePattern` and `clear` fail with `EMPTY_PREFIX`: they would reach every key of the
     * backend. Prefixes, namespace names and keys may not contain U+0000 (reserved for the cache's own keys,
     * such as locks) or lone surrogates.
     */
    readonly prefix?: string | undefined
    /** Applied when a write gives none. Absent: no expiry. */
    readonly defaultTimeToLive?: Duration.DurationInput | undefined
    /** Default ±ratio (0–1) applied to every time-to-live. */
    readonly timeToLiveJitter?: number | undefined
    /** How values become strings. Default: JSON. */
    readonly codec?: Codec | undefined
    /**
     * Retry idempotent operations (never `increment`, `decrement` or `add`) that fail with a retryable error.
     */
    readonly retry?: Schedule.Schedule<unknown, CacheError> | undefined
    /** Record `Metric`s of every operation. Default `true`. */
    readonly metrics?: boolean | undefined
    /**
     * Wrap operations in `cachet.<operation>` spans when they run inside a trace (a parent span exists).
     * Default `true`; outside a trace no span is made, so untraced code pays nothing for it.
     */
    readonly spans?: boolean | undefined
    /** Put keys in spans (they may be personal data). Default `false`. */
    readonly spanKeys?: boolean | undefined
  }
}

/**
 * The default key prefix.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPrefix = "cachet:"

/**
 * Build the service on a backend. Backend layers call this; so can a third-party backend.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  backend: Backend,
  options?: Cache.Options
) => Effect.Effect<Cache.Service, CacheError, Scope.Scope> = internal.make

/**
 * Parse a time-to-live from text: Effect's form (`"5 minutes"`) or the compact form (`"2h30m"`, `"1d"`,
 * `"250ms"`). Strict: anything else fails with `CacheInvalidInputError`.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 *
 * const ninetyMinutes = Cache.parseTimeToLive("1h30m")
 * ```
 *
 * @since 0.1.0
 * @category time-to-live
 */
export const parseTimeToLive: (text: string) => Effect.Effect<Duration.Duration, CacheInvalidInputError> =
  TimeToLive.parse

// One walk over a type for both questions below; they differ only in what an `unknown` part (or `any`) answers.
type JsonShape<A, Unknown extends "refuse" | "leave"> = unknown extends A
  ? Unknown extends "leave"
    ? A
    : never
  : A extends string | number | boolean | null
    ? A
    : A extends
          | bigint
          | symbol
          | undefined
          | Date
          | Uint8Array
          | ((...args: ReadonlyArray<never>) => unknown)
          | ReadonlyMap<unknown, unknown>
          | ReadonlySet<unknown>
      ? never
      : A extends object
        ? {
            readonly [K in keyof A]: undefined extends A[K]
              ? JsonShape<Exclude<A[K], undefined>, Unknown> | undefined
              : JsonShape<A[K], Unknown>
          }
        : never

/**
 * What survives a round trip through the JSON codec unchanged. A value type that holds a `Date`, a `bigint`, a
 * `Map`, a `Set`, bytes, a function or a symbol maps to `never` somewhere, so a schema-less `cached` or `getOrSet`
 * of it does not compile: give those a `schema` (dates coming back as strings is the bug this prevents).
 *
 * @since 0.1.0
 * @category models
 */
export type JsonSafe<A> = JsonShape<A, "refuse">

/**
 * What a schema may encode to for the JSON codec: `JsonSafe`, except that `unknown` parts (an encoded side the
 * types cannot tell, such as `Schema.Unknown`'s) are left to the run-time check.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonEncoded<I> = JsonShape<I, "leave">

/**
 * Accepts a schema whose encoded type is `JsonEncoded`; any other turns into an object type the schema cannot
 * match, with what to do as its only property name.
 *
 * @since 0.1.0
 * @category models
 */
export type RequireJsonEncoded<I> = [I] extends [JsonEncoded<I>]
  ? unknown
  : {
      readonly "this schema encodes to something JSON changes (a Date, a bigint, bytes): use a schema that encodes to JSON (Schema.Date, not Schema.DateFromSelf), or pass a codec: forSchema(schema, Codec.msgPack)": never
    }

/**
 * Accepts JSON-safe value types; any other type turns into an object type the value cannot match, with the
 * reason as its only property name.
 *
 * @since 0.1.0
 * @category models
 */
export type RequireJsonSafe<A> = [A] extends [JsonSafe<A>]
  ? unknown
  : { readonly "without a schema, values must be JSON-safe: pass a schema": never }

/**
 * @since 0.1.0
 * @category models
 */
export interface CachedOptions<Args extends ReadonlyArray<unknown>, A> {
  /** The cache key of a call. */
  readonly key: (...args: Args) => string
  /** A duration, or a function of the result. Zero: the result is returned but not stored. */
  readonly timeToLive?: Duration.DurationInput | ((value: A) => Duration.DurationInput) | undefined
  readonly timeToLiveJitter?: number | undefined
  /** Calls for which this returns `true` run the function straight, neither reading nor writing the cache. */
  readonly bypass?: ((...args: Args) => boolean) | undefined
  /**
   * One call per key across processes: see `GetOrSetOptions.lock`.
   *
   * @since 0.2.0
   */
  readonly lock?: boolean | Cache.LockOptions | undefined
}

/**
 * A cached function, with `invalidate` to drop the entry of some arguments.
 *
 * @since 0.1.0
 * @category models
 */
export interface CachedFunction<Args extends ReadonlyArray<unknown>, A, E, R> {
  (...args: Args): Effect.Effect<A, E | CacheError, R | Cache>
  /** Delete the cached result of these arguments: whether there was one. */
  readonly invalidate: (...args: Args) => Effect.Effect<boolean, CacheError, Cache>
}

const makeCached = <Args extends ReadonlyArray<unknown>, A, E, R>(
  options: CachedOptions<Args, A>,
  view: (cache: Cache.Service) => Cache.View<A>,
  f: (...args: Args) => Effect.Effect<A, E, R> | A
): CachedFunction<Args, A, E, R> => {
  const run = (args: Args): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const result = f(...args)
      return Effect.isEffect(result) ? (result as Effect.Effect<A, E, R>) : Effect.succeed(result)
    })
  const getOrSetOptions: Cache.GetOrSetOptions<A> = {
    timeToLive: options.timeToLive,
    timeToLiveJitter: options.timeToLiveJitter,
    lock: options.lock
  }
  const call = (...args: Args): Effect.Effect<A, E | CacheError, R | Cache> =>
    options.bypass?.(...args) === true
      ? run(args)
      : Effect.flatMap(Cache, (cache) => view(cache).getOrSet(options.key(...args), run(args), getOrSetOptions))
  return Object.assign(call, {
    invalidate: (...args: Args) => Effect.flatMap(Cache, (cache) => view(cache).delete(options.key(...args)))
  })
}

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
} =
  <Args extends ReadonlyArray<unknown>, A, I>(
    options: CachedOptions<Args, A> & { readonly schema?: Schema.Schema<A, I, never> | undefined }
  ) =>
  <E, R>(f: (...args: Args) => Effect.Effect<A, E, R> | A): CachedFunction<Args, A, E, R> => {
    const schema = options.schema
    return schema === undefined
      ? makeCached(options, jsonView<A>, f)
      : makeCached(options, (cache) => cache.forSchema(schema, cache.codec), f)
  }

/**
 * The base service seen as a view of a JSON-safe type. Only `cached` and `getOrSet` use it, behind signatures
 * that accept nothing but `JsonSafe` types: the JSON codec returns such values as they were written.
 */
const jsonView = <A>(cache: Cache.Service): Cache.View<A> => cache as unknown as Cache.View<A>

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
export function failOpen<E, R>(layer: Layer.Layer<Cache, E, R>): Layer.Layer<Cache, E, R>
export function failOpen(service: Cache.Service): Cache.Service
export function failOpen<E, R>(
  self: Layer.Layer<Cache, E, R> | Cache.Service
): Layer.Layer<Cache, E, R> | Cache.Service {
  return isService(self)
    ? failOpenInternal.service(self)
    : Layer.map(self, (context) => Context.add(context, Cache, failOpenInternal.service(Context.get(context, Cache))))
}

const isService = (u: Layer.Layer<Cache, unknown, unknown> | Cache.Service): u is Cache.Service => !Layer.isLayer(u)

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
export const metrics = observeMetrics

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
 * Options of `refreshEvery`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RefreshOptions extends Cache.SetOptions {
  /** Randomise each delay (Effect's `Schedule.jittered`) so that processes do not refresh in step. Default `true`. */
  readonly jitter?: boolean | undefined
}

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
} = <A, I, E, R, Out, R2>(
  key: string,
  lookup: Effect.Effect<A, E, R>,
  schedule: Schedule.Schedule<Out, unknown, R2>,
  options?: RefreshOptions & { readonly schema?: Schema.Schema<A, I, never> | undefined }
): Effect.Effect<Fiber.RuntimeFiber<void>, never, Cache | Scope.Scope | R | R2> =>
  Effect.flatMap(Cache, (cache) => {
    const schema = options?.schema
    const view = schema === undefined ? jsonView<A>(cache) : cache.forSchema(schema, cache.codec)
    // The root namespace: refreshEvery writes through the service in context.
    const labels = [MetricLabel.make("backend", cache.backend), MetricLabel.make("namespace", "")]
    const ok = [...labels, MetricLabel.make("outcome", "ok")]
    const failed = [...labels, MetricLabel.make("outcome", "error")]
    const once = Effect.flatMap(lookup, (value) => view.set(key, value, options)).pipe(
      Effect.matchCauseEffect({
        onSuccess: () => Effect.sync(() => observeMetrics.refreshes.unsafeUpdate(1, ok)),
        onFailure: (cause) =>
          Effect.zipRight(
            Effect.sync(() => observeMetrics.refreshes.unsafeUpdate(1, failed)),
            Effect.logWarning("cachet: refreshEvery lookup or write failed; the previous value stays", cause)
          )
      })
    )
    const recurrence = options?.jitter === false ? schedule : Schedule.jittered(schedule)
    return Effect.forkScoped(Effect.asVoid(Effect.repeat(once, recurrence)))
  })

// Module-level accessors: `Cache.get(key)` is `Effect.flatMap(Cache.Cache, (cache) => cache.get(key))`.

/**
 * @since 0.1.0
 * @category accessors
 */
export const get = (key: string): Effect.Effect<CacheResult<unknown>, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.get(key))

/**
 * @since 0.1.0
 * @category accessors
 */
export const getMany = (
  keys: Iterable<string>
): Effect.Effect<ReadonlyArray<CacheResult<unknown>>, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.getMany(keys))

/**
 * @since 0.1.0
 * @category accessors
 */
export const set = (key: string, value: unknown, options?: Cache.SetOptions): Effect.Effect<void, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.set(key, value, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const setMany = (
  entries: Iterable<readonly [key: string, value: unknown]>,
  options?: Cache.SetOptions
): Effect.Effect<void, CacheError, Cache> => Effect.flatMap(Cache, (cache) => cache.setMany(entries, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const add = (
  key: string,
  value: unknown,
  options?: Cache.SetOptions
): Effect.Effect<boolean, CacheError, Cache> => Effect.flatMap(Cache, (cache) => cache.add(key, value, options))

const remove = (key: string): Effect.Effect<boolean, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.delete(key))

export {
  /**
   * @since 0.1.0
   * @category accessors
   */
  remove as delete
}

/**
 * @since 0.1.0
 * @category accessors
 */
export const deleteMany = (keys: Iterable<string>): Effect.Effect<number, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.deleteMany(keys))

/**
 * @since 0.1.0
 * @category accessors
 */
export const has = (key: string): Effect.Effect<boolean, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.has(key))

/**
 * @since 0.1.0
 * @category accessors
 */
export const timeToLive = (
  key: string
): Effect.Effect<CacheResult<Option.Option<Duration.Duration>>, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.timeToLive(key))

/**
 * @since 0.1.0
 * @category accessors
 */
export const expire = (key: string, timeToLive: Duration.DurationInput): Effect.Effect<boolean, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.expire(key, timeToLive))

/**
 * @since 0.1.0
 * @category accessors
 */
export const persist = (key: string): Effect.Effect<boolean, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.persist(key))

/**
 * @since 0.1.0
 * @category accessors
 */
export const increment = (key: string, by?: number | bigint): Effect.Effect<bigint, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.increment(key, by))

/**
 * @since 0.1.0
 * @category accessors
 */
export const decrement = (key: string, by?: number | bigint): Effect.Effect<bigint, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.decrement(key, by))

/**
 * @since 0.1.0
 * @category accessors
 */
export const deletePattern = (glob: string): Effect.Effect<number, CacheError, Cache> =>
  Effect.flatMap(Cache, (cache) => cache.deletePattern(glob))

/**
 * @since 0.1.0
 * @category accessors
 */
export const keys = (glob?: string): Stream.Stream<string, CacheError, Cache> =>
  Stream.unwrap(Effect.map(Cache, (cache) => cache.keys(glob)))

/**
 * @since 0.1.0
 * @category accessors
 */
export const clear = (): Effect.Effect<number, CacheError, Cache> => Effect.flatMap(Cache, (cache) => cache.clear())

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
  ): Effect.Effect<A, E | CacheError, Cache | R>
  <A, E, R>(
    key: string,
    lookup: Effect.Effect<A, E, R> & RequireJsonSafe<A>,
    options?: Cache.GetOrSetOptions<A>
  ): Effect.Effect<A, E | CacheError, Cache | R>
} = <A, I, E, R>(
  key: string,
  lookup: Effect.Effect<A, E, R>,
  options?: Cache.GetOrSetOptions<A> & { readonly schema?: Schema.Schema<A, I, never> | undefined }
): Effect.Effect<A, E | CacheError, Cache | R> =>
  Effect.flatMap(Cache, (cache) => {
    const schema = options?.schema
    const view = schema === undefined ? jsonView<A>(cache) : cache.forSchema(schema, cache.codec)
    return view.getOrSet(key, lookup, options)
  })

/**
 * @since 0.1.0
 * @category accessors
 */
export const ping: Effect.Effect<Duration.Duration, CacheError, Cache> = Effect.flatMap(Cache, (cache) => cache.ping)

/**
 * @since 0.1.0
 * @category accessors
 */
export const forSchema: {
  <A, I>(schema: Schema.Schema<A, I, never> & RequireJsonEncoded<I>): Effect.Effect<Cache.View<A>, never, Cache>
  <A, I>(schema: Schema.Schema<A, I, never>, codec: Codec): Effect.Effect<Cache.View<A>, never, Cache>
} = <A, I>(schema: Schema.Schema<A, I, never>, codec?: Codec): Effect.Effect<Cache.View<A>, never, Cache> =>
  Effect.map(Cache, (cache) => cache.forSchema(schema, codec ?? cache.codec))

/**
 * @since 0.1.0
 * @category accessors
 */
export const namespace = (name: string): Effect.Effect<Cache.Service, never, Cache> =>
  Effect.map(Cache, (cache) => cache.namespace(name))
