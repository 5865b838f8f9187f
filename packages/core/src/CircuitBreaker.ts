/**
 * A circuit breaker for a backend: after `failureThreshold` consecutive failures that say the server did not answer
 * (`CacheUnavailableError`, `CacheTimeoutError`), operations fail at once with `CacheUnavailableError` code
 * `CIRCUIT_OPEN` for `cooldown`, so callers stop waiting on a server that is down. After the cooldown one operation
 * goes through as a probe (half-open): its success closes the circuit, its failure opens it for another cooldown.
 * A failure that proves the server answered (a wrong type, a full memory) counts as a success.
 *
 * Two ways to use it: `wrap` puts one breaker in front of every operation of any `Backend`; a backend that talks to
 * several servers makes its own, one per server (`make`, `keyed`), and calls `admit`, `onSuccess` and `onFailure`
 * around each command, so that one server down fails fast on its own keys only.
 *
 * @since 0.4.0
 */
import type * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type { Backend } from "./Backend.js"
import type { CacheError, CacheInvalidInputError, CacheUnavailableError, Operation } from "./CacheError.js"
import * as internal from "./internal/circuitBreaker.js"

/**
 * How a circuit breaker opens and for how long.
 *
 * @since 0.4.0
 * @category models
 */
export interface Options {
  /** Consecutive failures that open the circuit. A positive integer; default 5. */
  readonly failureThreshold?: number | undefined
  /** How long the circuit stays open before a probe. Positive and finite; default 2 seconds. */
  readonly cooldown?: Duration.DurationInput | undefined
}

/**
 * `Options` checked, with the defaults filled in.
 *
 * @since 0.4.0
 * @category models
 */
export interface Settings {
  readonly failureThreshold: number
  readonly cooldown: Duration.Duration
}

/**
 * One breaker's state, told the outcome of every command it admitted. Every method is synchronous and allocates
 * nothing on the closed path, so a backend can call them around each command.
 *
 * @since 0.4.0
 * @category models
 */
export interface CircuitBreaker {
  /**
   * Whether a command may go out now; `false` while the circuit is open. After the cooldown it answers `true` once,
   * for the probe, and `false` until the probe's outcome is told.
   */
  readonly allow: () => boolean
  /** `allow`, answered as the error an operation on `key` fails with at once: `undefined` to go ahead. */
  readonly admit: (operation: Operation, key: string | undefined) => CacheUnavailableError | undefined
  /** The admitted command succeeded. */
  readonly onSuccess: () => void
  /** The admitted command failed; an error that proves the server answered counts as a success. */
  readonly onFailure: (error: CacheError) => void
  /** The admitted command ended without an outcome (interrupted): a probe's turn passes to the next command. */
  readonly onInterrupt: () => void
}

/**
 * Checks `Options` and fills in the defaults; fails with `CacheInvalidInputError` code `INVALID_ARGUMENT`. For a
 * backend that checks all its options before it connects.
 *
 * @since 0.4.0
 * @category constructors
 */
export const settings: (options?: Options | undefined) => Either.Either<Settings, CacheInvalidInputError> =
  internal.settings

/**
 * A breaker that reads time from the `Clock` (so `TestClock` drives it in tests).
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@cachet/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make(yield* CircuitBreaker.settings({ failureThreshold: 3 }))
 *   const refused = breaker.admit("get", "user:1")
 *   if (refused !== undefined) return yield* Effect.fail(refused)
 *   breaker.onSuccess()
 * })
 * ```
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: (settings: Settings) => Effect.Effect<CircuitBreaker> = internal.make

/**
 * A breaker reading time from `clock`, made outside an Effect.
 *
 * @since 0.4.0
 * @category constructors
 */
export const unsafeMake: (settings: Settings, clock: Clock.Clock) => CircuitBreaker = internal.unsafeMake

/**
 * One breaker per key (a server's `host:port`, say), each made on first use: a backend that spreads its keys over
 * several servers breaks per server.
 *
 * @since 0.4.0
 * @category constructors
 */
export const keyed: (settings: Settings) => Effect.Effect<(key: string) => CircuitBreaker> = internal.keyed

/**
 * A breaker that never opens.
 *
 * @since 0.4.0
 * @category constructors
 */
export const disabled: CircuitBreaker = internal.disabled

/**
 * `backend` behind one circuit breaker: every operation is admitted by it first and tells it its outcome (a `scan`
 * when its stream ends). Fails with `CacheInvalidInputError` when the options are invalid.
 *
 * @example
 * ```ts
 * import { Cache, CircuitBreaker } from "@cachet/core"
 * import { MemoryCache } from "@cachet/memory"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const backend = yield* MemoryCache.makeBackend()
 *     const guarded = yield* CircuitBreaker.wrap(backend, { failureThreshold: 3, cooldown: "1 second" })
 *     const cache = yield* Cache.make(guarded)
 *     return yield* cache.get("greeting")
 *   })
 * )
 * ```
 *
 * @since 0.4.0
 * @category combinators
 */
export const wrap: (backend: Backend, options?: Options | undefined) => Effect.Effect<Backend, CacheInvalidInputError> =
  internal.wrap
