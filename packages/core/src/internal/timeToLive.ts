import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { CacheInvalidInputError } from "../CacheError.js"

const unitMillis: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000
}

// "2h30m", "1d", "250ms": one or more <digits><unit> groups, each unit at most once, largest first.
const compactForm = /^(?:\d+(?:ms|s|m|h|d|w))+$/
const compactGroup = /(\d+)(ms|s|m|h|d|w)/g
const unitOrder = ["w", "d", "h", "m", "s", "ms"]

// Effect's own form, checked here because Duration.decode accepts more than we want (e.g. "1 nanos" is fine,
// but it also throws on garbage, which we turn into a typed error).
const effectForm =
  /^\d+(?:\.\d+)? (?:nano|nanos|micro|micros|milli|millis|second|seconds|minute|minutes|hour|hours|day|days|week|weeks)$/

const invalidDuration = (text: string) =>
  new CacheInvalidInputError({
    operation: "parseTimeToLive",
    code: "INVALID_DURATION",
    reason: `${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} is not a duration (expected e.g. "5 minutes", "2h30m", "1d", "250ms")`
  })

const parseCompact = (text: string): number | undefined => {
  if (!compactForm.test(text)) return undefined
  let total = 0
  let lastUnit = -1
  for (const [, digits, unit] of text.matchAll(compactGroup)) {
    if (digits === undefined || unit === undefined) return undefined
    const order = unitOrder.indexOf(unit)
    // Units in descending order, each once: "30m2h" and "1h1h" are typos, not durations.
    if (order <= lastUnit) return undefined
    lastUnit = order
    total += Number(digits) * (unitMillis[unit] ?? Number.NaN)
  }
  return Number.isFinite(total) ? total : undefined
}

/** @internal */
export const parse = (text: string): Effect.Effect<Duration.Duration, CacheInvalidInputError> => {
  const trimmed = typeof text === "string" ? text.trim() : ""
  if (trimmed === "infinity" || trimmed === "Infinity") return Effect.succeed(Duration.infinity)
  const compact = parseCompact(trimmed)
  if (compact !== undefined) return Effect.succeed(Duration.millis(compact))
  if (effectForm.test(trimmed)) {
    const decoded = Duration.decodeUnknown(trimmed)
    if (decoded._tag === "Some") return Effect.succeed(decoded.value)
  }
  return Effect.fail(invalidDuration(typeof text === "string" ? text : String(text)))
}

/** Above this, an expiry is surely a unit mistake, and Redis rejects it once added to the clock. */
const maxMillis = 2 ** 46

/**
 * A time-to-live resolved to what a backend takes: whole milliseconds ≥ 1, `undefined` for no expiry, or `0`
 * for "do not store"; a `Left` says why the input is not a time-to-live.
 *
 * @internal
 */
export type Resolved = Either.Either<number | undefined, string>

/** @internal */
export const resolve = (input: Duration.DurationInput | undefined): Resolved => {
  if (input === undefined) return Either.right(undefined)
  if (typeof input === "number") {
    if (Number.isNaN(input)) return Either.left("time-to-live is NaN")
    if (input < 0) return Either.left("time-to-live is negative")
  } else if (typeof input === "bigint") {
    if (input < 0n) return Either.left("time-to-live is negative")
  } else if (Array.isArray(input)) {
    const [seconds, nanos] = input
    if (!Number.isFinite(seconds) || !Number.isFinite(nanos) || seconds < 0 || nanos < 0) {
      return Either.left("time-to-live is negative or not finite")
    }
  } else if (typeof input === "string") {
    if (!effectForm.test(input.trim()) && input.trim() !== "Infinity" && input.trim() !== "infinity") {
      return Either.left(`time-to-live ${JSON.stringify(input.slice(0, 40))} is not a duration`)
    }
  } else if (!Duration.isDuration(input)) {
    return Either.left("time-to-live is not a duration")
  }
  const decoded = Duration.decodeUnknown(input)
  if (decoded._tag === "None") return Either.left("time-to-live is not a duration")
  const duration = decoded.value
  if (!Duration.isFinite(duration)) return Either.right(undefined)
  const millis = Duration.toMillis(duration)
  if (millis === 0) return Either.right(0)
  if (millis > maxMillis) return Either.left("time-to-live is too large")
  // Redis expiries are whole milliseconds; anything positive but shorter still expires, after 1 ms.
  return Either.right(Math.max(1, Math.round(millis)))
}

/** @internal */
export const jitter = (millis: number, ratio: number, random: number): number =>
  Math.max(1, Math.round(millis * (1 + ratio * (2 * random - 1))))
