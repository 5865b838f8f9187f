/**
 * Degraded calls made visible without flooding the log: every call that fails open (through `failOpen`, or a
 * `getOrSet` with `onCacheError: "bypass"`) is counted, the first one of an outage is logged at warning level, and
 * the first call the backend answers afterwards logs the end of the outage with how many calls degraded meanwhile.
 */

import * as Effect from "effect/Effect"
import * as MetricLabel from "effect/MetricLabel"
import type { CacheError, Operation } from "../CacheError.js"
import { metrics } from "./metrics.js"

/** @internal */
export interface Outage {
  /** Counts a call that degraded; logs when it is the first of an outage. */
  readonly degraded: (operation: Operation, error: CacheError) => Effect.Effect<void>
  /**
   * The store of a cache-aside call that failed open: counted as `degraded` unless an outage is going on, in which
   * case the call's read failed open already (a read the backend answers ends the outage) and was counted then.
   */
  readonly degradedStore: (operation: Operation, error: CacheError) => Effect.Effect<void>
  /** Whether an outage is going on: checked on every answered call, so a plain field read. */
  readonly active: () => boolean
  /** Logs the end of the outage. Call it only when `active()`. */
  readonly ended: Effect.Effect<void>
}

/** @internal */
export const make = (backend: string, counted = true): Outage => {
  let active = false
  let degradedCalls = 0
  const backendLabel = MetricLabel.make("backend", backend)
  const labels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const labelsOf = (operation: Operation): ReadonlyArray<MetricLabel.MetricLabel> => {
    let found = labels.get(operation)
    if (found === undefined) {
      found = [backendLabel, MetricLabel.make("operation", operation)]
      labels.set(operation, found)
    }
    return found
  }
  const degraded = (operation: Operation, error: CacheError): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (counted) metrics.failOpen.unsafeUpdate(1, labelsOf(operation))
      degradedCalls++
      if (active) return Effect.void
      active = true
      return Effect.logWarning(
        `cachet: the ${backend} backend is unavailable (${error.code}); failing open until it answers again`
      ).pipe(
        Effect.annotateLogs({ "cachet.backend": backend, "cachet.operation": operation, "cachet.code": error.code })
      )
    })
  return {
    degraded,
    degradedStore: (operation, error) => Effect.suspend(() => (active ? Effect.void : degraded(operation, error))),
    active: () => active,
    ended: Effect.suspend(() => {
      if (!active) return Effect.void
      active = false
      const count = degradedCalls
      degradedCalls = 0
      return Effect.logInfo(`cachet: the ${backend} backend answers again; ${count} calls failed open meanwhile`).pipe(
        Effect.annotateLogs({ "cachet.backend": backend, "cachet.degraded_calls": count })
      )
    })
  }
}

const registry = new WeakMap<object, Outage>()

/**
 * The outage tracker of the cache a service or view was made by, so that `failOpen` and `getOrSet`'s bypass report
 * one outage once. A service not made by `Cache.make` (a hand-written one) gets its own.
 *
 * @internal
 */
export const of = (self: object, backend: string): Outage => {
  let found = registry.get(self)
  if (found === undefined) {
    found = make(backend)
    registry.set(self, found)
  }
  return found
}

/** @internal */
export const register = <S extends object>(self: S, outage: Outage): S => {
  registry.set(self, outage)
  return self
}
