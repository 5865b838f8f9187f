import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Backend, Entry } from "../Backend.js"
import type { Cache } from "../Cache.js"
import type { Operation } from "../CacheError.js"
import {
  type CacheDecodeError,
  type CacheEncodeError,
  type CacheError,
  CacheInvalidInputError,
  isCacheError,
  isRetryable,
  withContext
} from "../CacheError.js"
import * as CacheResult from "../CacheResult.js"
import { type Codec, json, schemaValue, type ValueCodec } from "../Codec.js"
import { decodeFailure, encodeFailure } from "./failures.js"
import * as Heal from "./heal.js"
import * as KeySpace from "./keySpace.js"
import * as Lock from "./lock.js"
import { makeObserver, metrics, type ObserveOptions, type Outcome } from "./observe.js"
import * as Outage from "./outage.js"
import * as TimeToLive from "./timeToLive.js"
import * as Validate from "./validate.js"

const defaultPrefix = "cachet:"

type Ttl = Validate.Ttl

interface Shared {
  readonly backend: Backend
  readonly codec: Codec
  readonly defaultTimeToLive: Ttl
  readonly jitter: number | undefined
  readonly observe: ObserveOptions
  /** The cache's own scope: background refreshes live in it and stop with the layer. */
  readonly scope: Scope.Scope
  /** Calls that fail open (`onCacheError: "bypass"`, `failOpen`) report here. */
  readonly outage: Outage.Outage
}

/** Redis glob metacharacters, escaped so that a prefix always matches itself literally. */
export const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, "\\$&")

const missExit = Exit.succeed(CacheResult.miss)

const toTimeToLiveResult = (millis: number): CacheResult.CacheResult<Option.Option<Duration.Duration>> =>
  millis === -2 ? CacheResult.miss : CacheResult.hit(millis < 0 ? Option.none() : Option.some(Duration.millis(millis)))

interface Place {
  readonly prefix: string
  /** Set when the view was made from a bad argument (a namespace name, a schema): every operation fails with it. */
  readonly poisoned: CacheInvalidInputError | undefined
  /** The namespace path, for metric labels: `""` at the root, `"users"`, `"users:admins"`. */
  readonly namespace: string
}

interface ViewState<A> extends Place {
  readonly shared: Shared
  readonly values: ValueCodec<A>
}

const classifyResult = (result: CacheResult.CacheResult<unknown>): Outcome =>
  result._tag === "CacheHit" ? "hit" : "miss"
const classifyPresent = (value: unknown): Outcome => (value === undefined ? "miss" : "hit")
const classifyMany = (results: ReadonlyArray<CacheResult.CacheResult<unknown>>): Outcome =>
  results.some((result) => result._tag === "CacheHit") ? "hit" : "miss"

const refreshOk = [MetricLabel.make("outcome", "ok")]
const refreshFailed = [MetricLabel.make("outcome", "error")]

const isCacheInputError = (error: unknown): boolean =>
  isCacheError(error) && (error._tag === "CacheInvalidInputError" || error._tag === "CacheEncodeError")

