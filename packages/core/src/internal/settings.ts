/**
 * The options of `getOrSet` and of `Cache.make`, read once into the plan the cache follows. The same convention as
 * every argument check (`validate.ts`): an `Either` whose `Left` is the `CacheInvalidInputError` to fail with.
 */
import type * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import type { Cache } from "../Cache.js"
import type { Operation } from "../CacheError.js"
import { separator } from "./keySpace.js"
import type { LocalSettings } from "./local.js"
import * as Lock from "./lock.js"
import * as TimeToLive from "./timeToLive.js"
import {
  type Checked,
  codecOf,
  describe,
  isRecord,
  jitter,
  keyText,
  options,
  refuse,
  type Ttl,
  tags,
  timeToLive
} from "./validate.js"

/** What `getOrSet` does besides reading, once its options are checked. */
export interface GetOrSetPlan {
  /** The longest stale window, in milliseconds: how long an entry is stored past its freshness. */
  readonly grace: number
  readonly revalidate: number
  readonly ifError: number
  readonly bypass: boolean
  readonly lock: Lock.LockSettings | undefined
  /** Milliseconds after which a stale value at hand is served while the lookup goes on. */
  readonly softTimeout: number | undefined
  /** Milliseconds after which the call fails `LOOKUP_TIMEOUT` while the lookup goes on. */
  readonly hardTimeout: number | undefined
  /** The fraction of freshness past which a hit starts a background refresh. */
  readonly refreshAhead: number | undefined
  /** Milliseconds during which a stale value served after a failed lookup is served without a lookup. */
  readonly failSafeThrottle: number
  /** The tags a looked-up value is stored with, each once. */
  readonly tags: ReadonlyArray<string>
}

const plainGetOrSet: GetOrSetPlan = {
  grace: 0,
  revalidate: 0,
  ifError: 0,
  bypass: false,
  lock: undefined,
  softTimeout: undefined,
  hardTimeout: undefined,
  refreshAhead: undefined,
  failSafeThrottle: 0,
  tags: []
}

/**
 * A duration option in whole milliseconds: finite, and positive where zero would mean nothing (`positive`);
 * `fallback` when absent. Stale windows fail as time-to-live errors, the other options as bad arguments.
 */
const millis = <F extends number | undefined>(
  operation: Operation,
  key: string | undefined,
  name: string,
  input: Duration.DurationInput | undefined,
  fallback: F,
  {
    code = "INVALID_ARGUMENT",
    positive = false
  }: { code?: "INVALID_ARGUMENT" | "INVALID_TIME_TO_LIVE"; positive?: boolean } = {}
): Checked<number | F> => {
  if (input === undefined) return Either.right(fallback)
  const resolved = TimeToLive.resolve(input)
  if (Either.isLeft(resolved)) return refuse(operation, code, `${name}: ${resolved.left}`, key)
  const value = resolved.right
  if (value === undefined || (positive && value === 0)) {
    return refuse(operation, code, `${name} must be a ${positive ? "positive, " : ""}finite duration`, key)
  }
  return Either.right(value)
}

const staleWindow = (
  operation: Operation,
  key: string | undefined,
  name: string,
  input: Duration.DurationInput | undefined
) => millis(operation, key, name, input, 0, { code: "INVALID_TIME_TO_LIVE" })

/** The settings of a `getOrSet` lock: `undefined` without one. */
export const lock = (
  operation: Operation,
  key: string | undefined,
  input: Cache.GetOrSetOptions<never>["lock"]
): Checked<Lock.LockSettings | undefined> => {
  if (input === undefined || input === false) return Either.right(undefined)
  if (input === true) return Either.right(Lock.defaults)
  if (!isRecord(input)) {
    return refuse(operation, "INVALID_ARGUMENT", `lock must be a boolean or an object, got ${describe(input)}`, key)
  }
  if (input.poll !== undefined && !Schedule.isSchedule(input.poll)) {
    return refuse(operation, "INVALID_ARGUMENT", "lock.poll must be a Schedule", key)
  }
  return Either.flatMap(
    millis(operation, key, "lock.timeout", input.timeout, Lock.defaultTimeout, { positive: true }),
    (timeout) =>
      // By default a waiter waits two lock lifetimes: enough for a crashed holder's lock to expire and for the
      // process that takes over to finish a lookup as long as the lock allows.
      Either.map(millis(operation, key, "lock.wait", input.wait, 2 * timeout, { positive: true }), (wait) =>
        Lock.make(timeout, wait, input.poll)
      )
  )
}

