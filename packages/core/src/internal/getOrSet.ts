/**
 * Cache-aside: a read, and on a miss one lookup per key (single-flight in this process, a lock across processes)
 * that stores what it found. Past freshness a value is served stale while one background refresh replaces it
 * (`staleWhileRevalidate`), or when the lookup fails or is slow (`staleIfError`, `softTimeout`, `failSafeThrottle`);
 * a fresh hit late in its freshness starts a refresh (`refreshAhead`). Freshness is read back from the entry's
 * remaining time-to-live, which the store extends by the longest stale window.
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import { type Cache, Lookup } from "../Cache.js"
import { type CacheError, CacheTimeoutError, isCacheError, isRetryable } from "../CacheError.js"
import * as Backends from "./backend.js"
import type { ViewContext } from "./context.js"
import * as Lock from "./lock.js"
import { metrics, type Outcome } from "./metrics.js"
import type { Plan } from "./plan.js"
import * as Refresh from "./refresh.js"
import { withContext } from "./relabel.js"
import * as Settings from "./settings.js"
import * as Throttle from "./throttle.js"
import type { Read } from "./tiered.js"
import * as Tiered from "./tiered.js"
import * as Validate from "./validate.js"

const softLabel = [MetricLabel.make("kind", "soft")]
const hardLabel = [MetricLabel.make("kind", "hard")]

const isCacheInputError = (error: unknown): boolean =>
  isCacheError(error) && (error._tag === "CacheInvalidInputError" || error._tag === "CacheEncodeError")

const classifyPresent = (value: unknown): Outcome => (value === undefined ? "miss" : "hit")

/** What a lookup decided from inside (`Cache.Lookup`). */
interface Decisions {
  timeToLive: Duration.DurationInput | undefined
  /** Unchecked until the store: `setTags` answers no failure. */
  tags: unknown
  skip: boolean
}

