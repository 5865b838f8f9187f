/**
 * The view made from a bad argument (a namespace name, a schema, a codec). `namespace` and `forSchema` answer a view
 * rather than an Effect, so their failure cannot surface there: every operation of this view fails with it,
 * typed, inside its Effect, and nothing reaches the backend.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Cache } from "../Cache.js"
import type { CacheInvalidInputError, Operation } from "../CacheError.js"
import type { Codec } from "../Codec.js"
import * as Entry from "./entry.js"
import * as Validate from "./validate.js"

const failing = (error: CacheInvalidInputError, operation: Operation) => {
  const failure = Effect.fail(Validate.relabel(error, operation))
  return () => failure
}

/** @internal */
export const view = <A>(error: CacheInvalidInputError, prefix: string): Cache.View<A> => {
  const fail = (operation: Operation) => failing(error, operation)
  const self: Cache.View<A> = {
    prefix,
    get: fail("get"),
    getMany: fail("getMany"),
    set: fail("set"),
    setMany: fail("setMany"),
    add: fail("add"),
    delete: fail("delete"),
    deleteMany: fail("deleteMany"),
    has: fail("has"),
    timeToLive: fail("timeToLive"),
    expire: fail("expire"),
    persist: fail("persist"),
    deletePattern: fail("deletePattern"),
    clear: fail("clear"),
    invalidateTags: fail("invalidateTags"),
    getOrSet: fail("getOrSet"),
    getOrSetMany: fail("getOrSetMany"),
    keys: () => Stream.fail(Validate.relabel(error, "keys")),
    ping: Effect.fail(Validate.relabel(error, "ping")),
    entry: (key) => Entry.make(self, key),
    namespace: () => self
  }
  return self
}

/** @internal */
export const service = (
  error: CacheInvalidInputError,
  prefix: string,
  backend: string,
  codec: Codec
): Cache.Service => {
  const self: Cache.Service = {
    ...view<unknown>(error, prefix),
    backend,
    codec,
    increment: failing(error, "increment"),
    decrement: failing(error, "decrement"),
    forSchema: <B>() => view<B>(error, prefix),
    namespace: () => self
  }
  return self
}
