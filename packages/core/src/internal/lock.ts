/**
 * The cross-process stampede lock of `getOrSet`. One process per key runs the lookup; the others
 * poll until its value appears, or until the lock is free again (released, or expired because its holder died),
 * and then one of them takes over.
 *
 * - Acquire: `SET <key>\0lock <token> NX PX <timeout>` (the backend's `add`), with a random token per attempt. The
 *   lock key is bookkeeping (`keySpace.ts`): no user key can name it, and `keys()` does not list it.
 * - Release: compare-and-delete of that token, so a holder whose lock has already expired and passed to another
 *   process never removes the new holder's lock.
 * - The holder reads the value once more after acquiring: another process may have stored it and released the
 *   lock between this process's miss and its acquire.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { Backend } from "../Backend.js"
import { type CacheError, CacheTimeoutError, isRetryable } from "../CacheError.js"
import * as KeySpace from "./keySpace.js"
import { withContext } from "./relabel.js"

/** @internal */
export interface LockSettings {
  /** Milliseconds the lock lives: a crashed holder's lock frees itself after this. */
  readonly timeout: number
  readonly poll: Schedule.Schedule<unknown, unknown>
}

/** @internal */
export const defaultTimeout = 10_000
const defaultPoll: Schedule.Schedule<unknown, unknown> = Schedule.jittered(Schedule.spaced("50 millis"))

/** Settings from validated milliseconds (see `validate.ts`). */
export const make = (timeout: number, wait: number, poll = defaultPoll): LockSettings => ({
  timeout,
  poll: Schedule.upTo(poll, Duration.millis(wait))
})

/** @internal */
export const defaults = make(defaultTimeout, 2 * defaultTimeout)

/** A failure of the lock's own commands, kept apart from the lookup's failures until `run` decides on it. */
class LockFailure {
  constructor(readonly error: CacheError) {}
}

const isLockFailure = (error: unknown): error is LockFailure => error instanceof LockFailure

/**
 * `compute` (lookup and store) run under the lock of `full`, or the value another process stored meanwhile.
 *
 * `readFresh` reads the entry and answers it only if it is fresh (a value served while stale must not end the
 * wait). A failure of the lock's own commands (or `LOCK_TIMEOUT`) fails the call, or with `bypass` and a retryable
 * error runs `compute` straight; failures of `compute` pass through untouched either way.
 */
export const run = <A, E, R>({
  backend,
  bypass,
  compute,
  full,
  key,
  lock,
  onReleaseFailure,
  onBypass,
  onWait,
  readFresh,
  whenHeld
}: {
  readonly backend: Backend
  readonly lock: LockSettings
  /** The caller's key, for errors; `full` is the stored key. */
  readonly key: string
  readonly full: string
  readonly readFresh: Effect.Effect<Option.Option<A>, CacheError>
  readonly compute: Effect.Effect<A, E | CacheError, R>
  readonly bypass: boolean
  /** Reports a lock command failure that `bypass` turned into a plain lookup (counted and logged as degraded). */
  readonly onBypass: (error: CacheError) => Effect.Effect<void>
  /** Called once when this call starts waiting for another process. */
  readonly onWait: () => void
  /** Called when the release of a held lock fails (the lock then lives until it expires). */
  readonly onReleaseFailure: () => void
  /**
   * What a lock held by another process answers, instead of waiting for its value: a background refresh leaves the
   * work to that process.
   */
  readonly whenHeld?: Effect.Effect<A> | undefined
}): Effect.Effect<A, E | CacheError, R> => {
  const lockKey = KeySpace.bookkeeping(full, "lock")
  // Nothing to retry: the lock frees itself by its expiry. But until then every other process waits, so the
  // failure must be visible; the key stays out of the log (keys may be personal data).
  const releaseFailed = (error: CacheError) =>
    Effect.zipRight(
      Effect.sync(onReleaseFailure),
      Effect.logWarning(
        `cachet: getOrSet could not release its lock (${error._tag} ${error.code}); other processes wait until it expires`
      ).pipe(Effect.annotateLogs({ "cachet.operation": "getOrSet", "cachet.code": error.code }))
    )
  const command = <X>(effect: Effect.Effect<X, CacheError>): Effect.Effect<X, LockFailure> =>
    Effect.mapError(effect, (error) => new LockFailure(withContext(error, "getOrSet", key)))
  const read = command(readFresh)

  const attempt: Effect.Effect<Option.Option<A>, E | CacheError | LockFailure, R> = Effect.suspend(() => {
    const token = globalThis.crypto.randomUUID()
    const release = Effect.catchAll(Effect.asVoid(backend.deleteIfEquals(lockKey, token)), releaseFailed)
    // Uninterruptible between the acquire and the release being registered, so that an interrupted holder never
    // leaves its lock to expire on its own.
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(command(backend.add(lockKey, token, lock.timeout)), (acquired) =>
        acquired
          ? Effect.ensuring(
              restore(
                Effect.flatMap(read, (found) => (Option.isSome(found) ? Effect.succeed(found) : Effect.asSome(compute)))
              ),
              release
            )
          : Effect.succeedNone
      )
    )
  })

  const poll = Effect.flatMap(read, (found) => (Option.isSome(found) ? Effect.succeed(found) : attempt))

  const timedOut = Effect.fail(
    new LockFailure(new CacheTimeoutError({ operation: "getOrSet", key, code: "LOCK_TIMEOUT" }))
  )

  const wait = Effect.flatMap(Schedule.driver(lock.poll), (driver) => {
    const loop: Effect.Effect<A, E | CacheError | LockFailure, R> = Effect.matchEffect(driver.next(undefined), {
      onFailure: () => timedOut,
      onSuccess: () => Effect.flatMap(poll, (found) => (Option.isSome(found) ? Effect.succeed(found.value) : loop))
    })
    return loop
  })

  const locked = Effect.flatMap(attempt, (found) => {
    if (Option.isSome(found)) return Effect.succeed(found.value)
    if (whenHeld !== undefined) return whenHeld
    onWait()
    return wait
  })

  return Effect.catchIf(locked, isLockFailure, ({ error }) =>
    bypass && isRetryable(error) ? Effect.zipRight(onBypass(error), compute) : Effect.fail(error)
  )
}