const plainGetOrSetChecked: Checked<GetOrSetPlan> = Either.right(plainGetOrSet)

/**
 * The options of `getOrSet`, checked before anything is read or looked up. A time-to-live given as a function
 * is checked when it is called, on the looked-up value. (Sequential checks rather than `Either.gen`: this runs on
 * every call, hits included.)
 */
export const getOrSet = (
  operation: Operation,
  key: string | undefined,
  input: Cache.GetOrSetOptions<never> | undefined
): Checked<GetOrSetPlan> => {
  if (input === undefined) return plainGetOrSetChecked
  const shape = options(operation, input, key)
  if (Either.isLeft(shape)) return Either.left(shape.left)
  if (input.onCacheError !== undefined && input.onCacheError !== "fail" && input.onCacheError !== "bypass") {
    return refuse(operation, "INVALID_ARGUMENT", 'onCacheError must be "fail" or "bypass"', key)
  }
  if (typeof input.timeToLive !== "function") {
    const ttl = timeToLive(operation, key, input.timeToLive, undefined)
    if (Either.isLeft(ttl)) return Either.left(ttl.left)
  }
  const spread = jitter(operation, key, input.timeToLiveJitter)
  if (Either.isLeft(spread)) return Either.left(spread.left)
  const revalidate = staleWindow(operation, key, "staleWhileRevalidate", input.staleWhileRevalidate)
  if (Either.isLeft(revalidate)) return Either.left(revalidate.left)
  const ifError = staleWindow(operation, key, "staleIfError", input.staleIfError)
  if (Either.isLeft(ifError)) return Either.left(ifError.left)
  const settings = lock(operation, key, input.lock)
  if (Either.isLeft(settings)) return Either.left(settings.left)
  const controls = lookupControls(operation, key, input)
  if (Either.isLeft(controls)) return Either.left(controls.left)
  const checkedTags = tags(operation, input.tags, key)
  if (Either.isLeft(checkedTags)) return Either.left(checkedTags.left)
  return Either.right({
    tags: checkedTags.right,
    grace: Math.max(revalidate.right, ifError.right),
    revalidate: revalidate.right,
    ifError: ifError.right,
    bypass: input.onCacheError === "bypass",
    lock: settings.right,
    ...controls.right
  })
}

type LookupControls = Pick<GetOrSetPlan, "softTimeout" | "hardTimeout" | "refreshAhead" | "failSafeThrottle">

const noControls: Checked<LookupControls> = Either.right({
  softTimeout: undefined,
  hardTimeout: undefined,
  refreshAhead: undefined,
  failSafeThrottle: 0
})

/** The timeouts, refresh-ahead and fail-safe throttle of a `getOrSet`. */
const lookupControls = (
  operation: Operation,
  key: string | undefined,
  input: Cache.GetOrSetOptions<never>
): Checked<LookupControls> => {
  const { softTimeout, hardTimeout, refreshAhead, failSafeThrottle } = input
  if (
    softTimeout === undefined &&
    hardTimeout === undefined &&
    refreshAhead === undefined &&
    failSafeThrottle === undefined
  ) {
    return noControls
  }
  return Either.gen(function* () {
    // A zero timeout would time out a lookup that answers at once: refused rather than given that meaning.
    const soft = yield* millis(operation, key, "softTimeout", softTimeout, undefined, { positive: true })
    const hard = yield* millis(operation, key, "hardTimeout", hardTimeout, undefined, { positive: true })
    if (soft !== undefined && hard !== undefined && soft >= hard) {
      return yield* refuse(operation, "INVALID_ARGUMENT", "softTimeout must be shorter than hardTimeout", key)
    }
    const ahead: unknown = refreshAhead
    if (ahead !== undefined && (typeof ahead !== "number" || !(ahead > 0 && ahead < 1))) {
      return yield* refuse(
        operation,
        "INVALID_ARGUMENT",
        "refreshAhead must be a ratio between 0 and 1, both excluded",
        key
      )
    }
    const throttle = yield* millis(operation, key, "failSafeThrottle", failSafeThrottle, undefined)
    return {
      softTimeout: soft,
      hardTimeout: hard,
      refreshAhead: typeof ahead === "number" ? ahead : undefined,
      failSafeThrottle: throttle ?? 0
    }
  })
}