/** @internal */
export const make = <A>(context: ViewContext<A>): Cache.View<A>["getOrSet"] => {
  const { prefix, values, observer, heals, flights, shared, tiered } = context
  const { commands, backend } = shared.backend
  const { outage, scope } = shared
  const throttles = Throttle.make()

  const readWithTimeToLive = (key: string, full: string): Effect.Effect<Read<A> | undefined, CacheError> =>
    tiered !== undefined
      ? tiered.read("getOrSet", key, full)
      : Backends.flatMap(commands.getWithTimeToLive(full), (entry) =>
          entry === undefined
            ? Exit.succeed(undefined)
            : Exit.map(
                values.decode("getOrSet", key, entry.value),
                (value): Read<A> => ({ value, timeToLive: entry.timeToLive })
              )
        )

  const reportRefresh = Refresh.reporter(
    observer.labels,
    "cachet: background refresh failed; the stale value stays",
    shared.observe.metrics
  )

  return <E, R>(
    key: string,
    lookup: Effect.Effect<A, E, R>,
    options?: Cache.GetOrSetOptions<A>
  ): Effect.Effect<A, E | CacheError, Exclude<R, Lookup>> => {
    const checked = Either.flatMap(
      Either.flatMap(Validate.key("getOrSet", key), () => Validate.lookup("getOrSet", key, lookup)),
      () => Settings.getOrSet("getOrSet", key, options)
    )
    if (Either.isLeft(checked)) return observer.refuse(checked.left)
    const plan = checked.right
    const { grace, revalidate, ifError, bypass, lock, softTimeout, hardTimeout, refreshAhead } = plan
    const full = prefix + key
    const input = options?.timeToLive

    const store = (value: A, decisions: Decisions): Effect.Effect<void, CacheError> => {
      if (decisions.skip) return Effect.void
      const chosen = decisions.timeToLive ?? (typeof input === "function" ? input(value) : input)
      let ttlPlan: Plan
      let tags: Validate.Checked<ReadonlyArray<string>>
      // What the lookup decided is read here: a time-to-live or tags that throw when read are refused, typed.
      try {
        ttlPlan = shared.planner.plan("getOrSet", key, chosen, options?.timeToLiveJitter)
        tags = decisions.tags === plan.tags ? Either.right(plan.tags) : Validate.tags("getOrSet", decisions.tags, key)
      } catch (cause) {
        return Effect.fail(Validate.threw("getOrSet", cause))
      }
      if (Either.isLeft(tags)) return Effect.fail(tags.left)
      const write = () =>
        Backends.flatMap(ttlPlan, (ttl) =>
          ttl === 0
            ? Exit.void
            : Backends.flatMap(values.encode("getOrSet", key, value), (text) => {
                // Stale windows extend the stored life past freshness; freshness is read back from the remaining time.
                const stored = ttl === undefined ? undefined : ttl + grace
                return Tiered.store(context, [{ key: full, value: text, timeToLive: stored }], tags.right, () =>
                  commands.set(full, text, stored)
                )
              })
        )
      const stored = Effect.mapError(observer.call("set", key, write, Exit.succeed), (error) =>
        withContext(error, "getOrSet", key)
      )
      // A call whose read already failed open is counted once: its store failing too is the same degraded call.
      return bypass ? Effect.catchIf(stored, isRetryable, (error) => outage.degradedStore("getOrSet", error)) : stored
    }

    // The lookup with its `Cache.Lookup`, then the store it decided on.
    const lookupAndStore = (stale: Option.Option<A>): Effect.Effect<A, E | CacheError, Exclude<R, Lookup>> =>
      Effect.suspend(() => {
        const decisions: Decisions = { timeToLive: undefined, tags: plan.tags, skip: false }
        const service: Lookup.Service = {
          stale,
          setTimeToLive: (timeToLive) =>
            Effect.sync(() => {
              decisions.timeToLive = timeToLive
            }),
          setTags: (tags) =>
            Effect.sync(() => {
              decisions.tags = tags
            }),
          skipStore: Effect.sync(() => {
            decisions.skip = true
          })
        }
        return Effect.tap(Effect.provideService(lookup, Lookup, service), (value) => store(value, decisions))
      })

    /** Freshness left, as a fraction of the freshness a store gives `value`; `undefined` when unknown. */
    const freshnessLeft = (entry: Read<A>): number | undefined => {
      if (entry.timeToLive < 0) return undefined
      const nominal = shared.planner.plan("getOrSet", key, typeof input === "function" ? input(entry.value) : input, 0)
      const fresh = Backends.isExit(nominal) && Exit.isSuccess(nominal) ? nominal.value : undefined
      return fresh === undefined || fresh === 0 ? undefined : (entry.timeToLive - grace) / fresh
    }

    /** Remaining life beyond the grace windows means fresh; without a window, every entry present is. */
    const isFresh = (entry: Read<A>): boolean => entry.timeToLive < 0 || entry.timeToLive > grace || grace === 0

    const readFresh = (accept: (entry: Read<A>) => boolean) =>
      Effect.map(
        Effect.catchTag(
          Effect.suspend(() => readWithTimeToLive(key, full)),
          "CacheDecodeError",
          () => Effect.succeed(undefined)
        ),
        (entry) => (entry === undefined || !accept(entry) ? Option.none() : Option.some(entry.value))
      )

    // Built only by a leader, so that a hit allocates none of it. Under a lock, a value ends the wait only when
    // present, decodable and fresh (a stale one is being replaced).
    const compute =
      (stale: Option.Option<A>, ahead = false) =>
      (): Effect.Effect<A, E | CacheError, Exclude<R, Lookup>> =>
        lock === undefined
          ? lookupAndStore(stale)
          : Lock.run({
              backend,
              lock,
              key,
              full,
              readFresh: readFresh((entry) =>
                ahead
                  ? // Another process refreshed it meanwhile: its freshness starts over.
                    (freshnessLeft(entry) ?? 1) > 1 - (refreshAhead ?? 0)
                  : !(grace > 0 && entry.timeToLive >= 0 && entry.timeToLive <= grace)
              ),
              compute: lookupAndStore(stale),
              bypass,
              onBypass: (error) => outage.degraded("getOrSet", error),
              onWait: () => observer.count(metrics.lockWaits),
              onReleaseFailure: () => observer.count(metrics.lockReleaseFailures),
              // Ahead of expiry the current value stays right: the process holding the lock refreshes it.
              whenHeld: ahead && Option.isSome(stale) ? Effect.succeed(stale.value) : undefined
            })

    const detached = softTimeout !== undefined || hardTimeout !== undefined

    // The lookup, once per key; with a timeout it runs in the cache's scope, so that it ends and stores on its own.
    const flight = (stale: Option.Option<A>): Effect.Effect<A, E | CacheError, Exclude<R, Lookup>> => {
      const joined = detached
        ? flights.runDetached(full, compute(stale), scope)
        : flights.run(full, compute(stale), scope)
      return hardTimeout === undefined
        ? joined
        : Effect.timeoutFail(joined, {
            duration: hardTimeout,
            onTimeout: () => {
              observer.count(metrics.lookupTimeouts, hardLabel)
              return new CacheTimeoutError({ operation: "getOrSet", key, code: "LOOKUP_TIMEOUT" })
            }
          })
    }

    const serveStale = (value: A) => {
      observer.count(metrics.staleServed)
      return Effect.succeed(value)
    }

    // A stale value at hand: served when the lookup fails, is slower than `softTimeout`, or failed lately.
    const withStale = (value: A): Effect.Effect<A, E | CacheError, Exclude<R, Lookup>> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (throttles.active(full, now)) {
          observer.count(metrics.failSafeThrottled)
          return serveStale(value)
        }
        const looked = flight(Option.some(value))
        const timely =
          softTimeout === undefined
            ? looked
            : Effect.timeoutTo(looked, {
                duration: softTimeout,
                onSuccess: (fresh): Effect.Effect<A> => Effect.succeed(fresh),
                onTimeout: () => {
                  observer.count(metrics.lookupTimeouts, softLabel)
                  return serveStale(value)
                }
              }).pipe(Effect.flatten)
        return Effect.catchAll(timely, (error) => {
          if (isCacheInputError(error)) return Effect.fail(error)
          return Effect.zipRight(
            Effect.map(Clock.currentTimeMillis, (failedAt) => throttles.start(full, failedAt, plan.failSafeThrottle)),
            serveStale(value)
          )
        })
      })

    const miss = () => flight(Option.none())

    const onReadError = (error: CacheError): Effect.Effect<A, E | CacheError, Exclude<R, Lookup>> => {
      // An entry that no longer decodes (an old format, a foreign writer) heals: it is a miss and is overwritten.
      if (error._tag === "CacheDecodeError") return Effect.zipRight(heals.report(key, error), miss())
      return bypass && isRetryable(error)
        ? Effect.zipRight(outage.degraded("getOrSet", error), miss())
        : Effect.fail(error)
    }
    // Under bypass, a read the backend answered ends an outage that earlier calls reported.
    const answered = <X>(read: Effect.Effect<X, CacheError>): Effect.Effect<X, CacheError> =>
      bypass ? Effect.tap(read, () => (outage.active() ? outage.ended : Effect.void)) : read

    // One span for the whole call (inside a trace): its read, and under it the lookup's spans and the store's.
    return observer.traced("getOrSet", key, (span) => {
      if (grace === 0 && refreshAhead === undefined && tiered === undefined) {
        const read = answered(
          observer.call("getOrSet", key, () => commands.get(full), Exit.succeed, classifyPresent, span)
        )
        return Effect.matchEffect(read, {
          onFailure: onReadError,
          onSuccess: (text) => {
            if (text === undefined) return miss()
            const decoded = values.decode("getOrSet", key, text)
            return Exit.isSuccess(decoded) ? decoded : Effect.catchAll(decoded, onReadError)
          }
        })
      }

      // A value past freshness counts as what the call does with it: served stale, or replaced by a lookup (a miss).
      const classifyEntry = (entry: Read<A> | undefined): Outcome => {
        if (entry === undefined) return "miss"
        if (isFresh(entry)) return "hit"
        return grace - entry.timeToLive <= revalidate ? "stale" : "miss"
      }

      const refresh = (value: A, ahead: boolean) =>
        flights.refresh(full, compute(Option.some(value), ahead), value, scope, reportRefresh)

      const remote = observer.call(
        "getOrSet",
        key,
        () => readWithTimeToLive(key, full),
        Exit.succeed,
        classifyEntry,
        span
      )
      const read: Effect.Effect<Read<A> | undefined, CacheError> =
        tiered === undefined
          ? remote
          : Effect.withFiberRuntime<Read<A> | undefined, CacheError>((fiber) => {
              const slot = tiered.find(key)
              if (slot === undefined) return remote
              const entry: Read<A> = { value: slot.value, timeToLive: tiered.remaining(slot) }
              return observer.local(fiber, "getOrSet", key, classifyEntry(entry), Exit.succeed(entry), span)
            })
      return Effect.matchEffect(answered(read), {
        onFailure: onReadError,
        onSuccess: (entry) => {
          if (entry === undefined) return miss()
          if (isFresh(entry)) {
            const left = refreshAhead === undefined ? undefined : freshnessLeft(entry)
            if (left === undefined || left > 1 - (refreshAhead ?? 0)) return Effect.succeed(entry.value)
            return Effect.as(
              Effect.tap(refresh(entry.value, true), (started) => {
                if (started) observer.count(metrics.refreshAheads)
              }),
              entry.value
            )
          }
          // Within the stale windows: how long ago freshness ended.
          const staleFor = grace - entry.timeToLive
          if (staleFor <= revalidate) return Effect.zipRight(refresh(entry.value, false), serveStale(entry.value))
          if (staleFor <= ifError) return withStale(entry.value)
          return miss()
        }
      })
    })
  }
}
