/**
 * The shapes of the service, its views and their options: `Cache.Cache.Service`, `Cache.Cache.View`,
 * `Cache.Cache.Options` and the rest are these, under their public names.
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { Cache as CacheTag, Lookup, RequireJsonEncoded } from "../Cache.js"
import type { CacheError } from "../CacheError.js"
import type { CacheResult } from "../CacheResult.js"
import type { Codec } from "../Codec.js"

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
  /**
   * Tags the entry is written with (replacing those of an earlier tagged write of the key): `invalidateTags` of
   * any of them removes it. Non-empty strings without U+0000; they belong to this view's namespace.
   *
   * @since 0.3.0
   */
  readonly tags?: ReadonlyArray<string> | undefined

  /**
   * Keep the entry's current expiry (Redis `SET ... KEEPTTL`); an absent key is written without one. Refused
   * together with `timeToLive` or `timeToLiveJitter`; the cache's `defaultTimeToLive` does not apply.
   *
   * @since 0.4.0
   */
  readonly keepTimeToLive?: boolean | undefined
}

/**
 * Options of `add`, `setMany` and of one entry of `setMany`: those of `set` without `keepTimeToLive` (`add` only
 * writes an absent key, which has no expiry to keep; a batch gives each entry its own).
 *
 * @since 0.4.0
 * @category models
 */
export type WriteOptions = Omit<SetOptions, "keepTimeToLive">

/**
 * Options of one entry of `setMany`: its own time-to-live and jitter. Tags belong to the whole batch (the options
 * of `setMany`), which is written all or nothing with them.
 *
 * @since 0.4.0
 * @category models
 */
export type EntryOptions = Omit<WriteOptions, "tags">

/**
 * One entry of `setMany`: a key and its value, with options of its own or the batch's.
 *
 * @since 0.4.0
 * @category models
 */
export type SetManyEntry<A> =
  | readonly [key: string, value: A]
  | readonly [key: string, value: A, options: EntryOptions | undefined]

/**
 * Options of a read.
 *
 * @since 0.4.0
 * @category models
 */
export interface GetOptions {
  /**
   * Reset the entry's expiry as it is read, in the same round trip (Redis `GETEX`): sliding expiration.
   * `Duration.infinity` removes the expiry; zero answers the value and removes the entry. Jitter does not apply.
   */
  readonly timeToLive?: Duration.DurationInput | undefined
}

/**
 * A handle on one key of a view: the view's operations on that key, reading and writing the view's type. It is a
 * plain value; a bad key makes each of its operations fail with `CacheInvalidInputError`.
 *
 * @since 0.4.0
 * @category models
 */
export interface EntryHandle<A> {
  readonly key: string
  readonly get: (options?: GetOptions) => Effect.Effect<CacheResult<A>, CacheError>
  readonly set: (value: A, options?: SetOptions) => Effect.Effect<void, CacheError>
  readonly add: (value: A, options?: WriteOptions) => Effect.Effect<boolean, CacheError>
  readonly delete: () => Effect.Effect<boolean, CacheError>
  readonly has: () => Effect.Effect<boolean, CacheError>
  readonly timeToLive: () => Effect.Effect<CacheResult<Option.Option<Duration.Duration>>, CacheError>
  readonly expire: (timeToLive: Duration.DurationInput) => Effect.Effect<boolean, CacheError>
  readonly persist: () => Effect.Effect<boolean, CacheError>
  readonly getOrSet: <E, R>(
    lookup: Effect.Effect<A, E, R>,
    options?: GetOrSetOptions<A>
  ) => Effect.Effect<A, E | CacheError, Exclude<R, Lookup>>
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
   * Tags the looked-up value is stored with (see `SetOptions.tags`); a lookup may choose others with
   * `Cache.Lookup`'s `setTags`.
   *
   * @since 0.3.0
   */
  readonly tags?: ReadonlyArray<string> | undefined
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
 * Options of `getOrSetMany`: each value's time-to-live (a duration, or a function of the value; zero: return it
 * without storing it), its jitter, and what a backend failure does.
 */
