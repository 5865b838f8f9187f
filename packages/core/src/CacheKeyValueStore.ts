/**
 * `@effect/platform`'s `KeyValueStore` on top of whatever Cachet `Cache` is in context, so code written against
 * `KeyValueStore` runs on Redis (or memory) with Cachet's prefixes, timeouts and typed failures underneath.
 *
 * @since 0.1.0
 */

import * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Cache } from "./Cache.js"
import * as internal from "./internal/keyValueStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Keep the store's keys under this namespace of the cache, so that `clear` touches nothing else. */
  readonly namespace?: string | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<KeyValueStore.KeyValueStore, never, Cache> = internal.make

/**
 * Provide `KeyValueStore` from the `Cache` in context.
 *
 * @example
 * ```ts
 * import { CacheKeyValueStore } from "@cachet/core"
 * import { MemoryCache } from "@cachet/memory"
 * import { Layer } from "effect"
 *
 * const KeyValueStoreLive = CacheKeyValueStore.layer({ namespace: "kv" }).pipe(Layer.provide(MemoryCache.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<KeyValueStore.KeyValueStore, never, Cache> =>
  Layer.effect(KeyValueStore.KeyValueStore, make(options))
