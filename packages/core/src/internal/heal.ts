/**
 * A stored entry that no longer decodes (an old format, a foreign writer, a schema that changed) heals under
 * `getOrSet`: it is a miss and is overwritten. Healing must not be silent, or a cache that never decodes anything
 * looks healthy while every call runs its lookup: each heal is counted, and logged once per key and cause.
 */
import * as Effect from "effect/Effect"
import * as MetricLabel from "effect/MetricLabel"
import type { CacheDecodeError } from "../CacheError.js"
import { metrics } from "./metrics.js"

/** How many (key, cause) pairs are remembered as already logged; the oldest is forgotten first. */
const remembered = 1024

/** @internal */
export interface Heals {
  readonly report: (key: string, error: CacheDecodeError) => Effect.Effect<void>
}

const whatFailed = (error: CacheDecodeError): string =>
  error.detail === undefined ? error.code : `${error.code} ${error.detail}`

/** @internal */
export const make = (backend: string, namespace: string, counted: boolean): Heals => {
  const logged = new Map<string, true>()
  const labels = [MetricLabel.make("backend", backend), MetricLabel.make("namespace", namespace)]
  return {
    report: (key, error) =>
      Effect.suspend(() => {
        if (counted) metrics.decodeHeals.unsafeUpdate(1, labels)
        const cause = whatFailed(error)
        const seen = `${key}\u0000${cause}`
        if (logged.has(seen)) return Effect.void
        if (logged.size >= remembered) {
          const oldest = logged.keys().next()
          if (oldest.done !== true) logged.delete(oldest.value)
        }
        logged.set(seen, true)
        // Neither the key (personal data) nor the value goes into the line: what failed to decode does.
        return Effect.logWarning(
          `cachet: a stored entry does not decode (${cause}); getOrSet treats it as a miss and overwrites it`
        ).pipe(Effect.annotateLogs({ "cachet.namespace": namespace, "cachet.code": error.code }))
      })
  }
}
