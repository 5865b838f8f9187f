/**
 * The backend over a `Store`: a synchronous one (`Backend.fromSync`). Every operation is one call into the store,
 * answered at once, so operations are atomic with respect to each other, as Redis commands are, and the core runs
 * each of them inside its own step.
 */
import * as Backend from "@cachet/core/Backend"
import { CacheCommandError, CacheInvalidInputError, type Operation } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { Store } from "./store.js"

// Redis refuses SET PX with a non-positive or fractional time; refusing here keeps expiry arithmetic exact.
const isValidTimeToLive = (timeToLive: number | undefined): boolean =>
  timeToLive === undefined || (Number.isSafeInteger(timeToLive) && timeToLive >= 1)

const invalidTimeToLive = (operation: Operation, key: string | undefined) =>
  Exit.fail(
    new CacheInvalidInputError({
      operation,
      key,
      code: "INVALID_TIME_TO_LIVE",
      reason: "time-to-live must be a whole number of milliseconds, at least 1"
    })
  )

const wrongType = (operation: Operation, key: string) =>
  Exit.fail(new CacheCommandError({ operation, key, code: "WRONG_TYPE" }))

export const make = (store: Store): Backend.Backend =>
  Backend.fromSync({
    name: "memory",
    get: (key) => Exit.succeed(store.get(key)),
    getWithTimeToLive: (key) => Exit.succeed(store.getWithTimeToLive(key)),
    getMany: (keys) => Exit.succeed(store.getMany(keys)),
    set: (key, value, timeToLive) => {
      if (!isValidTimeToLive(timeToLive)) return invalidTimeToLive("set", key)
      store.set(key, value, timeToLive)
      return Exit.void
    },
    setKeepingTimeToLive: (key, value) => {
      store.setKeepingTimeToLive(key, value)
      return Exit.void
    },
    getAndExpire: (key, timeToLive) =>
      timeToLive === 0 || isValidTimeToLive(timeToLive)
        ? Exit.succeed(store.getAndExpire(key, timeToLive))
        : invalidTimeToLive("get", key),
    setMany: (entries) => {
      for (const entry of entries) {
        if (!isValidTimeToLive(entry.timeToLive)) return invalidTimeToLive("setMany", entry.key)
      }
      store.setMany(entries)
      return Exit.void
    },
    add: (key, value, timeToLive) =>
      isValidTimeToLive(timeToLive) ? Exit.succeed(store.add(key, value, timeToLive)) : invalidTimeToLive("add", key),
    deleteIfEquals: (key, expected) => Exit.succeed(store.deleteIfEquals(key, expected)),
    delete: (keys) => Exit.succeed(store.delete(keys)),
    has: (key) => Exit.succeed(store.has(key)),
    timeToLive: (key) => Exit.succeed(store.timeToLive(key)),
    expire: (key, timeToLive) =>
      Number.isSafeInteger(timeToLive) ? Exit.succeed(store.expire(key, timeToLive)) : invalidTimeToLive("expire", key),
    persist: (key) => Exit.succeed(store.persist(key)),
    increment: (key, by) => {
      const result = store.increment(key, by)
      return typeof result === "bigint"
        ? Exit.succeed(result)
        : Exit.fail(new CacheCommandError({ operation: "increment", key, code: result }))
    },
    scan: (pattern) => ({
      [Symbol.iterator]: () => {
        const next = store.scanner(pattern)
        return {
          next: () => {
            const batch = next()
            return batch === undefined ? { done: true, value: undefined } : { done: false, value: batch }
          }
        }
      }
    }),
    tagAdd: (index, epoch, members) => {
      for (const member of members) {
        if (!isValidTimeToLive(member.timeToLive)) return invalidTimeToLive("tagAdd", member.key)
      }
      const result = store.tagAdd(index, epoch, members)
      return result === "WRONG_TYPE" ? wrongType("tagAdd", index) : Exit.succeed(result)
    },
    tagTake: (index, epoch, token, epochTimeToLive) => {
      if (!isValidTimeToLive(epochTimeToLive)) return invalidTimeToLive("tagTake", epoch)
      const result = store.tagTake(index, epoch, token, epochTimeToLive)
      return result === "WRONG_TYPE" ? wrongType("tagTake", index) : Exit.succeed(result)
    },
    ping: () => Exit.void,
    // A local tier in front of the store hears of the entries it evicts (`capacity`, `maxBytes`), as Redis tracking
    // reports the keys its eviction takes. There are no other processes to hear from: no mode can be chosen.
    coherence: ({ prefix, mode, receive }) =>
      mode !== undefined
        ? Effect.fail(
            new CacheInvalidInputError({
              operation: "make",
              code: "INVALID_ARGUMENT",
              reason: `local.invalidation "${mode}": the memory backend has no cross-process invalidation (its local tier follows this process's writes and the store's evictions)`
            })
          )
        : Effect.as(
            Effect.acquireRelease(
              Effect.sync(() =>
                store.onEviction((key) => {
                  if (key.startsWith(prefix)) receive({ _tag: "Keys", keys: [key] })
                })
              ),
              (stop) => Effect.sync(stop)
            ),
            { mode: "tracking", announce: () => {} }
          )
  })
