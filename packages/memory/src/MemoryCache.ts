/**
 * An in-process backend with Redis's semantics: values stored encoded, Redis glob matching byte for byte,
 * Redis integer rules, Redis time-to-live arithmetic. Expiry reads Effect's `Clock`, so `TestClock` drives it
 * in tests.
 *
 * @since 0.1.0
 */
import type { Backend } from "@cachet/core/Backend"
import * as Cache from "@cachet/core/Cache"
import { type CacheError, CacheInvalidInputError } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as backend from "./internal/backend.js"
import { Store } from "./internal/store.js"

/**
 * Options of the memory backend: the service's options plus the limits that trigger least-recently-used
 * eviction.
 *
 * Reads (`get`, `getMany`, `getOrSet` hits, and the time-to-live read behind stale-while-revalidate) and
 * writes make an entry the most recently used; `has`, `timeToLive`, `expire` and `persist` do not. Without
 * `capacity` and `maxBytes` the store is unbounded, like Redis without `maxmemory`; expired entries are
 * still removed.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryCacheOptions extends Cache.Cache.Options {
  /** The most entries kept (a positive integer); writing one more evicts the least recently used. */
  readonly capacity?: number | undefined
  /**
   * The most bytes kept (a positive integer), approximated as two bytes per UTF-16 code unit of each key and
   * encoded value, as JavaScript stores strings. The least recently used entries are evicted to make room; a
   * single entry heavier than `maxBytes` is not kept (its write removes the key's previous value) and evicts
   * nothing else.
   */
  readonly maxBytes?: number | undefined
}

const limit = (name: string, value: number | undefined): Effect.Effect<number, CacheInvalidInputError> =>
  value === undefined
    ? Effect.succeed(Number.POSITIVE_INFINITY)
    : Number.isSafeInteger(value) && value > 0
      ? Effect.succeed(value)
      : Effect.fail(
          new CacheInvalidInputError({
            operation: "make",
            code: "INVALID_ARGUMENT",
            reason: `${name} must be a positive integer`
          })
        )

/**
 * A raw memory `Backend`, for building a service with `Cache.make` or for comparing it with another backend.
 *
 * @example
 * ```ts
 * import { MemoryCache } from "@cachet/memory"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const backend = yield* MemoryCache.makeBackend({ capacity: 1000 })
 *   yield* backend.set("k", "1", 60_000)
 *   return yield* backend.increment("k", 41n)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBackend = (options?: MemoryCacheOptions): Effect.Effect<Backend, CacheInvalidInputError> =>
  Effect.gen(function* () {
    // Read once, here: a caller's getter or Proxy that throws is refused like every other bad option.
    const limits = yield* Effect.try({
      try: () => ({ capacity: options?.capacity, maxBytes: options?.maxBytes }),
      catch: (cause) =>
        new CacheInvalidInputError({
          operation: "make",
          code: "INVALID_ARGUMENT",
          reason: "reading an option threw (a getter or a Proxy trap)",
          cause
        })
    })
    const capacity = yield* limit("capacity", limits.capacity)
    const maxBytes = yield* limit("maxBytes", limits.maxBytes)
    // Captured once so that reads use the clock synchronously; under TestClock, `TestClock.adjust` expires.
    const clock = yield* Effect.clock
    return backend.make(new Store(clock, { capacity, maxBytes }))
  })

/**
 * The cache service on a fresh in-process store.
 *
 * @example
 * ```ts
 * import { MemoryCache } from "@cachet/memory"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const cache = yield* MemoryCache.make({ capacity: 10_000, defaultTimeToLive: "5 minutes" })
 *     yield* cache.set("greeting", "hello")
 *     return yield* cache.get("greeting")
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: MemoryCacheOptions): Effect.Effect<Cache.Cache.Service, CacheError, Scope.Scope> =>
  Effect.flatMap(makeBackend(options), (backend) => Cache.make(backend, options))

/**
 * A layer providing the `Cache` service on a fresh in-process store.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { MemoryCache } from "@cachet/memory"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   yield* Cache.set("user:1", { name: "Ada" }, { timeToLive: "10 minutes" })
 *   return yield* Cache.get("user:1")
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(MemoryCache.layer({ capacity: 10_000 }))))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: MemoryCacheOptions): Layer.Layer<Cache.Cache, CacheError> =>
  Layer.scoped(Cache.Cache, make(options))
