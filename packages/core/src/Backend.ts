/**
 * What a storage backend implements: Redis-shaped primitives over full (already prefixed) string keys and
 * encoded values, text or bytes as the codec wrote them. Backends stay small; prefixing, codecs, validation,
 * time-to-live rules, single-flight, metrics and spans live once in `Cache.make`. A third party proves its backend
 * with `@cachet/testing`.
 *
 * Conventions every backend follows, exactly as Redis does:
 *
 * - Time-to-live arguments are whole milliseconds ≥ 1 (`undefined`: no expiry). The core has already
 *   validated, rounded and jittered them.
 * - `set` without a time-to-live removes any previous expiry (Redis `SET` without `KEEPTTL`);
 *   `setKeepingTimeToLive` keeps it, and `getAndExpire` takes `0` for "delete once read".
 * - `increment` parses the stored string with Redis's integer rules (no sign `+`, no leading zeros, no
 *   spaces, signed 64-bit), keeps the key's time-to-live, and fails with `CacheCommandError` code
 *   `NOT_INTEGER` or `OVERFLOW`.
 * - Values are `string | Uint8Array`. Text is UTF-8 on the wire, so a read may answer a value in either form,
 *   whichever it holds: the core gives each codec the form it reads (bytes as their UTF-8 text, text as its UTF-8
 *   bytes). `increment` and `deleteIfEquals` compare and parse values as bytes, as Redis does. A backend keeps a
 *   copy of the bytes it is given and answers each read with bytes of the reader's own, as a server does.
 * - `scan` matches keys with Redis's glob rules (`stringmatchlen`) and may emit a key more than once only
 *   where Redis SCAN would (a rehash); the core de-duplicates nothing.
 * - Keys containing U+0000 (`isBookkeeping`) are the core's own bookkeeping (a `getOrSet` lock, the record of a
 *   tagged entry's tags); no user key contains it. A backend bounded by a number of entries does not count them as
 *   entries (they may be evicted as entries are); one bounded by bytes weighs them like every other value.
 * - Tag bookkeeping (`tagAdd`, `tagTake`) works on two keys of one tag, an index (a sorted set of full entry keys
 *   scored by their expiry in epoch milliseconds, `+inf` for none) and an epoch (a string), which always share a
 *   Redis hash slot. Each call is atomic over both keys: on Redis, one Lua script.
 * - Errors are `CacheError`s labelled with the backend primitive's own name (`"set"`, `"getWithTimeToLive"`, ...:
 *   `CacheError.Operation`); the core re-labels their `operation` and `key` with the caller's view.
 *
 * A backend that answers without I/O (an in-process store) implements `SyncBackend` instead and passes it to
 * `fromSync`: the core then runs each operation in one step of its own, with no Effect of the backend's to run.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { CacheError } from "./CacheError.js"
import * as internal from "./internal/backend.js"
import * as KeySpace from "./internal/keySpace.js"

/**
 * One write of a batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly key: string
  readonly value: string | Uint8Array
  /** Whole milliseconds ≥ 1, or `undefined` for no expiry. */
  readonly timeToLive: number | undefined
}

/**
 * An entry key to add to a tag's index, with the entry's time-to-live (its score is the expiry it gives).
 *
 * @since 0.3.0
 * @category models
 */
export interface TagMember {
  readonly key: string
  /** Whole milliseconds ≥ 1, or `undefined` for no expiry (score `+inf`). */
  readonly timeToLive: number | undefined
}

