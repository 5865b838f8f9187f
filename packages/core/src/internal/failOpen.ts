import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { constFalse, constVoid } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Cache } from "../Cache.js"
import type { Operation } from "../CacheError.js"
import { type CacheError, isRetryable } from "../CacheError.js"
import * as CacheResult from "../CacheResult.js"
import type { Codec } from "../Codec.js"
import * as Entry from "./entry.js"
import * as Outage from "./outage.js"
import * as Validate from "./validate.js"

const degrade = <A, B>(
  outage: Outage.Outage,
  operation: Operation,
  effect: Effect.Effect<A, CacheError>,
  fallback: () => B
): Effect.Effect<A | B, CacheError> =>
  Effect.matchEffect(effect, {
    onFailure: (error) =>
      isRetryable(error) ? Effect.map(outage.degraded(operation, error), fallback) : Effect.fail(error),
    onSuccess: (value) => (outage.active() ? Effect.as(outage.ended, value) : Effect.succeed(value))
  })

const miss = () => CacheResult.miss
const zero = () => 0

/** @internal */
export const view = <A>(self: Cache.View<A>, backend: string): Cache.View<A> => {
  const outage = Outage.of(self, backend)
  const failOpen: Cache.View<A> = {
    ...self,
    get: (key, options) => degrade(outage, "get", self.get(key, options), miss),
    getMany: (keys) => {
      // Read once here (the fallback needs their number), so checked here: a bad argument must not throw.
      const checked = Validate.keys("getMany", keys)
      if (Either.isLeft(checked)) return Effect.fail(checked.left)
      const list = checked.right
      return degrade(outage, "getMany", self.getMany(list), () => list.map(miss))
    },
    set: (key, value, options) => degrade(outage, "set", self.set(key, value, options), constVoid),
    setMany: (entries, options) => degrade(outage, "setMany", self.setMany(entries, options), constVoid),
    add: (key, value, options) => degrade(outage, "add", self.add(key, value, options), constFalse),
    delete: (key) => degrade(outage, "delete", self.delete(key), constFalse),
    deleteMany: (keys) => degrade(outage, "deleteMany", self.deleteMany(keys), zero),
    has: (key) => degrade(outage, "has", self.has(key), constFalse),
    timeToLive: (key) => degrade(outage, "timeToLive", self.timeToLive(key), miss),
    expire: (key, timeToLive) => degrade(outage, "expire", self.expire(key, timeToLive), constFalse),
    persist: (key) => degrade(outage, "persist", self.persist(key), constFalse),
    deletePattern: (glob) => degrade(outage, "deletePattern", self.deletePattern(glob), zero),
    clear: () => degrade(outage, "clear", self.clear(), zero),
    // Not failed open: an invalidation that did not happen must not look as if it had (stale entries would stay).
    invalidateTags: self.invalidateTags,
    keys: (glob) =>
      Stream.catchAll(self.keys(glob), (error) =>
        isRetryable(error)
          ? Stream.fromEffect(degrade(outage, "keys", Effect.fail(error), constVoid)).pipe(Stream.drain)
          : Stream.fail(error)
      ),
    // A failing backend makes getOrSet run the lookup and return its value, as "bypass" does; the bypass reports
    // to the same outage.
    getOrSet: (key, lookup, options) => self.getOrSet(key, lookup, { ...options, onCacheError: "bypass" }),
    getOrSetMany: (keys, lookupMany, options) =>
      self.getOrSetMany(keys, lookupMany, { ...options, onCacheError: "bypass" }),
    entry: (key) => Entry.make(failOpen, key),
    namespace: (name) => view(self.namespace(name), backend)
  }
  return Outage.register(failOpen, outage)
}

/** @internal */
export const service = (self: Cache.Service): Cache.Service => {
  const outage = Outage.of(self, self.backend)
  return Outage.register(
    {
      ...self,
      ...view(self, self.backend),
      forSchema: <A, I>(schema: Schema.Schema<A, I, never>, codec?: Codec) =>
        view(self.forSchema(schema, codec ?? self.codec), self.backend),
      namespace: (name) => service(self.namespace(name))
    },
    outage
  )
}

const isService = (u: Layer.Layer<Cache, unknown, unknown> | Cache.Service): u is Cache.Service => !Layer.isLayer(u)

/** @internal */
export function failOpen<E, R>(layer: Layer.Layer<Cache, E, R>): Layer.Layer<Cache, E, R>
/** @internal */
export function failOpen(service: Cache.Service): Cache.Service
/** @internal */
export function failOpen<E, R>(
  self: Layer.Layer<Cache, E, R> | Cache.Service
): Layer.Layer<Cache, E, R> | Cache.Service {
  return isService(self)
    ? service(self)
    : Layer.map(self, (context) => Context.add(context, Cache, service(Context.get(context, Cache))))
}
