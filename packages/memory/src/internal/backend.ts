/**
 * The `Backend` over a `Store`. Every operation is one `Effect.sync` (or a ready-made failure): nothing here
 * suspends, so operations are atomic with respect to each other, as Redis commands are. The hottest ones also
 * offer their synchronous form, which the core runs inside its own step.
 */
import type { Backend, Entry, Operation } from "@cachet/core/Backend"
import type { Operation as OperationName } from "@cachet/core/CacheError"
import { CacheCommandError, CacheInvalidInputError } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Store } from "./store.js"

// Redis refuses SET PX with a non-positive or fractional time; refusing here keeps expiry arithmetic exact.
const isValidTimeToLive = (timeToLive: number | undefined): boolean =>
  timeToLive === undefined || (Number.isSafeInteger(timeToLive) && timeToLive >= 1)

const invalidTimeToLive = (operation: OperationName, key: string | undefined): CacheInvalidInputError =>
  new CacheInvalidInputError({
    operation,
    key,
    code: "INVALID_TIME_TO_LIVE",
    reason: "time-to-live must be a whole number of milliseconds, at least 1"
  })

const end = Effect.fail(Option.none())

const withSync = <Args extends ReadonlyArray<unknown>, A>(
  effect: (...args: Args) => Effect.Effect<A, CacheInvalidInputError>,
  sync: (...args: Args) => A
): Operation<Args, A> => Object.assign(effect, { sync })

export const make = (store: Store): Backend => ({
  name: "memory",
  get: withSync(
    (key: string) => Effect.sync(() => store.get(key)),
    (key) => store.get(key)
  ),
  getWithTimeToLive: (key) => Effect.sync(() => store.getWithTimeToLive(key)),
  getMany: withSync(
    (keys: ReadonlyArray<string>) => Effect.sync(() => store.getMany(keys)),
    (keys) => store.getMany(keys)
  ),
  // The synchronous form skips the check: the core passes only whole milliseconds ≥ 1 (the Backend conventions).
  set: withSync(
    (key: string, value: string, timeToLive: number | undefined) =>
      isValidTimeToLive(timeToLive)
        ? Effect.sync(() => store.set(key, value, timeToLive))
        : Effect.fail(invalidTimeToLive("set", key)),
    (key, value, timeToLive) => store.set(key, value, timeToLive)
  ),
  setMany: (entries: ReadonlyArray<Entry>) => {
    for (const entry of entries) {
      if (!isValidTimeToLive(entry.timeToLive)) return Effect.fail(invalidTimeToLive("setMany", entry.key))
    }
    return Effect.sync(() => store.setMany(entries))
  },
  add: (key, value, timeToLive) =>
    isValidTimeToLive(timeToLive)
      ? Effect.sync(() => store.add(key, value, timeToLive))
      : Effect.fail(invalidTimeToLive("set", key)),
  deleteIfEquals: (key, expected) => Effect.sync(() => store.deleteIfEquals(key, expected)),
  delete: withSync(
    (keys: ReadonlyArray<string>) => Effect.sync(() => store.delete(keys)),
    (keys) => store.delete(keys)
  ),
  has: (key) => Effect.sync(() => store.has(key)),
  timeToLive: (key) => Effect.sync(() => store.timeToLive(key)),
  expire: (key, timeToLive) =>
    Number.isSafeInteger(timeToLive)
      ? Effect.sync(() => store.expire(key, timeToLive))
      : Effect.fail(invalidTimeToLive("expire", key)),
  persist: (key) => Effect.sync(() => store.persist(key)),
  increment: (key, by) =>
    Effect.suspend(() => {
      const result = store.increment(key, by)
      return typeof result === "bigint"
        ? Effect.succeed(result)
        : Effect.fail(new CacheCommandError({ operation: "increment", key, code: result }))
    }),
  scan: (pattern) =>
    Stream.suspend(() => {
      const next = store.scanner(pattern)
      return Stream.repeatEffectOption(
        Effect.suspend(() => {
          const batch = next()
          return batch === undefined ? end : Effect.succeed(batch)
        })
      )
    }),
  ping: Effect.void
})
