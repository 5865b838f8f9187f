/**
 * Cache-aside: a read, and on a miss one lookup per key (single-flight in this process, a lock across processes)
 * that stores what it found. Past freshness a value is served stale while one background refresh replaces it
 * (`staleWhileRevalidate`), or when the lookup fails (`staleIfError`). Freshness is read back from the entry's
 * remaining time-to-live, which the store extends by the longest stale window.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type { Cache } from "../Cache.js"
import { type CacheError, isCacheError, isRetryable, withContext } from "../CacheError.js"
import * as Backends from "./backend.js"
import type { ViewContext } from "./context.js"
import * as Lock from "./lock.js"
import { metrics, type Outcome } from "./metrics.js"
import * as Settings from "./settings.js"
import * as Validate from "./validate.js"

const refreshOk = [MetricLabel.make("outcome", "ok")]
const refreshFailed = [MetricLabel.make("outcome", "error")]

const isCacheInputError = (error: unknown): boolean =>
  isCacheError(error) && (error._tag === "CacheInvalidInputError" || error._tag === "CacheEncodeError")

const classifyPresent = (value: unknown): Outcome => (value === undefined ? "miss" : "hit")

interface Read<A> {
  readonly value: A
  /** Remaining milliseconds, `-1` when the entry never expires. */
  readonly timeToLive: number
}

/** @internal */
export const make = <A>(context: ViewContext<A>): Cache.View<A>["getOrSet"] => {
  const { prefix, values, observer, heals, flights, shared } = context
  const { commands, backend } = shared.backend
  const { outage } = shared

  const readWithTimeToLive = (key: string, full: string) =>
    Backends.flatMap(commands.getWithTimeToLive(full), (entry) =>
      entry === undefined
        ? Exit.succeed(undefined)
        : Exit.map(
            values.decode("getOrSet", key, entry.value),
            (value): Read<A> => ({ value, timeToLive: entry.timeToLive })
          )
    )

  const report = (exit: Exit.Exit<A, unknown>): Effect.Effect<void> =>
    Exit.isSuccess(exit)
      ? Effect.sync(() => observer.count(metrics.refreshes, refreshOk))
      : Effect.zipRight(
          Effect.sync(() => observer.count(metrics.refreshes, refreshFailed)),
          Effect.logWarning("cachet: background refresh failed; the stale value stays", exit.cause)
        )

  return <E, R>(
    key: string,
    lookup: Effect.Effect<A, E, R>,
    options?: Cache.GetOrSetOptions<A>
  ): Effect.Effect<A, E | CacheError, R> => {
    const checked = Either.flatMap(
      Either.flatMap(Validate.key("getOrSet", key), () => Validate.lookup("getOrSet", key, lookup)),
      () => Settings.getOrSet("getOrSet", key, options)
    )
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const { grace, revalidate, ifError, bypass, lock } = checked.right
    const full = prefix + key

    const store = (value: A): Effect.Effect<void, CacheError> => {
      const input = options?.timeToLive
      const plan = shared.planner.plan(
        "getOrSet",
        key,
        typeof input === "function" ? input(value) : input,
        options?.timeToLiveJitter
      )
      const write = () =>
        Backends.flatMap(plan, (ttl) =>
          ttl === 0
            ? Exit.void
            : Backends.flatMap(values.encode("getOrSet", key, value), (text) =>
                // Stale windows extend the stored life past freshness; freshness is read back from the remaining time.
                commands.set(full, text, ttl === undefined ? undefined : ttl + grace)
              )
        )
      const stored = Effect.mapError(observer.call("set", key, write, Exit.succeed), (error) =>
        withContext(error, "getOrSet", key)
      )
      return bypass ? Effect.catchIf(stored, isRetryable, (error) => outage.degraded("getOrSet", error)) : stored
    }

    // Built only by a leader, so that a hit allocates none of it. Under a lock, a value ends the wait only when
    // present, decodable and fresh (a stale one is being replaced).
    const compute = (): Effect.Effect<A, E | CacheError, R> =>
      lock === undefined
        ? Effect.tap(lookup, store)
        : Lock.run({
            backend,
            lock,
            key,
            full,
            readFresh: Effect.map(
              Effect.catchTag(
                Effect.suspend(() => readWithTimeToLive(key, full)),
                "CacheDecodeError",
                () => Effect.succeed(undefined)
              ),
              (entry) =>
                entry === undefined || (grace > 0 && entry.timeToLive >= 0 && entry.timeToLive <= grace)
                  ? Option.none()
                  : Option.some(entry.value)
            ),
            compute: Effect.tap(lookup, store),
            bypass,
            onBypass: (error) => outage.degraded("getOrSet", error),
            onWait: () => observer.count(metrics.lockWaits),
            onReleaseFailure: () => observer.count(metrics.lockReleaseFailures)
          })

    const flight = (): Effect.Effect<A, E | CacheError, R> => flights.run(full, compute)

    const serveStale = (value: A) => {
      observer.count(metrics.staleServed)
      return Effect.succeed(value)
    }

    const onReadError = (error: CacheError): Effect.Effect<A, E | CacheError, R> => {
      // An entry that no longer decodes (an old format, a foreign writer) heals: it is a miss and is overwritten.
      if (error._tag === "CacheDecodeError") return Effect.zipRight(heals.report(key, error), flight())
      return bypass && isRetryable(error)
        ? Effect.zipRight(outage.degraded("getOrSet", error), flight())
        : Effect.fail(error)
    }
    // Under bypass, a read the backend answered ends an outage that earlier calls reported.
    const answered = <X>(read: Effect.Effect<X, CacheError>): Effect.Effect<X, CacheError> =>
      bypass ? Effect.tap(read, () => (outage.active() ? outage.ended : Effect.void)) : read

    if (grace === 0) {
      const read = answered(observer.call("getOrSet", key, () => commands.get(full), Exit.succeed, classifyPresent))
      return Effect.matchEffect(read, {
        onFailure: onReadError,
        onSuccess: (text) => {
          if (text === undefined) return flight()
          const decoded = values.decode("getOrSet", key, text)
          return Exit.isSuccess(decoded) ? decoded : Effect.catchAll(decoded, onReadError)
        }
      })
    }

    // A value past freshness counts as what the call does with it: served stale, or replaced by a lookup (a miss).
    const classifyEntry = (entry: Read<A> | undefined): Outcome => {
      if (entry === undefined) return "miss"
      if (entry.timeToLive < 0 || entry.timeToLive > grace) return "hit"
      return grace - entry.timeToLive <= revalidate ? "stale" : "miss"
    }

    const read = observer.call("getOrSet", key, () => readWithTimeToLive(key, full), Exit.succeed, classifyEntry)
    return Effect.matchEffect(answered(read), {
      onFailure: onReadError,
      onSuccess: (entry) => {
        if (entry === undefined) return flight()
        // Remaining life beyond the grace windows means fresh; within them, how long ago freshness ended.
        if (entry.timeToLive < 0 || entry.timeToLive > grace) return Effect.succeed(entry.value)
        const staleFor = grace - entry.timeToLive
        if (staleFor <= revalidate) {
          return Effect.zipRight(
            flights.refresh(full, compute, entry.value, shared.scope, report),
            serveStale(entry.value)
          )
        }
        if (staleFor <= ifError) {
          return Effect.catchAll(flight(), (error) =>
            isCacheInputError(error) ? Effect.fail(error) : serveStale(entry.value)
          )
        }
        return flight()
      }
    })
  }
}
