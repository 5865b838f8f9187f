import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { constFalse, constVoid } from "effect/Function"
import * as MetricLabel from "effect/MetricLabel"
import * as Stream from "effect/Stream"
import type { Cache } from "../Cache.js"
import { type CacheError, isRetryable } from "../CacheError.js"
import * as CacheResult from "../CacheResult.js"
import { metrics } from "./observe.js"
import * as Validate from "./validate.js"

const degrade = <A, B>(
  backend: string,
  operation: string,
  effect: Effect.Effect<A, CacheError>,
  fallback: () => B
): Effect.Effect<A | B, CacheError> =>
  Effect.catchIf(effect, isRetryable, (error) =>
    Effect.zipRight(
      Effect.sync(() =>
        metrics.failOpen.unsafeUpdate(1, [
          MetricLabel.make("backend", backend),
          MetricLabel.make("operation", operation)
        ])
      ),
      Effect.map(
        Effect.logWarning(`cachet: ${error.message}; failing open`).pipe(
          Effect.annotateLogs({ "cachet.operation": operation, "cachet.code": error.code })
        ),
        fallback
      )
    )
  )

const miss = () => CacheResult.miss
const zero = () => 0

/** @internal */
export const view = <A>(self: Cache.View<A>, backend: string): Cache.View<A> => ({
  ...self,
  get: (key) => degrade(backend, "get", self.get(key), miss),
  getMany: (keys) => {
    // Read once here (the fallback needs their number), so checked here: a bad argument must not throw.
    const checked = Validate.keys("getMany", keys)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const list = checked.right
    return degrade(backend, "getMany", self.getMany(list), () => list.map(miss))
  },
  set: (key, value, options) => degrade(backend, "set", self.set(key, value, options), constVoid),
  setMany: (entries, options) => degrade(backend, "setMany", self.setMany(entries, options), constVoid),
  add: (key, value, options) => degrade(backend, "add", self.add(key, value, options), constFalse),
  delete: (key) => degrade(backend, "delete", self.delete(key), constFalse),
  deleteMany: (keys) => degrade(backend, "deleteMany", self.deleteMany(keys), zero),
  has: (key) => degrade(backend, "has", self.has(key), constFalse),
  timeToLive: (key) => degrade(backend, "timeToLive", self.timeToLive(key), miss),
  expire: (key, timeToLive) => degrade(backend, "expire", self.expire(key, timeToLive), constFalse),
  persist: (key) => degrade(backend, "persist", self.persist(key), constFalse),
  deletePattern: (glob) => degrade(backend, "deletePattern", self.deletePattern(glob), zero),
  clear: () => degrade(backend, "clear", self.clear(), zero),
  keys: (glob) =>
    Stream.catchAll(self.keys(glob), (error) =>
      isRetryable(error)
        ? Stream.fromEffect(degrade(backend, "keys", Effect.fail(error), constVoid)).pipe(Stream.drain)
        : Stream.fail(error)
    ),
  // A failing backend makes getOrSet run the lookup and return its value, as "bypass" does.
  getOrSet: (key, lookup, options) => self.getOrSet(key, lookup, { ...options, onCacheError: "bypass" }),
  namespace: (name) => view(self.namespace(name), backend)
})

/** @internal */
export const service = (self: Cache.Service): Cache.Service => ({
  ...self,
  ...view(self, self.backend),
  forSchema: (schema) => view(self.forSchema(schema), self.backend),
  namespace: (name) => service(self.namespace(name))
})
