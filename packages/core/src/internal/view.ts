/**
 * A view's plain operations: each validates its arguments, then is one backend command (or a few, composed with
 * `Backends.map`/`flatMap` so that a synchronous backend still answers in one step) run by the view's observer.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Entry } from "../Backend.js"
import type { Cache } from "../Cache.js"
import type { CacheError, Operation } from "../CacheError.js"
import * as CacheResult from "../CacheResult.js"
import * as Backends from "./backend.js"
import type { ViewContext } from "./context.js"
import * as KeySpace from "./keySpace.js"
import type { Outcome } from "./metrics.js"
import type { Plan } from "./plan.js"
import { withContext } from "./relabel.js"
import * as Validate from "./validate.js"

/** Redis glob metacharacters, escaped so that a prefix always matches itself literally. */
const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, "\\$&")

const toTimeToLiveResult = (millis: number): CacheResult.CacheResult<Option.Option<Duration.Duration>> =>
  millis === -2 ? CacheResult.miss : CacheResult.hit(millis < 0 ? Option.none() : Option.some(Duration.millis(millis)))

const classifyResult = (result: CacheResult.CacheResult<unknown>): Outcome =>
  result._tag === "CacheHit" ? "hit" : "miss"
const classifyMany = (results: ReadonlyArray<CacheResult.CacheResult<unknown>>): Outcome =>
  results.some((result) => result._tag === "CacheHit") ? "hit" : "miss"

const existed = (n: number): boolean => n > 0

const refused = (checked: Either.Left<CacheError, unknown>) => Effect.fail(checked.left)

/** The operations every view has, except cache-aside and `namespace` (which have files of their own). */
export type PlainOperations<A> = Omit<Cache.View<A>, "getOrSet" | "getOrSetMany" | "namespace">

