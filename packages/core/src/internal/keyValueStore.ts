/**
 * The `KeyValueStore` over the cache in context, documented in `CacheKeyValueStore.ts`.
 */
import * as PlatformError from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Cache } from "../Cache.js"
import type { CacheError } from "../CacheError.js"
import type { Options } from "../CacheKeyValueStore.js"
import * as CacheResult from "../CacheResult.js"

/**
 * What the store keeps: text as a string, so that every Redis client reads it; bytes in a one-field object, so that
 * the two are never confused: as base64 under a text codec (JSON has no bytes), as they are under a binary one
 * (MessagePack), which still reads the base64 form.
 */
const textStored = Schema.Union(Schema.String, Schema.Struct({ bytes: Schema.Uint8ArrayFromBase64 }))
const binaryStored = Schema.Union(
  Schema.String,
  Schema.Struct({ bytes: Schema.Uint8ArrayFromSelf }),
  Schema.Struct({ bytes: Schema.Uint8ArrayFromBase64 })
)

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const toPlatformError =
  (method: string) =>
  (error: CacheError): PlatformError.PlatformError =>
    new PlatformError.SystemError({
      module: "KeyValueStore",
      method,
      reason:
        error._tag === "CacheTimeoutError" ? "TimedOut" : error._tag === "CacheDecodeError" ? "InvalidData" : "Unknown",
      description: error.message,
      cause: error
    })

/** @internal */
export const make = (options: Options = {}): Effect.Effect<KeyValueStore.KeyValueStore, never, Cache> =>
  Effect.map(Cache, (cache) => {
    const base = options.namespace === undefined ? cache : cache.namespace(options.namespace)
    const view = cache.codec.binary === true ? base.forSchema(binaryStored, cache.codec) : base.forSchema(textStored)
    const read = (key: string) => Effect.mapError(view.get(key), toPlatformError("get"))
    return KeyValueStore.make({
      get: (key) =>
        Effect.map(read(key), (result) =>
          Option.map(CacheResult.toOption(result), (value) =>
            typeof value === "string" ? value : decoder.decode(value.bytes)
          )
        ),
      getUint8Array: (key) =>
        Effect.map(read(key), (result) =>
          Option.map(CacheResult.toOption(result), (value) =>
            typeof value === "string" ? encoder.encode(value) : value.bytes
          )
        ),
      set: (key, value) =>
        Effect.mapError(view.set(key, typeof value === "string" ? value : { bytes: value }), toPlatformError("set")),
      remove: (key) => Effect.mapError(Effect.asVoid(view.delete(key)), toPlatformError("remove")),
      has: (key) => Effect.mapError(view.has(key), toPlatformError("has")),
      clear: Effect.mapError(Effect.asVoid(view.clear()), toPlatformError("clear")),
      size: Effect.mapError(Stream.runCount(view.keys()), toPlatformError("size"))
    })
  })