export interface GetOrSetManyOptions<A> {
  readonly timeToLive?: Duration.DurationInput | ((value: A) => Duration.DurationInput) | undefined
  readonly timeToLiveJitter?: number | undefined
  /** Tags every looked-up value is stored with (see `SetOptions.tags`). */
  readonly tags?: ReadonlyArray<string> | undefined
  /** `"bypass"`: when the backend is unavailable or times out, look every key up and answer (see `getOrSet`). */
  readonly onCacheError?: "fail" | "bypass" | undefined
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
  /** With `options.timeToLive`, the entry's expiry is reset in the same round trip (sliding expiration). */
  readonly get: (key: string, options?: GetOptions) => Effect.Effect<CacheResult<A>, CacheError>
  /** One answer per key, in the same order; one round trip. */
  readonly getMany: (keys: Iterable<string>) => Effect.Effect<ReadonlyArray<CacheResult<A>>, CacheError>
  readonly set: (key: string, value: A, options?: SetOptions) => Effect.Effect<void, CacheError>
  /**
   * All entries or none. An entry may carry options of its own (`[key, value, { timeToLive }]`); each option it
   * leaves out is the batch's. Entries whose time-to-live is zero are removed first, then the others are written.
   */
  readonly setMany: (entries: Iterable<SetManyEntry<A>>, options?: WriteOptions) => Effect.Effect<void, CacheError>
  /** Set only if absent, atomically with the time-to-live: whether it was written. */
  readonly add: (key: string, value: A, options?: WriteOptions) => Effect.Effect<boolean, CacheError>
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
  /**
   * Delete every entry of this view written with any of `tags` before the call, in every process: how many went.
   * A write racing the call either does not survive it or began after it took the tag (see the README's "Tags").
   *
   * @since 0.3.0
   */
  readonly invalidateTags: (tags: ReadonlyArray<string>) => Effect.Effect<number, CacheError>
  /** Cache-aside: the cached value, or the lookup's, stored. Concurrent misses of one key run one lookup. */
  readonly getOrSet: <E, R>(
    key: string,
    lookup: Effect.Effect<A, E, R>,
    options?: GetOrSetOptions<A>
  ) => Effect.Effect<A, E | CacheError, Exclude<R, Lookup>>
  /**
   * Cache-aside for many keys at once: one `getMany`, then one call of `lookupMany` with the keys that missed (in
   * the order of `keys`), which must answer one value per key in that order, then one `setMany` of those values.
   * Answers one value per key, in the order of `keys`; a key listed twice is read, looked up and stored once, and
   * answered wherever it is listed. There is no single-flight across calls here: batch callers are expected to batch.
   */
  readonly getOrSetMany: <E, R>(
    keys: Iterable<string>,
    lookupMany: (missing: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<A>, E, R>,
    options?: GetOrSetManyOptions<A>
  ) => Effect.Effect<ReadonlyArray<A>, E | CacheError, R>
  /**
   * A handle bound to `key`: `get`, `set`, `add`, `delete`, `has`, `timeToLive`, `expire`, `persist` and `getOrSet`
   * of this view on that key.
   *
   * @since 0.4.0
   */
  readonly entry: (key: string) => EntryHandle<A>
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
  /** How values become what the backend stores, text or bytes (`Codec`). Default: JSON. */
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
  /**
   * A local tier: decoded values in process, in front of the backend, kept coherent across processes by the
   * backend (Redis: server-assisted tracking, or a pub/sub bus). See `LocalOptions`.
   *
   * @since 0.4.0
   */
  readonly local?: LocalOptions | undefined
}

/**
 * The local tier's options.
 *
 * @since 0.4.0
 * @category models
 */
export interface LocalOptions {
  /** The most entries it holds (a positive whole number); the least recently used go first. */
  readonly capacity: number
  /** The most encoded bytes (the entries' stored sizes) it holds. */
  readonly maxBytes?: number | undefined
  /** How long a local entry lives at most (never past the backend entry's own remaining time-to-live). */
  readonly timeToLive: Duration.DurationInput
  /**
   * How other processes' writes reach this tier (Redis): `"tracking"` (default), Redis's server-assisted client-side
   * caching, which sees every write under the prefix, by any program; `"bus"`, a pub/sub channel Cachet's own writers
   * publish on, for servers that refuse `CLIENT TRACKING`. Without a mode, a server that refuses tracking gets the
   * bus (with a warning). A backend without cross-process invalidation (memory) refuses either.
   */
  readonly invalidation?: "tracking" | "bus" | undefined
  /** Deep-freeze values on their way in, so that a reader mutating a shared value throws (for tests). */
  readonly freeze?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CachedOptions<Args extends ReadonlyArray<unknown>, A> extends GetOrSetOptions<A> {
  /** The cache key of a call. */
  readonly key: (...args: Args) => string
  /** Calls for which this returns `true` run the function straight, neither reading nor writing the cache. */
  readonly bypass?: ((...args: Args) => boolean) | undefined
}

/**
 * A cached function, with `invalidate` to drop the entry of some arguments.
 *
 * @since 0.1.0
 * @category models
 */
export interface CachedFunction<Args extends ReadonlyArray<unknown>, A, E, R> {
  (...args: Args): Effect.Effect<A, E | CacheError, Exclude<R, Lookup> | CacheTag>
  /** Delete the cached result of these arguments: whether there was one. */
  readonly invalidate: (...args: Args) => Effect.Effect<boolean, CacheError, CacheTag>
}

/** What a lookup reads and decides: `Cache.Lookup.Service`. */
export interface LookupService {
  /**
   * The value this lookup replaces: the entry's, when it is still there past its freshness (a stale window), or the
   * current one in a refresh ahead of expiry (`refreshAhead`).
   */
  readonly stale: Option.Option<unknown>
  /** Store the looked-up value with this time-to-live instead of the call's (zero: do not store). */
  readonly setTimeToLive: (timeToLive: Duration.DurationInput) => Effect.Effect<void>
  /** Store the looked-up value with these tags instead of the call's (an invalid tag fails the call, storing nothing). */
  readonly setTags: (tags: ReadonlyArray<string>) => Effect.Effect<void>
  /** Return the looked-up value without storing it. */
  readonly skipStore: Effect.Effect<void>
}

/**
 * Options of `refreshEvery`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RefreshOptions extends SetOptions {
  /** Randomise each delay (Effect's `Schedule.jittered`) so that processes do not refresh in step. Default `true`. */
  readonly jitter?: boolean | undefined
}