/** @internal */
export const make = <A>(context: ViewContext<A>): PlainOperations<A> => {
  const { prefix, values, observer, shared } = context
  const { commands, backend, deleteMatching: deleteAll } = shared.backend
  const { call, run } = observer
  const { planner } = shared
  const globPrefix = escapeGlob(prefix)

  /** One entry written with its time-to-live: zero means "not cached", so the key loses any older value too. */
  const store = (operation: Operation, key: string, value: A, ttl: Validate.Ttl): Effect.Effect<void, CacheError> => {
    const encoded = values.encode(operation, key, value)
    if (encoded._tag === "Failure") return encoded
    return ttl === 0
      ? Backends.map(commands.delete([prefix + key]), () => undefined)
      : commands.set(prefix + key, encoded.value, ttl)
  }

  // Written out rather than with `Backends.flatMap`: the write path is hot, and this way it allocates no closure.
  const write = (operation: Operation, key: string, value: A, plan: Plan): Effect.Effect<void, CacheError> => {
    if (!Backends.isExit(plan)) return Effect.flatMap(plan, (ttl) => store(operation, key, value, ttl))
    return plan._tag === "Failure" ? plan : store(operation, key, value, plan.value)
  }

  const get = (key: string): Effect.Effect<CacheResult.CacheResult<A>, CacheError> => {
    const checked = Validate.key("get", key)
    if (Either.isLeft(checked)) return refused(checked)
    const full = prefix + key
    return call(
      "get",
      key,
      () => commands.get(full),
      (text) => values.answer(key, text),
      classifyResult
    )
  }

  const getMany = (keys: Iterable<string>): Effect.Effect<ReadonlyArray<CacheResult.CacheResult<A>>, CacheError> => {
    const checked = Validate.keys("getMany", keys)
    if (Either.isLeft(checked)) return refused(checked)
    const userKeys = checked.right
    if (userKeys.length === 0) return Effect.succeed([])
    const full = userKeys.map((key) => prefix + key)
    return call(
      "getMany",
      undefined,
      () => commands.getMany(full),
      (texts) => values.answerMany(userKeys, texts),
      classifyMany
    )
  }

  const set = (key: string, value: A, options?: Cache.SetOptions): Effect.Effect<void, CacheError> => {
    const checked = Either.flatMap(Validate.key("set", key), () => Validate.options("set", options, key))
    if (Either.isLeft(checked)) return refused(checked)
    return call("set", key, () => write("set", key, value, planner.options("set", key, options)), Exit.succeed)
  }

  const setMany = (
    entries: Iterable<readonly [key: string, value: A]>,
    options?: Cache.SetOptions
  ): Effect.Effect<void, CacheError> => {
    const batch = (): Effect.Effect<void, CacheError> => {
      const checked = Either.flatMap(Validate.entries("setMany", entries), (list) =>
        Either.map(Validate.options("setMany", options), () => list)
      )
      if (Either.isLeft(checked)) return refused(checked)
      const list = checked.right
      const texts: Array<string | Uint8Array> = []
      for (const [key, value] of list) {
        const encoded = values.encode("setMany", key, value)
        if (Exit.isFailure(encoded)) return Exit.failCause(encoded.cause)
        texts.push(encoded.value)
      }
      if (list.length === 0) return Effect.void
      const plan = planner.options("setMany", undefined, options)
      // With jitter each entry draws its own expiry, so that a batch does not expire as one.
      const plans = Backends.isExit(plan)
        ? Exit.map(plan, (ttl) => list.map(() => ttl))
        : Effect.forEach(list, () => plan)
      return Backends.flatMap(plans, (ttls) => {
        if (ttls[0] === 0) return Backends.map(commands.delete(list.map(([key]) => prefix + key)), () => undefined)
        const written: Array<Entry> = list.map(([key], i) => ({
          key: prefix + key,
          value: texts[i] ?? "",
          timeToLive: ttls[i]
        }))
        return commands.setMany(written)
      })
    }
    return call("setMany", undefined, batch, Exit.succeed)
  }

  const add = (key: string, value: A, options?: Cache.SetOptions): Effect.Effect<boolean, CacheError> => {
    const checked = Either.flatMap(Validate.key("add", key), () => Validate.options("add", options, key))
    if (Either.isLeft(checked)) return refused(checked)
    const adding = () =>
      Backends.flatMap(planner.options("add", key, options), (ttl) =>
        Backends.flatMap(values.encode("add", key, value), (text) =>
          ttl === 0 ? Exit.succeed(false) : commands.add(prefix + key, text, ttl)
        )
      )
    return call("add", key, adding, Exit.succeed)
  }

  /** An operation on one key that is one command, its answer as is or mapped. */
  const single =
    <R, X>(
      operation: Operation,
      command: (full: string) => Effect.Effect<R, CacheError>,
      answer: (reply: R) => X,
      classify?: (value: X) => Outcome
    ) =>
    (key: string): Effect.Effect<X, CacheError> => {
      const checked = Validate.key(operation, key)
      if (Either.isLeft(checked)) return refused(checked)
      const full = prefix + key
      return call(
        operation,
        key,
        () => command(full),
        (reply) => Exit.succeed(answer(reply)),
        classify
      )
    }

  const same = <X>(x: X): X => x

  const deleteMany = (keys: Iterable<string>): Effect.Effect<number, CacheError> => {
    const checked = Validate.keys("deleteMany", keys)
    if (Either.isLeft(checked)) return refused(checked)
    const full = checked.right.map((key) => prefix + key)
    return full.length === 0
      ? Effect.succeed(0)
      : call("deleteMany", undefined, () => commands.delete(full), Exit.succeed)
  }

  const expire = (key: string, input: Duration.DurationInput): Effect.Effect<boolean, CacheError> => {
    const checked = Either.flatMap(Validate.key("expire", key), () => Validate.expiry("expire", key, input))
    if (Either.isLeft(checked)) return refused(checked)
    const ttl = checked.right
    const full = prefix + key
    const expiring = () =>
      ttl === 0
        ? Backends.map(commands.delete([full]), existed)
        : ttl === undefined
          ? Backends.flatMap(commands.persist(full), () => commands.has(full))
          : commands.expire(full, ttl)
    return call("expire", key, expiring, Exit.succeed)
  }

  // Listing and deleting by pattern reach beyond single keys: they also need a prefix to stay within.
  const checkGlob = (operation: Operation, glob: unknown): Validate.Checked<void> =>
    Either.flatMap(Validate.glob(operation, glob), () => Validate.scoped(operation, prefix))

  const deletePattern = (glob: string): Effect.Effect<number, CacheError> => {
    const checked = checkGlob("deletePattern", glob)
    if (Either.isLeft(checked)) return refused(checked)
    return run("deletePattern", undefined, deleteAll(globPrefix + glob))
  }

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
    return backend.scan(globPrefix + glob).pipe(
      Stream.mapConcat(unprefixed),
      Stream.mapError((error) => withContext(error, "keys", undefined))
    )
  }

  const clear = (): Effect.Effect<number, CacheError> => {
    const checked = Validate.scoped("clear", prefix)
    if (Either.isLeft(checked)) return refused(checked)
    return run("clear", undefined, deleteAll(`${globPrefix}*`))
  }

  return {
    prefix,
    get,
    getMany,
    set,
    setMany,
    add,
    delete: single("delete", (full) => commands.delete([full]), existed),
    deleteMany,
    has: single("has", commands.has, same),
    timeToLive: single("timeToLive", commands.timeToLive, toTimeToLiveResult, classifyResult),
    expire,
    persist: single("persist", commands.persist, same),
    deletePattern,
    keys,
    clear,
    ping: call(
      "ping",
      undefined,
      () => Effect.timed(commands.ping()),
      ([duration]) => Exit.succeed(duration)
    )
  }
}
