/**
 * Every argument a caller passes is read here, once, before anything reaches a backend. Callers may be plain
 * JavaScript, so nothing is trusted from the static types: each check answers an `Either`, whose `Left` is the
 * `CacheInvalidInputError` the operation fails with inside its Effect. Nothing here throws.
 */

import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { Operation } from "../CacheError.js"
import { CacheInvalidInputError } from "../CacheError.js"
import { refusal } from "./codec.js"
import { reserved } from "./keySpace.js"
import * as TimeToLive from "./timeToLive.js"

/** @internal */
export type Checked<A> = Either.Either<A, CacheInvalidInputError>

/** A write's time-to-live as backends take it; `0` means "store nothing". */
export type Ttl = number | undefined

/** @internal */
export const invalid = (
  operation: Operation,
  code: CacheInvalidInputError["code"],
  reason: string,
  key?: string | undefined
): CacheInvalidInputError => new CacheInvalidInputError({ operation, key, code, reason })

/** @internal */
export const refuse = (
  operation: Operation,
  code: CacheInvalidInputError["code"],
  reason: string,
  key?: string | undefined
): Checked<never> => Either.left(invalid(operation, code, reason, key))

/** @internal */
export const ok: Checked<void> = Either.void

/** Why an argument that threw when it was read (a caller's getter, or a Proxy whose traps throw) is refused. */
export const threwReason = "reading an argument threw (a getter or a Proxy trap)"

/** The refusal of an argument that threw when it was read, with what it threw as the cause. */
export const threw = (operation: Operation, cause: unknown): CacheInvalidInputError =>
  new CacheInvalidInputError({ operation, code: "INVALID_ARGUMENT", reason: threwReason, cause })

/** @internal */
export const describe = (input: unknown): string =>
  input === null ? "null" : Array.isArray(input) ? "an array" : typeof input

// With the `u` flag a well-formed surrogate pair is one code point outside `Cs`: only a lone surrogate matches.
const reservedOrLoneSurrogate = /[\0\p{Cs}]/u

/**
 * Text that reaches the backend as part of a key. The reserved separator would let it reach the cache's own
 * bookkeeping; a lone surrogate becomes U+FFFD in UTF-8, so two different strings would be one key on Redis.
 */
/** @internal */
export const keyText = (operation: Operation, what: string, text: string): Checked<void> => {
  if (!reservedOrLoneSurrogate.test(text)) return ok
  return refuse(
    operation,
    "INVALID_KEY",
    text.includes(reserved)
      ? `${what} contains U+0000, which is reserved for the cache's own keys`
      : `${what} is not well-formed UTF-16 (it has a lone surrogate)`
  )
}

/** A user key: a non-empty, well-formed string without the reserved separator. */
export const key = (operation: Operation, input: unknown): Checked<void> => {
  if (typeof input !== "string") {
    return refuse(operation, "INVALID_KEY", `key must be a string, got ${describe(input)}`)
  }
  if (input.length === 0) return refuse(operation, "INVALID_KEY", "key is empty")
  return keyText(operation, "the key", input)
}

/** A Redis glob over a view's keys. */
export const glob = (operation: Operation, input: unknown): Checked<void> =>
  typeof input === "string"
    ? keyText(operation, "the pattern", input)
    : refuse(operation, "INVALID_ARGUMENT", `the pattern must be a string, got ${describe(input)}`)

/**
 * Operations that list or delete by pattern need a prefix: without one, the pattern would reach every key of the
 * backend, including keys that other programs wrote.
 */
export const scoped = (operation: Operation, prefix: string): Checked<void> =>
  prefix.length > 0
    ? ok
    : refuse(
        operation,
        "EMPTY_PREFIX",
        `refusing ${operation} on a cache without a prefix: it would reach every key of the backend`
      )

/** The elements of an iterable, read once; a string is refused (its characters are not keys). */
const elements = <A>(operation: Operation, what: string, input: Iterable<A>): Checked<ReadonlyArray<A>> => {
  const candidate: unknown = input
  if (Array.isArray(input)) return Either.right(input)
  if (typeof candidate === "string" || !Predicate.isIterable(candidate)) {
    return refuse(operation, "INVALID_ARGUMENT", `${what} must be an iterable, got ${describe(candidate)}`)
  }
  try {
    return Either.right(Array.from(input))
  } catch (cause) {
    return Either.left(
      new CacheInvalidInputError({
        operation,
        code: "INVALID_ARGUMENT",
        reason: `iterating ${what} threw`,
        cause
      })
    )
  }
}

/** A batch of user keys. */
export const keys = (operation: Operation, input: Iterable<string>): Checked<ReadonlyArray<string>> =>
  Either.flatMap(elements(operation, "the keys", input), (list) => {
    for (const item of list) {
      const checked = key(operation, item)
      if (Either.isLeft(checked)) return Either.left(checked.left)
    }
    return Either.right(list)
  })

/**
 * The tags of a write or an invalidation: absent, or an array of non-empty well-formed strings without U+0000
 * (the rules of keys), read once; each tag once, in order of first appearance.
 */
