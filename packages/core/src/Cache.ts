/**
 * The cache service. One `Context.Tag`, one set of operations on every backend; the Layer you provide picks
 * where the data lives.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Backend } from "./Backend.js"
import type { CacheError, CacheInvalidInputError } from "./CacheError.js"
import type { Codec } from "./Codec.js"
import * as make_ from "./internal/cache.js"
import type * as Shape from "./internal/jsonShape.js"
import type * as Model from "./internal/model.js"
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
 * the time-to-live and the tags to store its value with, or not to store it at all. Provided to every lookup `getOrSet` runs (and
 * `cached`'s functions), so a lookup that does not use it needs nothing more in its requirements.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { Effect } from "effect"
 *
 * // A job still running is answered, not stored.
 * const status = Cache.getOrSet(
 *   "job:7",
 *   Effect.gen(function* () {
 *     const lookup = yield* Cache.Lookup
 *     yield* lookup.skipStore
 *     return "running"
 *   })
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
  export type Service = Model.LookupService
}

/**
 * The service and its options; each is documented where it is declared.
 *
 * @since 0.1.0
 */
export declare namespace Cache {
  /**
   * @since 0.1.0
   * @category models
   */
  export type SetOptions = Model.SetOptions

  /**
   * @since 0.4.0
   * @category models
   */
  export type WriteOptions = Model.WriteOptions

  /**
   * @since 0.4.0
   * @category models
   */
  export type EntryOptions = Model.EntryOptions

  /**
   * @since 0.4.0
   * @category models
   */
  export type SetManyEntry<A> = Model.SetManyEntry<A>

  /**
   * @since 0.4.0
   * @category models
   */
  export type GetOptions = Model.GetOptions

  /**
   * @since 0.4.0
   * @category models
   */
  export type EntryHandle<A> = Model.EntryHandle<A>

  /**
   * @since 0.1.0
   * @category models
   */
  export type GetOrSetOptions<A> = Model.GetOrSetOptions<A>

  /**
   * @since 0.3.0
   * @category models
   */
  export type GetOrSetManyOptions<A> = Model.GetOrSetManyOptions<A>

  /**
   * @since 0.2.0
   * @category models
   */
  export type LockOptions = Model.LockOptions

  /**
   * @since 0.4.0
   * @category models
   */
  export type LocalOptions = Model.LocalOptions

  /**
   * @since 0.1.0
   * @category models
   */
  export type View<A> = Model.View<A>

  /**
   * @since 0.1.0
   * @category models
   */
  export type Service = Model.Service

  /**
   * @since 0.1.0
   * @category models
   */
  export type Options = Model.Options
}

/**
 * The options and models again at the top of the module, so that `Cache.Options` reads as well as
 * `Cache.Cache.Options` after `import * as Cache from "@cachet/core/Cache"` (or `import { Cache } from "@cachet/core"`).
 *
 * @since 0.4.0
 * @category models
 */
export type Options = Cache.Options
/** @since 0.4.0 */
export type LocalOptions = Cache.LocalOptions
/** @since 0.4.0 */
export type SetOptions = Cache.SetOptions
/** @since 0.4.0 */
export type WriteOptions = Cache.WriteOptions
/** @since 0.4.0 */
export type EntryOptions = Cache.EntryOptions
/** @since 0.4.0 */
export type SetManyEntry<A> = Cache.SetManyEntry<A>
/** @since 0.4.0 */
export type GetOptions = Cache.GetOptions
/** @since 0.4.0 */
export type GetOrSetOptions<A> = Cache.GetOrSetOptions<A>
/** @since 0.4.0 */
export type GetOrSetManyOptions<A> = Cache.GetOrSetManyOptions<A>
/** @since 0.4.0 */
export type LockOptions = Cache.LockOptions
/** @since 0.4.0 */
export type EntryHandle<A> = Cache.EntryHandle<A>
/** @since 0.4.0 */
export type View<A> = Cache.View<A>
/** @since 0.4.0 */
export type Service = Cache.Service

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
) => Effect.Effect<Cache.Service, CacheError, Scope.Scope> = make_.make

/**
 * Check options as `make` does before it touches the backend (every check that needs no backend). A backend layer
 * that connects calls it first, so that bad options fail with `CacheInvalidInputError` and nothing is sent, even
 * when the server cannot be reached.
 *
 * @since 0.4.0
 * @category constructors
 */
export const checkOptions: (options?: Cache.Options) => Effect.Effect<void, CacheInvalidInputError> = make_.checkOptions

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

/**
 * What survives a round trip through the JSON codec unchanged. A value type that holds a `Date`, a `bigint`, a
 * `Map`, a `Set`, bytes, a function or a symbol maps to `never` somewhere, so a schema-less `cached` or `getOrSet`
 * of it does not compile: give those a `schema` (dates coming back as strings is the bug this prevents).
 *
 * @since 0.1.0
 * @category models
 */
export type JsonSafe<A> = Shape.JsonShape<A, "refuse">

/**
 * What a schema may encode to for the JSON codec: `JsonSafe`, except that `unknown` parts (an encoded side the
 * types cannot tell, such as `Schema.Unknown`'s) are left to the run-time check.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonEncoded<I> = Shape.JsonShape<I, "leave">

/**
 * Accepts a schema whose encoded type is `JsonEncoded`; any other turns into an object type the schema cannot
 * match, with what to do as its only property name.
 *
 * @since 0.1.0
 * @category models
 */
export type RequireJsonEncoded<I> = Shape.RequireJsonEncoded<I>

/**
 * Accepts JSON-safe value types; any other type turns into an object type the value cannot match, with the
 * reason as its only property name.
 *
 * @since 0.1.0
 * @category models
 */
export type RequireJsonSafe<A> = Shape.RequireJsonSafe<A>

// The combinators (`cached`, `failOpen`, `refreshEvery`, `resolver`), the metrics and the cache-aside accessors are
// declared, with their documentation, in a module of their own.
export {
  type CachedFunction,
  type CachedOptions,
  cached,
  failOpen,
  getOrSet,
  getOrSetMany,
  type MetricRow,
  metrics,
  metricsSnapshot,
  type RefreshOptions,
  type ResolverOptions,
  refreshEvery,
  resolver
} from "./internal/combinators.js"

const accessors = Effect.serviceFunctions(Cache)

/**
 * Module-level accessors, one per operation of the service: `Cache.get(key)` is
 * `Effect.flatMap(Cache.Cache, (cache) => cache.get(key))`, and so on (`delete` included).
 *
 * @since 0.1.0
 * @category accessors
 */
export const {
  add,
  clear,
  decrement,
  deleteMany,
  deletePattern,
  expire,
  get,
  getMany,
  has,
  increment,
  invalidateTags,
  persist,
  set,
  setMany,
  timeToLive
} = accessors

const remove = accessors.delete

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
export const keys = (glob?: string): Stream.Stream<string, CacheError, Cache> =>
  Stream.unwrap(Effect.map(Cache, (cache) => cache.keys(glob)))

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

/**
 * The handle of `key` on the service in context (`cache.entry(key)`): its operations bound to that key.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { Effect } from "effect"
 *
 * const touch = Effect.flatMap(Cache.entry("session:1"), (session) => session.get({ timeToLive: "30 minutes" }))
 * ```
 *
 * @since 0.4.0
 * @category accessors
 */
export const entry = (key: string): Effect.Effect<Cache.EntryHandle<unknown>, never, Cache> =>
  Effect.map(Cache, (cache) => cache.entry(key))