/**
 * The effective key prefix of a cache. A non-empty prefix always ends in the separator, so that one cache's keys
 * (`tenant1:`) never share a beginning with another's (`tenant10:`); the empty prefix stays empty.
 */
const prefix = (input: unknown): Checked<string> => {
  if (typeof input !== "string") {
    return refuse("make", "INVALID_ARGUMENT", `the prefix must be a string, got ${describe(input)}`)
  }
  if (input.length === 0) return Either.right(input)
  return Either.map(keyText("make", "the prefix", input), () => (input.endsWith(separator) ? input : input + separator))
}

/** What `Cache.make` reads from its options. */
export interface MakePlan {
  readonly prefix: string
  readonly defaultTimeToLive: Ttl
  readonly jitter: number | undefined
  readonly local: LocalSettings | undefined
}

const positiveInteger = (name: string, input: unknown): Checked<number> =>
  typeof input === "number" && Number.isSafeInteger(input) && input > 0
    ? Either.right(input)
    : refuse("make", "INVALID_ARGUMENT", `${name} must be a positive whole number, got ${describe(input)}`)

/** The `local` option: the tier's bounds, the life of its entries and how it stays coherent. */
const local = (input: Cache.Options["local"]): Checked<LocalSettings | undefined> =>
  Either.gen(function* () {
    if (input === undefined) return undefined
    if (!isRecord(input)) {
      return yield* refuse("make", "INVALID_ARGUMENT", `local must be an object, got ${describe(input)}`)
    }
    const capacity = yield* positiveInteger("local.capacity", input.capacity)
    const maxBytes = input.maxBytes === undefined ? undefined : yield* positiveInteger("local.maxBytes", input.maxBytes)
    if (input.timeToLive === undefined) {
      return yield* refuse("make", "INVALID_ARGUMENT", "local.timeToLive is required: how long a local entry may live")
    }
    const life = yield* millis("make", undefined, "local.timeToLive", input.timeToLive, 0, { positive: true })
    const invalidation: unknown = input.invalidation
    if (invalidation !== undefined && invalidation !== "tracking" && invalidation !== "bus") {
      return yield* refuse(
        "make",
        "INVALID_ARGUMENT",
        `local.invalidation must be "tracking" or "bus", got ${describe(invalidation)}`
      )
    }
    const freeze: unknown = input.freeze
    if (freeze !== undefined && typeof freeze !== "boolean") {
      return yield* refuse("make", "INVALID_ARGUMENT", `local.freeze must be a boolean, got ${describe(freeze)}`)
    }
    return { capacity, maxBytes, timeToLive: life, invalidation, freeze: freeze === true }
  })

/** The options of `Cache.make`. */
export const make = (input: Cache.Options, defaultPrefix: string): Checked<MakePlan> =>
  Either.gen(function* () {
    yield* options("make", input)
    const effective = yield* prefix(input.prefix === undefined ? defaultPrefix : input.prefix)
    const checked = TimeToLive.resolve(input.defaultTimeToLive)
    if (Either.isLeft(checked)) {
      return yield* refuse("make", "INVALID_TIME_TO_LIVE", `defaultTimeToLive: ${checked.left}`)
    }
    const resolved = checked.right
    if (resolved === 0) {
      return yield* refuse("make", "INVALID_TIME_TO_LIVE", "defaultTimeToLive of zero would store nothing")
    }
    const spread = yield* jitter("make", undefined, input.timeToLiveJitter)
    if (input.codec !== undefined) yield* codecOf("make", input.codec)
    if (input.retry !== undefined && !Schedule.isSchedule(input.retry)) {
      return yield* refuse("make", "INVALID_ARGUMENT", "retry must be a Schedule")
    }
    for (const flag of ["metrics", "spans", "spanKeys"] as const) {
      const value: unknown = input[flag]
      if (value !== undefined && typeof value !== "boolean") {
        return yield* refuse("make", "INVALID_ARGUMENT", `${flag} must be a boolean, got ${describe(value)}`)
      }
    }
    return { prefix: effective, defaultTimeToLive: resolved, jitter: spread, local: yield* local(input.local) }
  })