export const tags = (
  operation: Operation,
  input: unknown,
  key?: string | undefined
): Checked<ReadonlyArray<string>> => {
  if (input === undefined) return Either.right([])
  if (!Array.isArray(input)) {
    return refuse(operation, "INVALID_ARGUMENT", `tags must be an array of strings, got ${describe(input)}`, key)
  }
  const unique = new Set<string>()
  for (const tag of input) {
    if (typeof tag !== "string" || tag.length === 0) {
      return refuse(operation, "INVALID_ARGUMENT", `each tag must be a non-empty string, got ${describe(tag)}`, key)
    }
    const checked = keyText(operation, "a tag", tag)
    if (Either.isLeft(checked)) return Either.left(invalid(operation, "INVALID_ARGUMENT", checked.left.reason, key))
    unique.add(tag)
  }
  return Either.right(Array.from(unique))
}

/**
 * A batch of entries: each one a `[key, value]` or `[key, value, options]` array, with a valid key and, when
 * present, options of a write (an object without `keepTimeToLive`, and without `tags`: the batch's own).
 */
export const entries = <E extends ReadonlyArray<unknown>>(
  operation: Operation,
  input: Iterable<E>
): Checked<ReadonlyArray<E>> =>
  Either.flatMap(elements(operation, "the entries", input), (list) => {
    for (const entry of list) {
      const candidate: unknown = entry
      if (!Array.isArray(candidate) || candidate.length < 2 || candidate.length > 3) {
        return refuse(
          operation,
          "INVALID_ARGUMENT",
          `each entry must be a [key, value] or [key, value, options] array, got ${
            Array.isArray(candidate) ? `an array of ${candidate.length}` : describe(candidate)
          }`
        )
      }
      const name = typeof entry[0] === "string" ? entry[0] : undefined
      const checked = Either.flatMap(key(operation, entry[0]), () =>
        Either.flatMap(writeOptions(operation, entry[2], name), () =>
          Predicate.hasProperty(entry[2], "tags") && entry[2].tags !== undefined
            ? refuse(operation, "INVALID_ARGUMENT", "tags are an option of the whole setMany, not of one entry", name)
            : ok
        )
      )
      if (Either.isLeft(checked)) return Either.left(checked.left)
    }
    return Either.right(list)
  })

/** @internal */
export const isRecord = (input: unknown): boolean =>
  typeof input === "object" && input !== null && !Array.isArray(input)

/** An options argument: absent, or a plain object. */
export const options = (operation: Operation, input: unknown, key?: string | undefined): Checked<void> =>
  input === undefined || isRecord(input)
    ? ok
    : refuse(operation, "INVALID_ARGUMENT", `the options must be an object, got ${describe(input)}`, key)

/** The options of `add`, `setMany` and a `setMany` entry: an object without `keepTimeToLive`, or absent. */
export const writeOptions = (operation: Operation, input: unknown, key?: string | undefined): Checked<void> =>
  Either.flatMap(options(operation, input, key), () =>
    Predicate.hasProperty(input, "keepTimeToLive") && input.keepTimeToLive !== undefined
      ? refuse(operation, "INVALID_ARGUMENT", `keepTimeToLive is an option of set only, not of ${operation}`, key)
      : ok
  )

/**
 * The options of `set`: whether the write keeps the entry's expiry. `keepTimeToLive` is a boolean, and comes
 * without a time-to-live or jitter, which it would contradict.
 */
export const setOptions = (
  operation: Operation,
  input:
    | {
        readonly keepTimeToLive?: boolean | undefined
        readonly timeToLive?: unknown
        readonly timeToLiveJitter?: unknown
      }
    | undefined,
  key: string
): Checked<boolean> =>
  Either.flatMap(options(operation, input, key), () => {
    const keep: unknown = input?.keepTimeToLive
    if (keep === undefined) return Either.right(false)
    if (typeof keep !== "boolean") {
      return refuse(operation, "INVALID_ARGUMENT", `keepTimeToLive must be a boolean, got ${describe(keep)}`, key)
    }
    return keep && (input?.timeToLive !== undefined || input?.timeToLiveJitter !== undefined)
      ? refuse(
          operation,
          "INVALID_ARGUMENT",
          "keepTimeToLive keeps the entry's expiry: it cannot come with a timeToLive or timeToLiveJitter",
          key
        )
      : Either.right(keep)
  })

/**
 * The options of a read: `timeToLive`, when given, resolved as a write's (zero: the entry goes once read), or
 * `false` when the read leaves the expiry alone.
 */
export const readOptions = (
  operation: Operation,
  input: { readonly timeToLive?: Duration.DurationInput | undefined } | undefined,
  key: string
): Checked<Ttl | false> =>
  Either.flatMap(
    options(operation, input, key),
    (): Checked<Ttl | false> =>
      input?.timeToLive === undefined ? unchanged : timeToLive(operation, key, input.timeToLive, undefined)
  )

const unchanged: Checked<false> = Either.right(false)

