/**
 * A stored entry that no longer decodes (an old format, a foreign writer, a schema that changed) heals under
 * `getOrSet`: it is a miss and is overwritten. Healing must not be silent, or a cache that never decodes anything
 * looks healthy while every call runs its lookup: each heal is counted, and logged once per key and cause.
 */
import * as Effect from "effect/Effect"
import * as MetricLabel from "effect/MetricLabel"
import * as ParseResult from "effect/ParseResult"
import type { CacheDecodeError } from "../CacheError.js"
import { SchemaFailure } from "../Codec.js"
import { metrics } from "./observe.js"

/** How many (key, cause) pairs are remembered as already logged; the oldest is forgotten first. */
const remembered = 1024

/** @internal */
export interface Heals {
  readonly report: (key: string, error: CacheDecodeError) => Effect.Effect<void>
}

/**
 * What failed, without the stored value: the schema paths that did not match (a parse error's own messages quote
 * the value), or the decode error's code.
 */
const whatFailed = (error: CacheDecodeError): string => {
  const cause: unknown = error.cause
  if (!(cause instanceof SchemaFailure)) return error.code
  const paths = ParseResult.ArrayFormatter.formatErrorSync(cause.issue).map((issue) =>
    issue.path.length === 0 ? "the value" : issue.path.map(String).join(".")
  )
  return `${error.code} at ${Array.from(new Set(paths)).join(", ")}`
}

/** @internal */
export const make = (backend: string, namespace: string): Heals => {
  const logged = new Map<string, true>()
  const labels = [MetricLabel.make("backend", backend), MetricLabel.make("namespace", namespace)]
  return {
    report: (key, error) =>
      Effect.suspend(() => {
        metrics.decodeHeals.unsafeUpdate(1, labels)
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
