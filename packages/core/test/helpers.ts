import type { Backend } from "@cachet/core/Backend"
import * as Cache from "@cachet/core/Cache"
import type { Operation } from "@cachet/core/CacheError"
import { type CacheError, CacheUnavailableError } from "@cachet/core/CacheError"
import { MemoryCache } from "@cachet/memory"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Stream from "effect/Stream"

/** A switchable fault in front of a real memory backend: what a Redis outage looks like to the core. */
export interface Faults {
  /** Every call fails while this is true. */
  down: boolean
  /** The next N calls fail, then calls succeed again. */
  failNext: number
  /** Calls per backend method, to see what was sent (and re-sent). */
  readonly calls: Map<string, number>
}

const outage = (operation: Operation): CacheError =>
  new CacheUnavailableError({ operation, code: "CONNECTION_REFUSED", cause: new Error("ECONNREFUSED") })

export const faulty = (inner: Backend, faults: Faults): Backend => {
  const gate = <A>(name: Operation, effect: Effect.Effect<A, CacheError>): Effect.Effect<A, CacheError> =>
    Effect.suspend(() => {
      faults.calls.set(name, (faults.calls.get(name) ?? 0) + 1)
      if (faults.down) return Effect.fail(outage(name))
      if (faults.failNext > 0) {
        faults.failNext--
        return Effect.fail(outage(name))
      }
      return effect
    })
  return {
    name: inner.name,
    get: (key) => gate("get", inner.get(key)),
    getWithTimeToLive: (key) => gate("getWithTimeToLive", inner.getWithTimeToLive(key)),
    getMany: (keys) => gate("getMany", inner.getMany(keys)),
    set: (key, value, ttl) => gate("set", inner.set(key, value, ttl)),
    setKeepingTimeToLive: (key, value) => gate("set", inner.setKeepingTimeToLive(key, value)),
    getAndExpire: (key, ttl) => gate("get", inner.getAndExpire(key, ttl)),
    setMany: (entries) => gate("setMany", inner.setMany(entries)),
    add: (key, value, ttl) => gate("add", inner.add(key, value, ttl)),
    deleteIfEquals: (key, expected) => gate("deleteIfEquals", inner.deleteIfEquals(key, expected)),
    delete: (keys) => gate("delete", inner.delete(keys)),
    has: (key) => gate("has", inner.has(key)),
    timeToLive: (key) => gate("timeToLive", inner.timeToLive(key)),
    expire: (key, ttl) => gate("expire", inner.expire(key, ttl)),
    persist: (key) => gate("persist", inner.persist(key)),
    increment: (key, by) => gate("increment", inner.increment(key, by)),
    scan: (pattern) => Stream.unwrap(gate("scan", Effect.succeed(inner.scan(pattern)))),
    ping: gate("ping", inner.ping)
  }
}

export const makeFaults = (): Faults => ({ down: false, failNext: 0, calls: new Map() })

/** A memory cache behind a fault switch. */
export const faultyLayer = (faults: Faults, options: Cache.Cache.Options = {}): Layer.Layer<Cache.Cache, CacheError> =>
  Layer.scoped(
    Cache.Cache,
    Effect.flatMap(MemoryCache.makeBackend(), (backend) => Cache.make(faulty(backend, faults), options))
  )

/**
 * How many operations of a memory cache's namespace ended with `outcome`, by `cachet_operations_total`. Hits, misses
 * and stale serves also say which tier answered.
 */
export const operationCount = (
  namespace: string,
  operation: Operation,
  outcome: string,
  tier: "local" | "remote" = "remote"
): Effect.Effect<number> => {
  const series = Cache.metrics.operations.pipe(
    Metric.tagged("backend", "memory"),
    Metric.tagged("namespace", namespace),
    Metric.tagged("operation", operation),
    Metric.tagged("outcome", outcome)
  )
  const read = ["hit", "miss", "stale"].includes(outcome) ? series.pipe(Metric.tagged("tier", tier)) : series
  return Effect.map(Metric.value(read), (state) => state.count)
}