/** A time-to-live given to a write, resolved to what backends take; `undefined` input answers `fallback`. */
export const timeToLive = (
  operation: Operation,
  key: string | undefined,
  input: Duration.DurationInput | undefined,
  fallback: Ttl
): Checked<Ttl> => {
  if (input === undefined) return Either.right(fallback)
  return Either.mapLeft(TimeToLive.resolve(input), (reason) => invalid(operation, "INVALID_TIME_TO_LIVE", reason, key))
}

/** A jitter ratio between 0 and 1, or none. */
export const jitter = (operation: Operation, key: string | undefined, ratio: unknown): Checked<number | undefined> => {
  if (ratio === undefined) return Either.right(undefined)
  return typeof ratio === "number" && ratio >= 0 && ratio <= 1
    ? Either.right(ratio)
    : refuse(operation, "INVALID_TIME_TO_LIVE", "time-to-live jitter must be a ratio between 0 and 1", key)
}

/** The time-to-live of `expire`: required, since "no expiry" is `Duration.infinity` (or `persist`). */
export const expiry = (operation: Operation, key: string, input: Duration.DurationInput): Checked<Ttl> =>
  input === undefined
    ? refuse(
        operation,
        "INVALID_TIME_TO_LIVE",
        "a time-to-live is required (Duration.infinity removes the expiry)",
        key
      )
    : timeToLive(operation, key, input, undefined)

const int64Min = -(2n ** 63n)
const int64Max = 2n ** 63n - 1n

/** The amount of `increment` (or, negated, `decrement`), exact in a signed 64-bit integer. */
export const amount = (operation: Operation, key: string, by: unknown, negate: boolean): Checked<bigint> => {
  if ((typeof by !== "number" || !Number.isSafeInteger(by)) && typeof by !== "bigint") {
    return refuse(operation, "INVALID_ARGUMENT", "the amount must be a safe integer or a bigint", key)
  }
  const value = negate ? -BigInt(by) : BigInt(by)
  return value < int64Min || value > int64Max
    ? refuse(operation, "INVALID_ARGUMENT", "the amount is outside the signed 64-bit range", key)
    : Either.right(value)
}

/** The lookup of `getOrSet`. */
export const lookup = (operation: Operation, key: string, input: unknown): Checked<void> =>
  Effect.isEffect(input)
    ? ok
    : refuse(operation, "INVALID_ARGUMENT", `the lookup must be an Effect, got ${describe(input)}`, key)

/**
 * The options of `cached` and `Cache.resolver` as a caller without the types may pass them: an object whose `key` is a
 * function (of `what`). The problem, or `undefined`.
 */
export const keyedOptions = (input: unknown, what: string): string | undefined => {
  if (!Predicate.isRecord(input)) return `the options must be an object, got ${describe(input)}`
  return typeof input.key === "function" ? undefined : `key must be a function of ${what}, got ${describe(input.key)}`
}

/** The batch lookup of `getOrSetMany`: a function (what it answers is checked when it runs). */
export const lookupMany = (operation: Operation, input: unknown): Checked<void> =>
  typeof input === "function"
    ? ok
    : refuse(operation, "INVALID_ARGUMENT", `lookupMany must be a function, got ${describe(input)}`)

/** A namespace name: a non-empty string that is valid inside a key. */
export const namespace = (input: unknown): Checked<string> => {
  if (typeof input !== "string" || input.length === 0) {
    return refuse("namespace", "INVALID_ARGUMENT", "a namespace name must be a non-empty string")
  }
  return Either.map(keyText("namespace", "the namespace name", input), () => input)
}

const isFunction = (input: unknown): boolean => typeof input === "function"

/**
 * A codec: `encode` and `decode` functions, and `binary` absent or a boolean. A codec made from options that were not
 * valid (`Codec.compressed`) carries its refusal, which is the caller's failure here.
 *
 * @internal
 */
export const codecOf = (operation: Operation, input: unknown): Checked<void> => {
  if (
    !(
      isRecord(input) &&
      Predicate.hasProperty(input, "encode") &&
      isFunction(input.encode) &&
      Predicate.hasProperty(input, "decode") &&
      isFunction(input.decode)
    )
  ) {
    return refuse(operation, "INVALID_ARGUMENT", "the codec must have encode and decode functions")
  }
  const why: unknown = Reflect.get(input, refusal)
  if (typeof why === "string") return refuse(operation, "INVALID_ARGUMENT", why)
  const binary: unknown = Reflect.get(input, "binary")
  return binary === undefined || typeof binary === "boolean"
    ? ok
    : refuse(operation, "INVALID_ARGUMENT", "the codec's binary flag must be a boolean")
}

/** The codec of a typed view. */
export const codec = (input: unknown): Checked<void> => codecOf("forSchema", input)

/** The schema of `forSchema`. */
export const schema = (input: unknown): Checked<void> =>
  Schema.isSchema(input) ? ok : refuse("forSchema", "INVALID_ARGUMENT", `expected a Schema, got ${describe(input)}`)

/** The same failure, for the operation of a view that was made from a bad argument. */
export const relabel = (error: CacheInvalidInputError, operation: Operation): CacheInvalidInputError =>
  new CacheInvalidInputError({ operation, code: error.code, reason: error.reason })