const makeView = <A>(state: ViewState<A>): Cache.View<A> => {
  const { shared, prefix, values, poisoned } = state
  const { backend } = shared
  const observer = makeObserver(shared.observe, state.namespace)
  const heals = Heal.make(backend.name, state.namespace)
  const run = observer.run
  // A backend's synchronous forms (the memory backend's) let the whole operation be one Effect step.
  const syncGet = backend.get.sync
  const syncGetMany = backend.getMany.sync
  const syncSet = backend.set.sync
  const syncDelete = backend.delete.sync
  const globPrefix = escapeGlob(prefix)
  const inflight = new Map<string, Deferred.Deferred<A, unknown>>()
  const namespaces = new Map<string, Cache.View<A>>()

  /** The view's own failure (see `Place.poisoned`) if it has one, else the operation's own checks. */
  const usable = <X>(operation: Operation, checks: () => Validate.Checked<X>): Validate.Checked<X> =>
    poisoned === undefined ? checks() : Either.left(Validate.relabel(poisoned, operation))

  // The hot path: no closure for `usable`.
  const guard = (operation: Operation, key: unknown): Validate.Checked<void> =>
    poisoned === undefined ? Validate.key(operation, key) : Either.left(Validate.relabel(poisoned, operation))

  const encode = (operation: Operation, key: string | undefined, value: A): string | CacheEncodeError => {
    try {
      return values.encode(value)
    } catch (cause) {
      return encodeFailure(operation, key, cause)
    }
  }

  /** The answer of `get` to the stored text. */
  const answer = (key: string, text: string | undefined): Exit.Exit<CacheResult.CacheResult<A>, CacheDecodeError> => {
    if (text === undefined) return missExit
    try {
      return Exit.succeed(CacheResult.hit(values.decode(text)))
    } catch (cause) {
      return Exit.fail(decodeFailure("get", key, cause))
    }
  }

  /** The answer of `getMany` to the stored texts. */
  const answerMany = (
    keys: ReadonlyArray<string>,
    texts: ReadonlyArray<string | undefined>
  ): Exit.Exit<ReadonlyArray<CacheResult.CacheResult<A>>, CacheDecodeError> => {
    const results: Array<CacheResult.CacheResult<A>> = new Array(texts.length)
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]
      if (text === undefined) {
        results[i] = CacheResult.miss
        continue
      }
      try {
        results[i] = CacheResult.hit(values.decode(text))
      } catch (cause) {
        return Exit.fail(decodeFailure("getMany", keys[i], cause))
      }
    }
    return Exit.succeed(results)
  }

  const defaultTimeToLive: Validate.Checked<Ttl> = Either.right(shared.defaultTimeToLive)

  /** A write's time-to-live before any jitter. */
  const resolveTimeToLive = (
    operation: Operation,
    key: string | undefined,
    input: Cache.SetOptions["timeToLive"],
    ratio: number | undefined
  ): Validate.Checked<Ttl> => {
    if (input === undefined && ratio === undefined) return defaultTimeToLive
    const spread = Validate.jitter(operation, key, ratio)
    if (Either.isLeft(spread)) return Either.left(spread.left)
    return Validate.timeToLive(operation, key, input, shared.defaultTimeToLive)
  }

  const planTimeToLive = (
    operation: Operation,
    key: string | undefined,
    input: Cache.SetOptions["timeToLive"],
    ratio: number | undefined
  ): Effect.Effect<Ttl, CacheInvalidInputError> => {
    const checked = resolveTimeToLive(operation, key, input, ratio)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const resolved = checked.right
    const spread = ratio ?? shared.jitter
    if (spread === undefined || spread === 0 || resolved === undefined || resolved === 0) {
      return Effect.succeed(resolved)
    }
    return Effect.map(Random.next, (random) => TimeToLive.jitter(resolved, spread, random))
  }

  // A jittered write draws from Effect's Random service, which only an Effect can read.
  const jittered = (options: Cache.SetOptions | undefined): boolean =>
    (options?.timeToLiveJitter ?? shared.jitter ?? 0) > 0

  const defaultPlan = planTimeToLive("set", undefined, undefined, undefined)
  const planFor = (operation: Operation, key: string | undefined, options: Cache.SetOptions | undefined) =>
    options === undefined || (options.timeToLive === undefined && options.timeToLiveJitter === undefined)
      ? defaultPlan
      : planTimeToLive(operation, key, options.timeToLive, options.timeToLiveJitter)

  const collectKeys = (operation: Operation, keys: Iterable<string>): Validate.Checked<ReadonlyArray<string>> =>
    usable(operation, () => Validate.keys(operation, keys))

  const get = (key: string): Effect.Effect<CacheResult.CacheResult<A>, CacheError> => {
    const checked = guard("get", key)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const full = prefix + key
    return syncGet !== undefined
      ? observer.runSync("get", key, () => answer(key, syncGet(full)), classifyResult)
      : observer.runThen("get", key, backend.get(full), (text) => answer(key, text), classifyResult)
  }

  const getMany = (keys: Iterable<string>): Effect.Effect<ReadonlyArray<CacheResult.CacheResult<A>>, CacheError> => {
    const checked = collectKeys("getMany", keys)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const userKeys = checked.right
    if (userKeys.length === 0) return Effect.succeed([])
    const full = userKeys.map((key) => prefix + key)
    return syncGetMany !== undefined
      ? observer.runSync("getMany", undefined, () => answerMany(userKeys, syncGetMany(full)), classifyMany)
      : observer.runThen(
          "getMany",
          undefined,
          backend.getMany(full),
          (texts) => answerMany(userKeys, texts),
          classifyMany
        )
  }

  const set = (key: string, value: A, options?: Cache.SetOptions): Effect.Effect<void, CacheError> => {
    const checked = Either.flatMap(guard("set", key), () => Validate.options("set", options, key))
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    if (syncSet !== undefined && syncDelete !== undefined && !jittered(options)) {
      return observer.runSync("set", key, () => {
        const resolved = resolveTimeToLive("set", key, options?.timeToLive, options?.timeToLiveJitter)
        if (Either.isLeft(resolved)) return Exit.fail(resolved.left)
        const ttl = resolved.right
        const text = encode("set", key, value)
        if (typeof text !== "string") return Exit.fail(text)
        // A zero time-to-live means "not cached": the key must not keep an older value either.
        if (ttl === 0) syncDelete([prefix + key])
        else syncSet(prefix + key, text, ttl)
        return Exit.void
      })
    }
    return run(
      "set",
      key,
      Effect.flatMap(planFor("set", key, options), (ttl) => {
        const text = encode("set", key, value)
        if (typeof text !== "string") return Effect.fail(text)
        // A zero time-to-live means "not cached": the key must not keep an older value either.
        return ttl === 0 ? Effect.asVoid(backend.delete([prefix + key])) : backend.set(prefix + key, text, ttl)
      })
    )
  }

  const setMany = (
    entries: Iterable<readonly [key: string, value: A]>,
    options?: Cache.SetOptions
  ): Effect.Effect<void, CacheError> =>
    run(
      "setMany",
      undefined,
      Effect.suspend(() => {
        const checked = usable("setMany", () =>
          Either.flatMap(Validate.entries("setMany", entries), (list) =>
            Either.map(Validate.options("setMany", options), () => list)
          )
        )
        if (Either.isLeft(checked)) return Effect.fail(checked.left)
        const list = checked.right
        const texts: Array<string> = []
        for (const [key, value] of list) {
          const text = encode("setMany", key, value)
          if (typeof text !== "string") return Effect.fail(text)
          texts.push(text)
        }
        if (list.length === 0) return Effect.void
        const plan = planFor("setMany", undefined, options)
        // With jitter each entry draws its own expiry, so that a batch does not expire as one.
        const plans = jittered(options)
          ? Effect.forEach(list, () => plan)
          : Effect.map(plan, (ttl) => list.map(() => ttl))
        return Effect.flatMap(plans, (ttls) => {
          if (ttls[0] === 0) return Effect.asVoid(backend.delete(list.map(([key]) => prefix + key)))
          const batch: Array<Entry> = list.map(([key], i) => ({
            key: prefix + key,
            value: texts[i] ?? "",
            timeToLive: ttls[i]
          }))
          return backend.setMany(batch)
        })
      })
    )

  const add = (key: string, value: A, options?: Cache.SetOptions): Effect.Effect<boolean, CacheError> => {
    const checked = Either.flatMap(guard("add", key), () => Validate.options("add", options, key))
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    return run(
      "add",
      key,
      Effect.flatMap(planFor("add", key, options), (ttl) => {
        const text = encode("add", key, value)
        if (typeof text !== "string") return Effect.fail(text)
        return ttl === 0 ? Effect.succeed(false) : backend.add(prefix + key, text, ttl)
      })
    )
  }

  const remove = (key: string): Effect.Effect<boolean, CacheError> => {
    const checked = guard("delete", key)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    return run(
      "delete",
      key,
      Effect.map(backend.delete([prefix + key]), (n) => n > 0)
    )
  }

  const deleteMany = (keys: Iterable<string>): Effect.Effect<number, CacheError> => {
    const checked = collectKeys("deleteMany", keys)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const full = checked.right.map((key) => prefix + key)
    return full.length === 0 ? Effect.succeed(0) : run("deleteMany", undefined, backend.delete(full))
  }

  const has = (key: string): Effect.Effect<boolean, CacheError> => {
    const checked = guard("has", key)
    return Either.isLeft(checked) ? Effect.fail(checked.left) : run("has", key, backend.has(prefix + key))
  }

  const timeToLive = (key: string) => {
    const checked = guard("timeToLive", key)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    return run("timeToLive", key, Effect.map(backend.timeToLive(prefix + key), toTimeToLiveResult), classifyResult)
  }

  const expire = (key: string, input: Duration.DurationInput): Effect.Effect<boolean, CacheError> => {
    const checked = Either.flatMap(guard("expire", key), () => Validate.expiry("expire", key, input))
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const ttl = checked.right
    const full = prefix + key
    const effect =
      ttl === 0
        ? Effect.map(backend.delete([full]), (n) => n > 0)
        : ttl === undefined
          ? Effect.zipRight(backend.persist(full), backend.has(full))
          : backend.expire(full, ttl)
    return run("expire", key, effect)
  }

  const persist = (key: string): Effect.Effect<boolean, CacheError> => {
    const checked = guard("persist", key)
    return Either.isLeft(checked) ? Effect.fail(checked.left) : run("persist", key, backend.persist(prefix + key))
  }

  // Listing and deleting by pattern reach beyond single keys: they also need a prefix to stay within.
  const checkGlob = (operation: Operation, glob: unknown): Validate.Checked<void> =>
    usable(operation, () => Either.flatMap(Validate.glob(operation, glob), () => Validate.scoped(operation, prefix)))

  const scanView = (glob: string): Stream.Stream<ReadonlyArray<string>, CacheError> => backend.scan(globPrefix + glob)

  const deletePattern = (glob: string): Effect.Effect<number, CacheError> => {
    const checked = checkGlob("deletePattern", glob)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    return run("deletePattern", undefined, deleteMatching(glob))
  }

  const deleteMatching = (glob: string): Effect.Effect<number, CacheError> =>
    backend.deleteMatching !== undefined
      ? backend.deleteMatching(globPrefix + glob)
      : Stream.runFoldEffect(scanView(glob), 0, (count, batch) =>
          batch.length === 0 ? Effect.succeed(count) : Effect.map(backend.delete(batch), (n) => count + n)
        )

  const keys = (glob = "*"): Stream.Stream<string, CacheError> => {
    const checked = checkGlob("keys", glob)
    if (Either.isLeft(checked)) return Stream.fail(checked.left)
    const cut = prefix.length
    const unprefixed = (batch: ReadonlyArray<string>): Array<string> => {
      const out: Array<string> = []
      // Bookkeeping (getOrSet's locks) shares the key space but is not entries.
      for (const key of batch) if (!KeySpace.isBookkeeping(key)) out.push(key.slice(cut))
      return out
    }
    return scanView(glob).pipe(
      Stream.mapConcat(unprefixed),
      Stream.mapError((error) => withContext(error, "keys", undefined))
    )
  }

  const clear = (): Effect.Effect<number, CacheError> => {
    const checked = usable("clear", () => Validate.scoped("clear", prefix))
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    return run("clear", undefined, deleteMatching("*"))
  }

  const readWithTimeToLive = (key: string) =>
    Effect.flatMap(backend.getWithTimeToLive(prefix + key), (entry) => {
      if (entry === undefined) return Effect.succeed(undefined)
      try {
        return Effect.succeed({ value: values.decode(entry.value), timeToLive: entry.timeToLive })
      } catch (cause) {
        return Effect.fail(decodeFailure("getOrSet", key, cause))
      }
    })

  const getOrSet = <E, R>(
    key: string,
    lookup: Effect.Effect<A, E, R>,
    options?: Cache.GetOrSetOptions<A>
  ): Effect.Effect<A, E | CacheError, R> => {
    const checked = guard("getOrSet", key)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const lookupChecked = Validate.lookup("getOrSet", key, lookup)
    if (Either.isLeft(lookupChecked)) return Effect.fail(lookupChecked.left)
    const planned = Validate.getOrSet("getOrSet", key, options)
    if (Either.isLeft(planned)) return Effect.fail(planned.left)
    const { grace, revalidate, ifError, bypass, lock } = planned.right
    const full = prefix + key

    const store = (value: A): Effect.Effect<void, CacheError> => {
      const input = options?.timeToLive
      const ttlInput = typeof input === "function" ? input(value) : input
      const write = Effect.flatMap(planTimeToLive("getOrSet", key, ttlInput, options?.timeToLiveJitter), (ttl) => {
        if (ttl === 0) return Effect.void
        const text = encode("getOrSet", key, value)
        // Stale windows extend the stored life past freshness; freshness is read back from the remaining time.
        if (typeof text !== "string") return Effect.fail(text)
        return backend.set(full, text, ttl === undefined ? undefined : ttl + grace)
      })
      const stored = Effect.mapError(run("set", key, write), (error) => withContext(error, "getOrSet", key))
      return bypass ? Effect.catchIf(stored, isRetryable, (error) => shared.outage.degraded("getOrSet", error)) : stored
    }

    // Built only by a leader, so that a hit allocates none of it. Under a lock, a value ends the wait only when
    // present, decodable and fresh (a stale one is being replaced).
    const computeOnce = (): Effect.Effect<A, E | CacheError, R> => {
      const compute = Effect.tap(lookup, store)
      return lock === undefined
        ? compute
        : Lock.run({
            backend,
            lock,
            key,
            full,
            readFresh: Effect.map(
              Effect.catchTag(readWithTimeToLive(key), "CacheDecodeError", () => Effect.succeed(undefined)),
              (entry) =>
                entry === undefined || (grace > 0 && entry.timeToLive >= 0 && entry.timeToLive <= grace)
                  ? Option.none()
                  : Option.some(entry.value)
            ),
            compute,
            bypass,
            onBypass: (error) => shared.outage.degraded("getOrSet", error),
            onWait: () => observer.count(metrics.lockWaits),
            onReleaseFailure: () => observer.count(metrics.lockReleaseFailures)
          })
    }

    // One lookup per key in this process: the first caller leads, the others wait for its exit. A leader that
    // is interrupted hands over: its waiters try again (one of them leads) rather than inheriting the interrupt.
    const lead = (deferred: Deferred.Deferred<A, unknown>): Effect.Effect<A, E | CacheError, R> =>
      Effect.uninterruptibleMask((restore) =>
        restore(computeOnce()).pipe(
          Effect.exit,
          Effect.flatMap((exit) => {
            if (inflight.get(full) === deferred) inflight.delete(full)
            return Effect.zipRight(Deferred.done(deferred, exit), exit)
          })
        )
      )

    const join = (deferred: Deferred.Deferred<A, unknown>): Effect.Effect<A, E | CacheError, R> => {
      observer.count(metrics.singleFlightJoins)
      return Effect.flatMap(Effect.exit(Deferred.await(deferred)), (exit) => {
        if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
        if (Cause.isInterruptedOnly(exit.cause)) return flight
        // Callers of one key share one lookup, so the leader's failure has this caller's error type.
        return Effect.failCause(exit.cause as Cause.Cause<E | CacheError>)
      })
    }

    const startLeader = (): Deferred.Deferred<A, unknown> => {
      const deferred = Deferred.unsafeMake<A, unknown>(FiberId.none)
      inflight.set(full, deferred)
      return deferred
    }

    const flight: Effect.Effect<A, E | CacheError, R> = Effect.suspend(() => {
      const running = inflight.get(full)
      return running === undefined ? lead(startLeader()) : join(running)
    })

    // Concurrent stale readers start one refresh: the first registers the flight before anyone else can look.
    const refreshInBackground = Effect.suspend(() => {
      if (inflight.has(full)) return Effect.void
      const refresh = lead(startLeader()).pipe(
        Effect.tap(() => Effect.sync(() => observer.count(metrics.refreshes, refreshOk))),
        Effect.tapErrorCause((cause) =>
          Effect.zipRight(
            Effect.sync(() => observer.count(metrics.refreshes, refreshFailed)),
            Effect.logWarning("cachet: background refresh failed; the stale value stays", cause)
          )
        ),
        Effect.ignore
      )
      return Effect.asVoid(Effect.forkIn(refresh, shared.scope))
    })

    const serveStale = (value: A) => {
      observer.count(metrics.staleServed)
      return Effect.succeed(value)
    }

    const onReadError = (error: CacheError): Effect.Effect<A, E | CacheError, R> => {
      // An entry that no longer decodes (an old format, a foreign writer) heals: it is a miss and is overwritten.
      if (error._tag === "CacheDecodeError") return Effect.zipRight(heals.report(key, error), flight)
      return bypass && isRetryable(error)
        ? Effect.zipRight(shared.outage.degraded("getOrSet", error), flight)
        : Effect.fail(error)
    }
    // Under bypass, a read the backend answered ends an outage that earlier calls reported.
    const answered = <X>(read: Effect.Effect<X, CacheError>): Effect.Effect<X, CacheError> =>
      bypass ? Effect.tap(read, () => (shared.outage.active() ? shared.outage.ended : Effect.void)) : read

    if (grace === 0) {
      const read = answered(
        syncGet === undefined
          ? run("getOrSet", key, backend.get(full), classifyPresent)
          : observer.runSync("getOrSet", key, () => Exit.succeed(syncGet(full)), classifyPresent)
      )
      return Effect.matchEffect(read, {
        onFailure: onReadError,
        onSuccess: (text) => {
          if (text === undefined) return flight
          try {
            return Effect.succeed(values.decode(text))
          } catch (cause) {
            return onReadError(decodeFailure("getOrSet", key, cause))
          }
        }
      })
    }

    // A value past freshness counts as what the call does with it: served stale, or replaced by a lookup (a miss).
    const classifyEntry = (entry: { readonly timeToLive: number } | undefined): Outcome => {
      if (entry === undefined) return "miss"
      if (entry.timeToLive < 0 || entry.timeToLive > grace) return "hit"
      return grace - entry.timeToLive <= revalidate ? "stale" : "miss"
    }

    return Effect.matchEffect(answered(run("getOrSet", key, readWithTimeToLive(key), classifyEntry)), {
      onFailure: onReadError,
      onSuccess: (entry) => {
        if (entry === undefined) return flight
        // Remaining life beyond the grace windows means fresh; within them, how long ago freshness ended.
        if (entry.timeToLive < 0 || entry.timeToLive > grace) return Effect.succeed(entry.value)
        const staleFor = grace - entry.timeToLive
        if (staleFor <= revalidate) return Effect.zipRight(refreshInBackground, serveStale(entry.value))
        if (staleFor <= ifError) {
          return Effect.catchAll(flight, (error) =>
            isCacheInputError(error) ? Effect.fail(error) : serveStale(entry.value)
          )
        }
        return flight
      }
    })
  }

  const namespace = (name: string): Cache.View<A> => {
    let view = namespaces.get(name)
    if (view === undefined) {
      view = makeView({ ...state, ...childState(state, name) })
      namespaces.set(name, view)
    }
    return view
  }

  const ping = run(
    "ping",
    undefined,
    Effect.map(Effect.timed(backend.ping), ([duration]) => duration)
  )

  return Outage.register<Cache.View<A>>(
    {
      prefix,
      get,
      getMany,
      set,
      setMany,
      add,
      delete: remove,
      deleteMany,
      has,
      timeToLive,
      expire,
      persist,
      deletePattern,
      keys,
      clear,
      getOrSet,
      namespace,
      ping
    },
    shared.outage
  )
}