/**
 * A value with its remaining time-to-live, read in one round trip.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValueWithTimeToLive {
  readonly value: string | Uint8Array
  /** Remaining milliseconds, or `-1` when the key never expires. */
  readonly timeToLive: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Backend {
  /** Short name used in metrics and spans: `"memory"`, `"redis"`. */
  readonly name: string
  /**
   * The server that spans name (`server.address`, `server.port`), for a backend that talks to one; never a
   * credential.
   *
   * @since 0.4.0
   */
  readonly server?: { readonly address: string; readonly port: number } | undefined
  /** GET: the stored value, or `undefined` when absent. */
  readonly get: (key: string) => Effect.Effect<string | Uint8Array | undefined, CacheError>
  /** GET and PTTL in one round trip; `undefined` when absent. */
  readonly getWithTimeToLive: (key: string) => Effect.Effect<ValueWithTimeToLive | undefined, CacheError>
  /** MGET: one answer per key, in order. */
  readonly getMany: (
    keys: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<string | Uint8Array | undefined>, CacheError>
  /** SET [PX]. */
  readonly set: (
    key: string,
    value: string | Uint8Array,
    timeToLive: number | undefined
  ) => Effect.Effect<void, CacheError>
  /**
   * SET KEEPTTL: write the value and keep the key's expiry (an absent key is written without one).
   *
   * @since 0.4.0
   */
  readonly setKeepingTimeToLive: (key: string, value: string | Uint8Array) => Effect.Effect<void, CacheError>
  /**
   * GETEX: the value (`undefined` when absent), and the key's expiry reset in the same command: whole milliseconds
   * ≥ 1 (GETEX PX), `undefined` to remove it (GETEX PERSIST), or `0` to delete the key after reading it (GETEX PXAT
   * with a time already past). An absent key stays absent.
   *
   * @since 0.4.0
   */
  readonly getAndExpire: (
    key: string,
    timeToLive: number | undefined
  ) => Effect.Effect<string | Uint8Array | undefined, CacheError>
  /** All entries or none (MULTI; per hash slot in a Cluster). */
  readonly setMany: (entries: ReadonlyArray<Entry>) => Effect.Effect<void, CacheError>
  /** SET NX [PX]: whether the value was written. */
  readonly add: (
    key: string,
    value: string | Uint8Array,
    timeToLive: number | undefined
  ) => Effect.Effect<boolean, CacheError>
  /**
   * Delete `key` only if its value is exactly `expected` (compare-and-delete, atomic; a Lua script on Redis):
   * whether it was deleted. Releases a lock without removing one that has since passed to another holder.
   */
  readonly deleteIfEquals: (key: string, expected: string | Uint8Array) => Effect.Effect<boolean, CacheError>
  /** UNLINK: how many of the keys existed. */
  readonly delete: (keys: ReadonlyArray<string>) => Effect.Effect<number, CacheError>
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
   * SCAN MATCH, and UNLINK of each batch as it comes: how many of the deleted keys that `counted` accepts existed
   * (the core counts entries, not its own bookkeeping, which the pattern also matches). Optional: without it the
   * core deletes what `scan` emits, the same commands in the same order, at the price of a `Stream` step per batch.
   *
   * @since 0.2.0
   */
  readonly deleteMatching?:
    | ((pattern: string, counted: (key: string) => boolean) => Effect.Effect<number, CacheError>)
    | undefined
  /**
   * Atomically on `index` and `epoch` (one hash slot): remove the members whose expiry has passed (ZREMRANGEBYSCORE
   * `-inf` to now, excluded), add `members` with their expiry as score (ZADD: a member already there takes the new
   * score), expire the index at its largest score (PEXPIREAT; PERSIST when one is `+inf`; no index when empty), and
   * answer the epoch's value (GET; `undefined` when absent). With no members it sweeps and reads the epoch.
   * Optional (with `tagTake`): without them the core keeps each tag's index in a string under a lock of its own,
   * from `get`, `set`, `add`, `deleteIfEquals` and `delete`, which is correct but slower.
   *
   * @since 0.3.0
   */
  readonly tagAdd?:
    | ((
        index: string,
        epoch: string,
        members: ReadonlyArray<TagMember>
      ) => Effect.Effect<string | undefined, CacheError>)
    | undefined
  /**
   * Atomically on `index` and `epoch`: answer the index's members whose expiry has not passed (ZRANGE BYSCORE now
   * `+inf`), delete the index (UNLINK), and set the epoch to `token` for `epochTimeToLive` milliseconds (SET PX).
   *
   * @since 0.3.0
   */
  readonly tagTake?:
    | ((
        index: string,
        epoch: string,
        token: string,
        epochTimeToLive: number
      ) => Effect.Effect<ReadonlyArray<string>, CacheError>)
    | undefined
  /** PING. */
  readonly ping: Effect.Effect<void, CacheError>
  /**
   * The reads again, answering bytes: views whose codec is binary call these instead of `get`, `getWithTimeToLive`
   * and `getMany`. Only for a backend that answers text unless asked for bytes (Redis, whose text replies would put
   * U+FFFD in place of bytes that are not UTF-8; ioredis gives bytes through its buffer replies). A backend whose
   * reads answer each value in the form it was written leaves it out.
   *
   * @since 0.5.0
   */
  readonly bytes?: BytesReads | undefined
  /**
   * Optional: how a local tier in front of this backend learns of changes made by other processes. Called once by
   * `Cache.make` when the cache has a local tier; what it sets up (connections, subscriptions) lives in the scope.
   * Without it, a local tier is coherent with this process's own writes only.
   *
   * @since 0.4.0
   */
  readonly coherence?: ((request: CoherenceRequest) => Effect.Effect<Coherence, CacheError, Scope.Scope>) | undefined
  /**
   * Optional: whose time expires the backend's entries. `"effect"` (the default): Effect's `Clock`, as an in-process
   * store does (`TestClock` moves it). `"server"`: the server's own time, which passes for real whatever clock the
   * program runs with; a local tier then bounds its entries by the backend's remaining time-to-live in real time.
   *
   * @since 0.4.0
   */
  readonly expiryClock?: "effect" | "server" | undefined
}

/**
 * Why a local tier dropped everything it held.
 *
 * - `"flushed"`: the backend was flushed (Redis `FLUSHDB`/`FLUSHALL`), or a bus message said so;
 * - `"cleared"`: this cache's own `clear`, `deletePattern` or tag invalidation;
 * - `"disconnected"`: the connection that delivers invalidations closed;
 * - `"unresponsive"`: it stopped answering PING;
 * - `"reconnected"`: the data connection reconnected (tracking is per connection);
 * - `"topology"`: a Cluster's masters changed;
 * - `"failover"`: Sentinel moved the master.
 *
 * @since 0.4.0
 * @category models
 */
export type FlushReason =
  | "flushed"
  | "cleared"
  | "disconnected"
  | "unresponsive"
  | "reconnected"
  | "topology"
  | "failover"

/**
 * What a backend tells the local tier: these keys changed; everything may have changed; coherence is lost (serve and
 * keep nothing) or restored (start again, empty).
 *
 * @since 0.4.0
 * @category models
 */
export type Invalidation =
  | { readonly _tag: "Keys"; readonly keys: ReadonlyArray<string> }
  | { readonly _tag: "Flush"; readonly reason: FlushReason }
  | { readonly _tag: "Lost"; readonly reason: FlushReason }
  | { readonly _tag: "Restored"; readonly reason: FlushReason }

/**
 * What `Backend.coherence` is asked for: the full keys under `prefix`, by `mode` (`undefined`: the backend's
 * default), reported to `receive` (synchronously, in the order they happen).
 *
 * @since 0.4.0
 * @category models
 */
export interface CoherenceRequest {
  readonly prefix: string
  readonly mode: "tracking" | "bus" | undefined
  readonly receive: (event: Invalidation) => void
}

/**
 * Coherence once set up: the mode in use, and how this process's own writes reach the others (the bus publishes
 * them; with tracking the server sees them itself and `announce` does nothing).
 *
 * @since 0.4.0
 * @category models
 */
export interface Coherence {
  readonly mode: "tracking" | "bus"
  readonly announce: (keys: ReadonlyArray<string> | "all") => void
}

/**
 * The reads of a backend that answer bytes (`Backend.bytes`).
 *
 * @since 0.5.0
 * @category models
 */
export type BytesReads = Pick<Backend, "get" | "getWithTimeToLive" | "getMany" | "getAndExpire">

/**
 * A backend that answers at once, without I/O: each operation returns its answer as an `Exit` (a success, or a
 * typed failure), and `scan` returns the batches as a lazy iterable. The conventions of `Backend` hold unchanged; its
 * reads answer each value in the form it was written, so it has no `bytes`.
 *
 * @since 0.3.0
 * @category models
 */
export interface SyncBackend {
  readonly name: string
  readonly get: (key: string) => Exit.Exit<string | Uint8Array | undefined, CacheError>
  readonly getWithTimeToLive: (key: string) => Exit.Exit<ValueWithTimeToLive | undefined, CacheError>
  readonly getMany: (
    keys: ReadonlyArray<string>
  ) => Exit.Exit<ReadonlyArray<string | Uint8Array | undefined>, CacheError>
  readonly set: (key: string, value: string | Uint8Array, timeToLive: number | undefined) => Exit.Exit<void, CacheError>
  readonly setKeepingTimeToLive: (key: string, value: string | Uint8Array) => Exit.Exit<void, CacheError>
  readonly getAndExpire: (
    key: string,
    timeToLive: number | undefined
  ) => Exit.Exit<string | Uint8Array | undefined, CacheError>
  readonly setMany: (entries: ReadonlyArray<Entry>) => Exit.Exit<void, CacheError>
  readonly add: (
    key: string,
    value: string | Uint8Array,
    timeToLive: number | undefined
  ) => Exit.Exit<boolean, CacheError>
  readonly deleteIfEquals: (key: string, expected: string | Uint8Array) => Exit.Exit<boolean, CacheError>
  readonly delete: (keys: ReadonlyArray<string>) => Exit.Exit<number, CacheError>
  readonly has: (key: string) => Exit.Exit<boolean, CacheError>
  readonly timeToLive: (key: string) => Exit.Exit<number, CacheError>
  readonly expire: (key: string, timeToLive: number) => Exit.Exit<boolean, CacheError>
  readonly persist: (key: string) => Exit.Exit<boolean, CacheError>
  readonly increment: (key: string, by: bigint) => Exit.Exit<bigint, CacheError>
  /** Each batch is computed when it is pulled, as SCAN answers one cursor step at a time. */
  readonly scan: (pattern: string) => Iterable<ReadonlyArray<string>>
  readonly tagAdd?:
    | ((index: string, epoch: string, members: ReadonlyArray<TagMember>) => Exit.Exit<string | undefined, CacheError>)
    | undefined
  readonly tagTake?:
    | ((
        index: string,
        epoch: string,
        token: string,
        epochTimeToLive: number
      ) => Exit.Exit<ReadonlyArray<string>, CacheError>)
    | undefined
  readonly ping: () => Exit.Exit<void, CacheError>
  /**
   * As `Backend.coherence`: what the store tells a local tier by itself (an in-process store, the entries it
   * evicts to stay within its limits).
   *
   * @since 0.5.0
   */
  readonly coherence?: Backend["coherence"]
}

/**
 * The `Backend` of a synchronous one. Its Effects are what any caller can run; `Cache.make` recognises a backend made
 * here and calls the synchronous operations itself, inside the step that also records metrics, so an in-memory
 * read costs no Effect of its own. A wrapper that builds a new `Backend` from this one (spreading it, replacing an
 * operation) is an ordinary backend again: its own functions are always the ones that run.
 *
 * @since 0.3.0
 * @category constructors
 */
export const fromSync: (backend: SyncBackend) => Backend = internal.fromSync

/**
 * Whether a stored key is the core's own bookkeeping rather than an entry (it contains U+0000, which no user key may).
 *
 * @since 0.4.0
 * @category utils
 */
export const isBookkeeping: (key: string) => boolean = KeySpace.isBookkeeping

/**
 * For a backend's `deleteMatching`: the deletion of one batch of keys by `remove` (one command, or two when some
 * keys are not `counted`, whose answer is then unused), answering how many of the counted keys existed.
 *
 * @since 0.4.0
 * @category utils
 */
export const deleteCounting: (
  keys: ReadonlyArray<string>,
  counted: (key: string) => boolean,
  remove: (keys: ReadonlyArray<string>) => Effect.Effect<number, CacheError>
) => Effect.Effect<number, CacheError> = internal.deleteCounting
