/**
 * What a storage backend implements: Redis-shaped primitives over full (already prefixed) string keys and
 * encoded string values. Backends stay small; prefixing, codecs, validation, time-to-live rules, single-flight,
 * metrics and spans live once in `Cache.make`. A third party proves its backend with `@cachet/testing`.
 *
 * Conventions every backend follows, exactly as Redis does:
 *
 * - Time-to-live arguments are whole milliseconds ≥ 1 (`undefined`: no expiry). The core has already
 *   validated, rounded and jittered them.
 * - `set` without a time-to-live removes any previous expiry (Redis `SET` without `KEEPTTL`).
 * - `increment` parses the stored string with Redis's integer rules (no sign `+`, no leading zeros, no
 *   spaces, signed 64-bit), keeps the key's time-to-live, and fails with `CacheCommandError` code
 *   `NOT_INTEGER` or `OVERFLOW`.
 * - `scan` matches keys with Redis's glob rules (`stringmatchlen`) and may emit a key more than once only
 *   where Redis SCAN would (a rehash); the core de-duplicates nothing.
 * - Errors are `CacheError`s; the core re-labels their `operation` and `key` with the caller's view.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { CacheError } from "./CacheError.js"

/**
 * One write of a batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly key: string
  readonly value: string
  /** Whole milliseconds ≥ 1, or `undefined` for no expiry. */
  readonly timeToLive: number | undefined
}

/**
 * A value with its remaining time-to-live, read in one round trip.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValueWithTimeToLive {
  readonly value: string
  /** Remaining milliseconds, or `-1` when the key never expires. */
  readonly timeToLive: number
}

/**
 * One of the operations the core runs most. A backend that answers it without I/O and without a possible failure
 * (for the arguments the core passes: see the conventions above) may attach a synchronous form as `sync`, returning
 * exactly what the Effect succeeds with. The core then calls it inside an Effect step of its own instead of running
 * the backend's Effect, which saves the steps that cost as much as an in-memory read itself. A wrapper that replaces
 * the operation with a function of its own drops the form with it, so its replacement is always the one that runs.
 *
 * @since 0.2.0
 * @category models
 */
export interface Operation<Args extends ReadonlyArray<unknown>, A> {
  (...args: Args): Effect.Effect<A, CacheError>
  readonly sync?: ((...args: Args) => A) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Backend {
  /** Short name used in metrics and spans: `"memory"`, `"redis"`. */
  readonly name: string
  /** GET: the stored value, or `undefined` when absent. */
  readonly get: Operation<[key: string], string | undefined>
  /** GET and PTTL in one round trip; `undefined` when absent. */
  readonly getWithTimeToLive: (key: string) => Effect.Effect<ValueWithTimeToLive | undefined, CacheError>
  /** MGET: one answer per key, in order. */
  readonly getMany: Operation<[keys: ReadonlyArray<string>], ReadonlyArray<string | undefined>>
  /** SET [PX]. */
  readonly set: Operation<[key: string, value: string, timeToLive: number | undefined], void>
  /** All entries or none (MULTI; per hash slot in a Cluster). */
  readonly setMany: (entries: ReadonlyArray<Entry>) => Effect.Effect<void, CacheError>
  /** SET NX [PX]: whether the value was written. */
  readonly add: (key: string, value: string, timeToLive: number | undefined) => Effect.Effect<boolean, CacheError>
  /**
   * Delete `key` only if its value is exactly `expected` (compare-and-delete, atomic; a Lua script on Redis):
   * whether it was deleted. Releases a lock without removing one that has since passed to another holder.
   */
  readonly deleteIfEquals: (key: string, expected: string) => Effect.Effect<boolean, CacheError>
  /** UNLINK: how many of the keys existed. */
  readonly delete: Operation<[keys: ReadonlyArray<string>], number>
  /** EXISTS. */
  readonly has: (key: string) => Effect.Effect<boolean, CacheError>
  /** PTTL: `-2` absent, `-1` no expiry, otherwise the remaining milliseconds. */
  readonly timeToLive: (key: string) => Effect.Effect<number, CacheError>
  /** PEXPIRE: whether the key exists (and now expires). */
  readonly expire: (key: string, timeToLive: number) => Effect.Effect<boolean, CacheError>
  /** PERSIST: whether an expiry was removed. */
  readonly persist: (key: string) => Effect.Effect<boolean, CacheError>
  /** INCRBY: the new value. */
  readonly increment: (key: string, by: bigint) => Effect.Effect<bigint, CacheError>
  /** SCAN MATCH: batches of full keys matching the glob. */
  readonly scan: (pattern: string) => Stream.Stream<ReadonlyArray<string>, CacheError>
  /**
   * SCAN MATCH, and UNLINK of each batch as it comes: how many of the keys existed. Optional: without it the core
   * deletes what `scan` emits, the same commands in the same order, at the price of a `Stream` step per batch.
   *
   * @since 0.2.0
   */
  readonly deleteMatching?: ((pattern: string) => Effect.Effect<number, CacheError>) | undefined
  /** PING. */
  readonly ping: Effect.Effect<void, CacheError>
}