const childState = (parent: Place, name: unknown): Place => {
  const checked = Validate.namespace(name)
  if (Either.isLeft(checked)) return { ...parent, poisoned: parent.poisoned ?? checked.left }
  return {
    prefix: `${parent.prefix}${checked.right}${KeySpace.separator}`,
    poisoned: parent.poisoned,
    namespace: parent.namespace === "" ? checked.right : `${parent.namespace}${KeySpace.separator}${checked.right}`
  }
}

/** The values of a view that refuses every operation (see `Place.poisoned`): never called. */
const refusedValues = <A>(error: CacheInvalidInputError): ValueCodec<A> => ({
  encode: () => {
    throw error
  },
  decode: () => {
    throw error
  }
})

/** Views keyed by their schema and codec. */
interface SchemaViews {
  readonly get: <A, I>(schema: Schema.Schema<A, I, never>, codec: Codec) => Cache.View<A> | undefined
  readonly set: <A, I>(schema: Schema.Schema<A, I, never>, codec: Codec, view: Cache.View<A>) => void
}

const makeSchemaViews = (): SchemaViews => {
  const views = new WeakMap<object, Map<Codec, unknown>>()
  return {
    // Sound by construction: `set` is the only writer and stores, under a schema, a view of that schema's type.
    get: <A, I>(schema: Schema.Schema<A, I, never>, codec: Codec) =>
      views.get(schema)?.get(codec) as Cache.View<A> | undefined,
    set: (schema, codec, view) => {
      let byCodec = views.get(schema)
      if (byCodec === undefined) {
        byCodec = new Map()
        views.set(schema, byCodec)
      }
      byCodec.set(codec, view)
    }
  }
}

