/**
 * The `Backend` over a `Store`. Every operation is one `Effect.sync` (or a ready-made failure): nothing here
 * suspends, so operations are atomic with respect to each other, as Redis commands are.
 */
import type { Backend, Entry } from "@cachet/core/Backend"
import { CacheCommandError, CacheInvalidInputError } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Store } from "./store.js"

// Redis refuses SET PX with a non-positive or fractional time; refusing here keeps expiry arithmetic exact.
const isValidTimeToLive = (timeToLive: number | undefined): boolean =>
  timeToLive === undefined || (Number.isSafeInteger(timeToLive) && timeToLive >= 1)

const invalidTimeToLive = (operation: string, key: string | undefined): CacheInvalidInputError =>
  new CacheInvalidInputError({
    operation,
    key,
    code: "INVALID_TIME_TO_LIVE",
    reason: "time-to-live must be a whole number of milliseconds, at least 1"
  })

const end = Effect.fail(Option.none())

export const make = (store: Store): Backend => ({
  name: "memory",
  get: (key) => Effect.sync(() => store.get(key)),
  getWithTimeToLive: (key) => Effect.sync(() => store.getWithTimeToLive(key)),
  getMany: (keys) => Effect.sync(() => store.getMany(keys)),
  set: (key, value, timeToLive) =>
    isValidTimeToLive(timeToLive)
      ? Effect.sync(() => store.set(key, value, timeToLive))
      : Effect.fail(invalidTimeToLive("SET", key)),
  setMany: (entries: ReadonlyArray<Entry>) => {
    for (const entry of entries) {
      if (!isValidTimeToLive(entry.timeToLive)) return Effect.fail(invalidTimeToLive("MSET", entry.key))
    }
    return Effect.sync(() => store.setMany(entries))
  },
  add: (key, value, timeToLive) =>
    isValidTimeToLive(timeToLive)
      ? Effect.sync(() => store.add(key, value, timeToLive))
      : Effect.fail(invalidTimeToLive("SET", key)),
  deleteIfEquals: (key, expected) => Effect.sync(() => store.deleteIfEquals(key, expected)),
  delete: (keys) => Effect.sync(() => store.delete(keys)),
  has: (key) => Effect.sync(() => store.has(key)),
  timeToLive: (key) => Effect.sync(() => store.timeToLive(key)),
  expire: (key, timeToLive) =>
    Number.isSafeInteger(timeToLive)
      ? Effect.sync(() => store.expire(key, timeToLive))
      : Effect.fail(invalidTimeToLive("PEXPIRE", key)),
  persist: (key) => Effect.sync(() => store.persist(key)),
  increment: (key, by) =>
    Effect.suspend(() => {
      const result = store.increment(key, by)
      return typeof result === "bigint"
        ? Effect.succeed(result)
        : Effect.fail(new CacheCommandError({ operation: "INCRBY", key, code: result }))
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
