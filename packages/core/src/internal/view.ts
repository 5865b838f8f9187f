/**
 * A view's plain operations: each validates its arguments, then is one backend command (or a few, composed with
 * `Backends.map`/`flatMap` so that a synchronous backend still answers in one step) run by the view's observer.
 */
import * as Cause from "effect/Cause"
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
import { metrics, type Outcome } from "./metrics.js"
import type { Plan } from "./plan.js"
import { withContext } from "./relabel.js"
import * as Tags from "./tags.js"
import * as Tiered from "./tiered.js"
import { isLocal, type Local, type Read } from "./tiered.js"
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

/** The operations every view has, except cache-aside, `entry` and `namespace` (which have files of their own). */
export type PlainOperations<A> = Omit<Cache.View<A>, "getOrSet" | "getOrSetMany" | "entry" | "namespace">

/** @internal */
export const make = <A>(context: ViewContext<A>): PlainOperations<A> => {
  const { prefix, values, observer, shared, tiered } = context
  const { commands, backend, deleteMatching: deleteAll } = shared.backend
  const { call } = observer
  // An argument refused: the operation fails with it, sends nothing, and is counted (as an error) like every other.
  const refused = (checked: Either.Left<CacheError, unknown>) => observer.refuse(checked.left)
  const { planner } = shared
  const globPrefix = escapeGlob(prefix)

  /** One entry written with its time-to-live: zero means "not cached", so the key loses any older value too. */
  const store = (operation: Operation, key: string, value: A, ttl: Validate.Ttl): Effect.Effect<void, CacheError> => {
    const encoded = values.encode(operation, key, value)
    if (encoded._tag === "Failure") return encoded
    const full = prefix + key
    if (tiered !== undefined) {
      return ttl === 0
        ? tiered.changed([full], () => Backends.map(commands.delete([full]), () => undefined))
        : tiered.wrote({ key: full, value: encoded.value, timeToLive: ttl }, () =>
            commands.set(full, encoded.value, ttl)
          )
    }
    return ttl === 0 ? Backends.map(commands.delete([full]), () => undefined) : commands.set(full, encoded.value, ttl)
  }

  /** A command that moves an entry's expiry, with the entry kept within reach of its tags. */
  const extending = <R>(
    full: string,
    ttl: number | undefined,
    command: () => Effect.Effect<R, CacheError>,
    moved: (reply: R) => boolean
  ) => Tags.extend(shared.backend, prefix, full, ttl, command, moved)

  /** An own write the tier does not follow: it drops the keys. */
  const change = <R>(fulls: ReadonlyArray<string>, write: () => Effect.Effect<R, CacheError>) =>
    tiered === undefined ? write() : tiered.changed(fulls, write)
  const changeAll = <R>(write: () => Effect.Effect<R, CacheError>) =>
    tiered === undefined ? write() : tiered.changedAll(write)

  // Written out rather than with `Backends.flatMap`: the write path is hot, and this way it allocates no closure.
  const write = (operation: Operation, key: string, value: A, plan: Plan): Effect.Effect<void, CacheError> => {
    if (!Backends.isExit(plan)) return Effect.flatMap(plan, (ttl) => store(operation, key, value, ttl))
    return plan._tag === "Failure" ? plan : store(operation, key, value, plan.value)
  }

  const get = (key: string, options?: Cache.GetOptions): Effect.Effect<CacheResult.CacheResult<A>, CacheError> => {
    if (tiered !== undefined && options === undefined) return getThroughTier(tiered, key)
    const checked = Validate.key("get", key)
    if (Either.isLeft(checked)) return refused(checked)
    const full = prefix + key
    const answer = (text: string | Uint8Array | undefined) => values.answer(key, text)
    if (options !== undefined) {
      const expiry = Validate.readOptions("get", options, key)
      if (Either.isLeft(expiry)) return refused(expiry)
      const ttl = expiry.right
      // Sliding expiration: the read and the new expiry are one command (GETEX), still a `get` for metrics and spans.
      // It always reaches the backend (the tier drops the key: its expiry changed).
      if (ttl !== false) {
        const sliding = () => commands.getAndExpire(full, ttl)
        const read = ttl === 0 ? sliding : () => extending(full, ttl, sliding, (text) => text !== undefined)
        return call("get", key, () => change([full], read), answer, classifyResult)
      }
      if (tiered !== undefined) return getThroughTier(tiered, key)
    }
    return call("get", key, () => commands.get(full), answer, classifyResult)
  }

  // The tier first: a key its front holds was checked when it was kept, so a hit checks nothing and builds nothing.
  const getThroughTier = (
    tiered: Tiered.Tiered<A>,
    key: string
  ): Effect.Effect<CacheResult.CacheResult<A>, CacheError> =>
    Effect.withFiberRuntime((fiber) => {
      const slot = tiered.find(key)
      if (slot !== undefined) return observer.local(fiber, "get", key, "hit", slot.hit)
      const checked = Validate.key("get", key)
      if (Either.isLeft(checked)) return refused(checked)
      const full = prefix + key
      return call("get", key, () => tiered.read("get", key, full), answerRead, classifyResult)
    })

  const answerRead = (read: Read<A> | undefined): Exit.Exit<CacheResult.CacheResult<A>, CacheError> =>
    Exit.succeed(read === undefined ? CacheResult.miss : CacheResult.hit(read.value))

  // Local values as they are, the backend's texts decoded.
  const answerMixed = (
    keys: ReadonlyArray<string>,
    answers: ReadonlyArray<Local<A> | string | Uint8Array | undefined>
  ): Exit.Exit<ReadonlyArray<CacheResult.CacheResult<A>>, CacheError> => {
    const results: Array<CacheResult.CacheResult<A>> = new Array(answers.length)
    for (let i = 0; i < answers.length; i++) {
      const answer = answers[i]
      if (isLocal(answer)) {
        results[i] = CacheResult.hit(answer.value)
        continue
      }
      const one = values.answer(keys[i] ?? "", answer)
      if (Exit.isFailure(one)) {
        return Exit.failCause(Cause.map(one.cause, (error) => withContext(error, "getMany", keys[i])))
      }
      results[i] = one.value
    }
    return Exit.succeed(results)
  }

  const getMany = (keys: Iterable<string>): Effect.Effect<ReadonlyArray<CacheResult.CacheResult<A>>, CacheError> => {
    const checked = Validate.keys("getMany", keys)
    if (Either.isLeft(checked)) return refused(checked)
    const userKeys = checked.right
    if (userKeys.length === 0) return Effect.succeed([])
    // Every key in the tier's front: the answer is at hand, and counted as the local tier's (no server was asked).
    const local = tiered?.findAll(userKeys)
    if (local !== undefined) {
      const hits = Exit.succeed(local.map((slot) => CacheResult.hit(slot.value)))
      return Effect.withFiberRuntime((fiber) => observer.local(fiber, "getMany", undefined, "hit", hits))
    }
    const full = userKeys.map((key) => prefix + key)
    if (tiered !== undefined) {
      return call(
        "getMany",
        undefined,
        () => tiered.readMany(userKeys, full),
        (answers) => answerMixed(userKeys, answers),
        classifyMany
      )
    }
    return call(
      "getMany",
      undefined,
      () => commands.getMany(full),
      (texts) => values.answerMany(userKeys, texts),
      classifyMany
    )
  }

  /** SET KEEPTTL of the encoded value. */
  const overwrite = (key: string, value: A): Effect.Effect<void, CacheError> => {
    const encoded = values.encode("set", key, value)
    if (encoded._tag === "Failure") return encoded
    const full = prefix + key
    // The tier does not know the expiry it keeps: it drops the key.
    return change([full], () => commands.setKeepingTimeToLive(full, encoded.value))
  }

  /** One tagged entry (`"add"`: only if absent), after its time-to-live and its encoding: whether written. */
  const writeTagged = (
    operation: "set" | "add",
    key: string,
    value: A,
    options: Cache.SetOptions,
    tags: ReadonlyArray<string>
  ): Effect.Effect<boolean, CacheError> =>
    Backends.flatMap(planner.options(operation, key, options), (ttl) =>
      Backends.flatMap(values.encode(operation, key, value), (text) => {
        const full = prefix + key
        if (ttl !== 0) {
          const entry = { key: full, value: text, timeToLive: ttl }
          const tagged = () => Tags.write(shared.backend, prefix, [entry], tags, operation)
          return tiered === undefined ? tagged() : tiered.wrote(entry, tagged, same)
        }
        return operation === "add"
          ? Exit.succeed(false)
          : change([full], () => Backends.map(commands.delete([full]), () => false))
      })
    )

  /** `set` or `add` of a key whose options have `tags` (an empty list writes as an untagged write does). */
  const withTags = (
    operation: "set" | "add",
    key: string,
    value: A,
    options: Cache.SetOptions
  ): Effect.Effect<boolean, CacheError> => {
    const tags = Validate.tags(operation, options.tags, key)
    if (Either.isLeft(tags)) return refused(tags)
    if (tags.right.length > 0) {
      const list = tags.right
      if (options.keepTimeToLive === true) {
        return observer.refuse(
          Validate.invalid(operation, "INVALID_ARGUMENT", "keepTimeToLive cannot be combined with tags", key)
        )
      }
      return call(operation, key, () => writeTagged(operation, key, value, options, list), Exit.succeed)
    }
    return operation === "add"
      ? add(key, value, { ...options, tags: undefined })
      : Effect.as(set(key, value, { ...options, tags: undefined }), true)
  }

  const set = (key: string, value: A, options?: Cache.SetOptions): Effect.Effect<void, CacheError> => {
    const checked = Either.flatMap(Validate.key("set", key), () => Validate.setOptions("set", options, key))
    if (Either.isLeft(checked)) return refused(checked)
    if (options?.tags !== undefined) {
      return Effect.asVoid(withTags("set", key, value, options))
    }
    if (checked.right) return call("set", key, () => overwrite(key, value), Exit.succeed)
    // The options are read here, once, when the call is made; the write runs when the Effect does.
    const plan = planner.options("set", key, options)
    return call("set", key, () => write("set", key, value, plan), Exit.succeed)
  }

  /** The expiry of each entry of a batch: its own options, each one it leaves out taken from the batch's. */
  const batchPlans = (
    list: ReadonlyArray<Cache.SetManyEntry<A>>,
    options: Cache.WriteOptions | undefined
  ): Effect.Effect<ReadonlyArray<Validate.Ttl>, CacheError> => {
    if (list.every((entry) => entry[2] === undefined)) {
      const plan = planner.options("setMany", undefined, options)
      // With jitter each entry draws its own expiry, so that a batch does not expire as one.
      return Backends.isExit(plan) ? Exit.map(plan, (ttl) => list.map(() => ttl)) : Effect.forEach(list, () => plan)
    }
    return Effect.all(
      list.map(([key, , own]) =>
        planner.options(
          "setMany",
          key,
          own === undefined
            ? options
            : {
                // Only an option left out is the batch's: every other value (`null` too) is checked as given.
                timeToLive: own.timeToLive === undefined ? options?.timeToLive : own.timeToLive,
                timeToLiveJitter: own.timeToLiveJitter === undefined ? options?.timeToLiveJitter : own.timeToLiveJitter
              }
        )
      )
    )
  }

  /**
   * The batch's writes: one `setMany`, after one `delete` of the keys whose time-to-live is zero. A key listed more
   * than once ends as its last entry says, as it would after the writes of a MULTI in order.
   */
  const writeBatch = (
    list: ReadonlyArray<Cache.SetManyEntry<A>>,
    texts: ReadonlyArray<string | Uint8Array>,
    ttls: ReadonlyArray<Validate.Ttl>,
    tags: ReadonlyArray<string>
  ): Effect.Effect<void, CacheError> => {
    if (!ttls.includes(0)) {
      return setEntries(
        list.map(([key], i) => ({ key: prefix + key, value: texts[i] ?? "", timeToLive: ttls[i] })),
        tags
      )
    }
    const written: Array<Entry> = []
    const removed: Array<string> = []
    const seen = new Set<string>()
    for (let i = list.length - 1; i >= 0; i--) {
      const full = prefix + (list[i]?.[0] ?? "")
      if (seen.has(full)) continue
      seen.add(full)
      const ttl = ttls[i]
      if (ttl === 0) removed.push(full)
      else written.push({ key: full, value: texts[i] ?? "", timeToLive: ttl })
    }
    written.reverse()
    const removing =
      removed.length === 0 ? Exit.void : change(removed, () => Backends.map(commands.delete(removed), () => undefined))
    return Backends.flatMap(removing, () => (written.length === 0 ? Exit.void : setEntries(written, tags)))
  }

  /** One `setMany` of the entries (through the tag protocol when they have tags, and the tier when there is one). */
  const setEntries = (written: ReadonlyArray<Entry>, tags: ReadonlyArray<string>): Effect.Effect<void, CacheError> =>
    Tiered.store(context, written, tags, () => commands.setMany(written))

  const setMany = (
    entries: Iterable<Cache.SetManyEntry<A>>,
    options?: Cache.WriteOptions
  ): Effect.Effect<void, CacheError> => {
    // The entries and options are read, checked, encoded and planned here, once, when the call is made; the writes
    // run when the Effect does.
    const prepare = (): Exit.Exit<() => Effect.Effect<void, CacheError>, CacheError> => {
      const checked = Either.flatMap(Validate.entries("setMany", entries), (list) =>
        Either.flatMap(Validate.writeOptions("setMany", options), () =>
          Either.map(Validate.tags("setMany", options?.tags), (tags) => ({ list, tags }))
        )
      )
      if (Either.isLeft(checked)) return Exit.fail(checked.left)
      const { list, tags } = checked.right
      const texts: Array<string | Uint8Array> = []
      for (const [key, value] of list) {
        const encoded = values.encode("setMany", key, value)
        if (Exit.isFailure(encoded)) return Exit.failCause(encoded.cause)
        texts.push(encoded.value)
      }
      if (list.length === 0) return Exit.succeed(() => Effect.void)
      const plans = batchPlans(list, options)
      return Exit.succeed(() => Backends.flatMap(plans, (ttls) => writeBatch(list, texts, ttls, tags)))
    }
    const prepared = prepare()
    const batch = Exit.isSuccess(prepared) ? prepared.value : () => Exit.asVoid(prepared)
    return call("setMany", undefined, batch, Exit.succeed)
  }

  const add = (key: string, value: A, options?: Cache.WriteOptions): Effect.Effect<boolean, CacheError> => {
    const checked = Either.flatMap(Validate.key("add", key), () => Validate.writeOptions("add", options, key))
    if (Either.isLeft(checked)) return refused(checked)
    if (options?.tags !== undefined) return withTags("add", key, value, options)
    const plan = planner.options("add", key, options)
    const adding = () =>
      Backends.flatMap(plan, (ttl) =>
        Backends.flatMap(values.encode("add", key, value), (text) => {
          if (ttl === 0) return Exit.succeed(false)
          const full = prefix + key
          return tiered === undefined
            ? commands.add(full, text, ttl)
            : tiered.wrote({ key: full, value: text, timeToLive: ttl }, () => commands.add(full, text, ttl), same)
        })
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
      : call("deleteMany", undefined, () => change(full, () => commands.delete(full)), Exit.succeed)
  }

  const expire = (key: string, input: Duration.DurationInput): Effect.Effect<boolean, CacheError> => {
    const checked = Either.flatMap(Validate.key("expire", key), () => Validate.expiry("expire", key, input))
    if (Either.isLeft(checked)) return refused(checked)
    const ttl = checked.right
    const full = prefix + key
    const expiring = () =>
      change([full], () =>
        ttl === 0
          ? Backends.map(commands.delete([full]), existed)
          : ttl === undefined
            ? extending(full, undefined, () => Backends.flatMap(commands.persist(full), () => commands.has(full)), same)
            : extending(full, ttl, () => commands.expire(full, ttl), same)
      )
    return call("expire", key, expiring, Exit.succeed)
  }

  // Listing and deleting by pattern reach beyond single keys: they also need a prefix to stay within.
  const checkGlob = (operation: Operation, glob: unknown): Validate.Checked<void> =>
    Either.flatMap(Validate.glob(operation, glob), () => Validate.scoped(operation, prefix))

  const deletePattern = (glob: string): Effect.Effect<number, CacheError> => {
    const checked = checkGlob("deletePattern", glob)
    if (Either.isLeft(checked)) return refused(checked)
    return call(
      "deletePattern",
      undefined,
      () => changeAll(() => deleteAll(globPrefix + glob, KeySpace.isEntry)),
      Exit.succeed
    )
  }

  const keys = (glob = "*"): Stream.Stream<string, CacheError> => {
    const checked = checkGlob("keys", glob)
    if (Either.isLeft(checked)) return observer.stream("keys", Stream.fail(checked.left))
    const cut = prefix.length
    const unprefixed = (batch: ReadonlyArray<string>): Array<string> => {
      const out: Array<string> = []
      // Bookkeeping (getOrSet's locks) shares the key space but is not entries.
      for (const key of batch) if (!KeySpace.isBookkeeping(key)) out.push(key.slice(cut))
      return out
    }
    return observer.stream(
      "keys",
      backend.scan(globPrefix + glob).pipe(
        Stream.mapConcat(unprefixed),
        Stream.mapError((error) => withContext(error, "keys", undefined))
      )
    )
  }

  const clear = (): Effect.Effect<number, CacheError> => {
    const checked = Validate.scoped("clear", prefix)
    if (Either.isLeft(checked)) return refused(checked)
    return call("clear", undefined, () => changeAll(() => deleteAll(`${globPrefix}*`, KeySpace.isEntry)), Exit.succeed)
  }

  // Where an invalidation completes: what it removed is gone from the backend, in every process; the local tier drops
  // it too (and a read of it still in flight is not kept).
  const invalidated = (done: Tags.Invalidated): Exit.Exit<number> => {
    tiered?.dropped(done.keys)
    observer.count(metrics.tagInvalidations)
    if (done.count > 0) observer.count(metrics.tagInvalidatedEntries, [], done.count)
    return Exit.succeed(done.count)
  }

  const invalidateTags = (tags: ReadonlyArray<string>): Effect.Effect<number, CacheError> => {
    const checked = Either.flatMap(
      Array.isArray(tags)
        ? Validate.ok
        : Validate.refuse("invalidateTags", "INVALID_ARGUMENT", "tags must be an array"),
      () => Validate.tags("invalidateTags", tags)
    )
    if (Either.isLeft(checked)) return refused(checked)
    const list = checked.right
    if (list.length === 0) return Effect.succeed(0)
    return call("invalidateTags", undefined, () => Tags.invalidate(shared.backend, prefix, list), invalidated)
  }

  return {
    prefix,
    get,
    getMany,
    set,
    setMany,
    add,
    delete: single("delete", (full) => change([full], () => commands.delete([full])), existed),
    deleteMany,
    has: single("has", commands.has, same),
    timeToLive: single("timeToLive", commands.timeToLive, toTimeToLiveResult, classifyResult),
    expire,
    persist: single(
      "persist",
      (full) => change([full], () => extending(full, undefined, () => commands.persist(full), same)),
      same
    ),
    deletePattern,
    keys,
    clear,
    invalidateTags,
    ping: call(
      "ping",
      undefined,
      () => Effect.timed(commands.ping()),
      ([duration]) => Exit.succeed(duration)
    )
  }
}