const makeService = (shared: Shared, place: Place, schemaViews: SchemaViews): Cache.Service => {
  const { prefix, poisoned } = place
  const view = makeView({ shared, ...place, values: shared.codec })
  const observer = makeObserver(shared.observe, place.namespace)
  const namespaces = new Map<string, Cache.Service>()

  const incrementBy = (operation: Operation, key: string, by: number | bigint, negate: boolean) => {
    const checked = Either.flatMap(
      poisoned === undefined ? Validate.key(operation, key) : Either.left(Validate.relabel(poisoned, operation)),
      () => Validate.amount(operation, key, by, negate)
    )
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    // A counter is stored as decimal text, which only the JSON codec reads back as the number it is.
    if (shared.codec !== json) {
      return Effect.fail(
        new CacheInvalidInputError({
          operation,
          key,
          code: "INVALID_ARGUMENT",
          reason: `counters need the JSON codec: this cache stores values with the ${shared.codec.name} codec, which would not read a counter back`
        })
      )
    }
    return observer.run(operation, key, shared.backend.increment(prefix + key, checked.right))
  }

  const forSchema = <A, I>(schema: Schema.Schema<A, I, never>, codec: Codec = shared.codec): Cache.View<A> => {
    const checked = Either.flatMap(Validate.schema(schema), () => Validate.codec(codec))
    if (Either.isLeft(checked)) {
      const error = poisoned ?? checked.left
      return makeView<A>({ shared, ...place, poisoned: error, values: refusedValues(error) })
    }
    // One view per schema and codec, so that single-flight spans every caller that reads through it, and a value
    // decoded through one codec never reaches a view of another.
    const known = schemaViews.get(schema, codec)
    if (known !== undefined) return known
    const typed = makeView<A>({ shared, ...place, values: schemaValue(codec, schema) })
    schemaViews.set(schema, codec, typed)
    return typed
  }

  return Outage.register<Cache.Service>(
    {
      ...view,
      backend: shared.backend.name,
      codec: shared.codec,
      increment: (key, by = 1) => incrementBy("increment", key, by, false),
      decrement: (key, by = 1) => incrementBy("decrement", key, by, true),
      forSchema,
      namespace: (name) => {
        let child = namespaces.get(name)
        if (child === undefined) {
          child = makeService(shared, childState(place, name), makeSchemaViews())
          namespaces.set(name, child)
        }
        return child
      }
    },
    shared.outage
  )
}

/** @internal */
export const make = (
  backend: Backend,
  options: Cache.Options = {}
): Effect.Effect<Cache.Service, CacheError, Scope.Scope> =>
  Effect.suspend(() => {
    const checked = Validate.make(options, defaultPrefix)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const { prefix, defaultTimeToLive, jitter } = checked.right
    return Effect.map(Effect.scope, (scope) => {
      const shared: Shared = {
        backend,
        codec: options.codec ?? json,
        defaultTimeToLive,
        jitter,
        scope,
        outage: Outage.make(backend.name),
        observe: {
          backend: backend.name,
          retry: options.retry,
          metrics: options.metrics ?? true,
          spans: options.spans ?? true,
          spanKeys: options.spanKeys ?? false
        }
      }
      return makeService(shared, { prefix, poisoned: undefined, namespace: "" }, makeSchemaViews())
    })
  })
