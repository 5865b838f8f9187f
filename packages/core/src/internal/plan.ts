/**
 * The time-to-live a write stores: the caller's, or the cache's default, validated, and spread by jitter when asked.
 * A plan without jitter is already its `Exit`, so a synchronous write stays one step; jitter draws from Effect's
 * `Random` service, which only an Effect can read.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import type { CacheInvalidInputError, Operation } from "../CacheError.js"
import * as TimeToLive from "./timeToLive.js"
import * as Validate from "./validate.js"

type Ttl = Validate.Ttl

/** @internal */
export type Plan = Effect.Effect<Ttl, CacheInvalidInputError>

/** @internal */
export interface Planner {
  /** The plan of a write's time-to-live `input` (a duration, or absent for the default) spread by `ratio`. */
  readonly plan: (
    operation: Operation,
    key: string | undefined,
    input: Duration.DurationInput | undefined,
    ratio: number | undefined
  ) => Plan
  /** The plan of a write's options (`set`, `setMany`, `add`). */
  readonly options: (
    operation: Operation,
    key: string | undefined,
    options:
      | { readonly timeToLive?: Duration.DurationInput | undefined; readonly timeToLiveJitter?: number | undefined }
      | undefined
  ) => Plan
}

/** @internal */
export const make = (defaultTimeToLive: Ttl, defaultJitter: number | undefined): Planner => {
  const plan: Planner["plan"] = (operation, key, input, ratio) => {
    const spread = Validate.jitter(operation, key, ratio)
    if (Either.isLeft(spread)) return Exit.fail(spread.left)
    const resolved = Validate.timeToLive(operation, key, input, defaultTimeToLive)
    if (Either.isLeft(resolved)) return Exit.fail(resolved.left)
    const ttl = resolved.right
    const by = ratio ?? defaultJitter
    if (by === undefined || by === 0 || ttl === undefined || ttl === 0) return Exit.succeed(ttl)
    return Effect.map(Random.next, (random) => TimeToLive.jitter(ttl, by, random))
  }
  // The plan of every write that gives no time-to-live of its own, built once (the defaults were checked by `make`;
  // a jittered one draws anew each time it runs).
  const byDefault = plan("set", undefined, undefined, undefined)
  return {
    plan,
    options: (operation, key, options) =>
      options === undefined || (options.timeToLive === undefined && options.timeToLiveJitter === undefined)
        ? byDefault
        : plan(operation, key, options.timeToLive, options.timeToLiveJitter)
  }
}
