/**
 * The conformance suite. Written once, run by every backend: it registers the whole contract of the `Cache`
 * service (reads, writes, time-to-live, sliding expiration, entry handles, counters, globs, namespaces, typed views,
 * binary values, cache-aside) as `@effect/vitest` tests against the layer it is given.
 *
 * @since 0.1.0
 */

import type * as Cache from "@cachet/core/Cache"
import type { CacheError } from "@cachet/core/CacheError"
import { describe } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { accessors } from "./internal/accessors.js"
import { bytes } from "./internal/bytes.js"
import { counters } from "./internal/counters.js"
import { expiry } from "./internal/expiry.js"
import { getOrSet } from "./internal/getOrSet.js"
import { makeHarness } from "./internal/harness.js"
import { invalidInput } from "./internal/invalidInput.js"
import { keys } from "./internal/keys.js"
import { lock } from "./internal/lock.js"
import { operations } from "./internal/operations.js"
import { prefixes } from "./internal/prefixes.js"
import { schemas } from "./internal/schemas.js"
import { staleWindows } from "./internal/staleWindows.js"
import { tags } from "./internal/tags.js"
import { timeToLive } from "./internal/timeToLive.js"

/**
 * How the suite lets time pass on a backend.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Let `duration` pass for the backend: `TestClock.adjust` for a backend whose expiry reads Effect's `Clock`, a
   * real sleep (`TestServices.provideLive(Effect.sleep(duration))`) for a server. The suite keeps the total small.
   */
  readonly advance: (duration: Duration.DurationInput) => Effect.Effect<void>
  /**
   * Another cache on the same storage as the layer's (for a server: the same server), under `prefix`, as the
   * backend's layer builds it. With it, the suite also checks caches with different prefixes side by side: the
   * separator a prefix gets, the empty prefix's refusals. A backend whose every layer has a storage of its own
   * (memory) leaves it out.
   */
  readonly withPrefix?: ((prefix: string) => Layer.Layer<Cache.Cache, CacheError, never>) | undefined
  /**
   * The layer has a local tier, whose values are shared by every reader of a key (immutable by contract): the suite
   * then does not check that a value read back is the reader's own to change.
   *
   * @since 0.4.0
   */
  readonly sharedValues?: boolean | undefined
}

/**
 * Register the conformance suite for a backend: one `describe(name)` block of `@effect/vitest` tests, each of
 * which builds its own cache from `layer`, works in a namespace of its own (cleared afterwards), and never assumes
 * the backend is empty, so one server can be shared by every test and by concurrent runs.
 *
 * The layer is expected to be as a backend ships it: the JSON codec, no `defaultTimeToLive` and no default
 * jitter (the suite checks per-call time-to-live, and that a write without one never expires). Its prefix may
 * be anything but empty. Assertions on time hold exactly under `TestClock` and within a margin in real time.
 *
 * @example
 * ```ts
 * // packages/memory/test/MemoryCache.suite.test.ts
 * import { CacheSuite } from "@cachet/testing"
 * import { MemoryCache } from "@cachet/memory"
 * import { TestClock } from "effect"
 *
 * CacheSuite.run("MemoryCache", MemoryCache.layer(), { advance: (duration) => TestClock.adjust(duration) })
 *
 * // Against a real server, time passes for real:
 * // CacheSuite.run("RedisCache", RedisCache.layer({ url, prefix: "suite:" }), {
 * //   advance: (duration) => TestServices.provideLive(Effect.sleep(duration))
 * // })
 * ```
 *
 * @since 0.1.0
 * @category conformance
 */
export const run = (name: string, layer: Layer.Layer<Cache.Cache, CacheError, never>, options: Options): void => {
  const harness = makeHarness({ layer, advance: options.advance })
  describe(name, () => {
    operations(harness)
    timeToLive(harness)
    expiry(harness)
    counters(harness)
    keys(harness)
    schemas(harness)
    bytes(harness, options.sharedValues ?? false)
    getOrSet(harness)
    staleWindows(harness)
    lock(harness)
    tags(harness)
    accessors(harness)
    invalidInput(harness)
    prefixes(harness, options.withPrefix)
  })
}
