/**
 * The combinators over the service in context: `cached` functions, the `getOrSet` accessor and `refreshEvery`.
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Cache, type CachedFunction, type CachedOptions, Lookup, type RefreshOptions } from "../Cache.js"
import { type CacheError, CacheInvalidInputError } from "../CacheError.js"
import * as Refresh from "./refresh.js"
import { describe, keyedOptions } from "./validate.js"

/**
 * The base service seen as a view of a JSON-safe type. Only the combinators here use it, behind signatures that
 * accept nothing but `JsonSafe` types: the JSON codec returns such values as they were written.
 */
const jsonView = <A>(cache: Cache.Service): Cache.View<A> => cache as unknown as Cache.View<A>

/** The view of `schema` (with the cache's own codec), or the JSON view. */
export const viewOf =
  <A, I>(schema: Schema.Schema<A, I, never> | undefined) =>
  (cache: Cache.Service): Cache.View<A> =>
    schema === undefined ? jsonView<A>(cache) : cache.forSchema(schema, cache.codec)

/** What a bypassed call's function reads from `Cache.Lookup`: nothing stale, and nothing is stored anyway. */
const bypassed: Lookup.Service = {
  stale: Option.none(),
  setTimeToLive: () => Effect.void,
  setTags: () => Effect.void,
  skipStore: Effect.void
}

/** What is wrong with the arguments of `cached`, from a caller without the types; `undefined` when nothing is. */
const refusal = (options: unknown, f: unknown): string | undefined => {
  const problem = keyedOptions(options, "the arguments")
  if (problem !== undefined || !Predicate.isRecord(options)) return problem
  if (options.bypass !== undefined && typeof options.bypass !== "function") {
    return `bypass must be a function of the arguments, got ${describe(options.bypass)}`
  }
  return typeof f === "function" ? undefined : `the cached function must be a function, got ${describe(f)}`
}

/** @internal */
export const cached =
  <Args extends ReadonlyArray<unknown>, A, I>(
    options: CachedOptions<Args, A> & { readonly schema?: Schema.Schema<A, I, never> | undefined }
  ) =>
  <E, R>(f: (...args: Args) => Effect.Effect<A, E, R> | A): CachedFunction<Args, A, E, R> => {
    const problem = refusal(options, f)
    if (problem !== undefined) {
      // Refused where it is used, inside the Effect, as every other bad input is.
      const refused = Effect.fail(
        new CacheInvalidInputError({
          operation: "getOrSet",
          code: "INVALID_ARGUMENT",
          reason: `Cache.cached: ${problem}`
        })
      )
      return Object.assign(() => refused, { invalidate: () => refused })
    }
    const view = viewOf<A, I>(options.schema)
    const run = (args: Args): Effect.Effect<A, E, R> =>
      Effect.suspend(() => {
        const result = f(...args)
        return Effect.isEffect(result) ? (result as Effect.Effect<A, E, R>) : Effect.succeed(result)
      })
    const { key, bypass, schema: _schema, ...getOrSetOptions } = options
    const call = (...args: Args): Effect.Effect<A, E | CacheError, Exclude<R, Lookup> | Cache> =>
      bypass?.(...args) === true
        ? Effect.provideService(run(args), Lookup, bypassed)
        : Effect.flatMap(Cache, (cache) => view(cache).getOrSet(key(...args), run(args), getOrSetOptions))
    return Object.assign(call, {
      invalidate: (...args: Args) => Effect.flatMap(Cache, (cache) => view(cache).delete(key(...args)))
    })
  }

/** @internal */
export const getOrSet = <A, I, E, R>(
  key: string,
  lookup: Effect.Effect<A, E, R>,
  options?: Cache.GetOrSetOptions<A> & { readonly schema?: Schema.Schema<A, I, never> | undefined }
): Effect.Effect<A, E | CacheError, Cache | Exclude<R, Lookup>> =>
  Effect.flatMap(Cache, (cache) => viewOf<A, I>(options?.schema)(cache).getOrSet(key, lookup, options))

/** @internal */
export const refreshEvery = <A, I, E, R, Out, R2>(
  key: string,
  lookup: Effect.Effect<A, E, R>,
  schedule: Schedule.Schedule<Out, unknown, R2>,
  options?: RefreshOptions & { readonly schema?: Schema.Schema<A, I, never> | undefined }
): Effect.Effect<Fiber.RuntimeFiber<void>, never, Cache | Scope.Scope | R | R2> =>
  Effect.flatMap(Cache, (cache) => {
    const view = viewOf<A, I>(options?.schema)(cache)
    // The root namespace: refreshEvery writes through the service in context.
    const report = Refresh.reporter(
      [MetricLabel.make("backend", cache.backend), MetricLabel.make("namespace", "")],
      "cachet: refreshEvery lookup or write failed; the previous value stays"
    )
    const once = Effect.flatMap(Effect.exit(Effect.flatMap(lookup, (value) => view.set(key, value, options))), report)
    const recurrence = options?.jitter === false ? schedule : Schedule.jittered(schedule)
    return Effect.forkScoped(Effect.asVoid(Effect.repeat(once, recurrence)))
  })

/** @internal */
export const getOrSetMany = <A, I, E, R>(
  keys: Iterable<string>,
  lookupMany: (missing: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<A>, E, R>,
  options?: Cache.GetOrSetManyOptions<A> & { readonly schema?: Schema.Schema<A, I, never> | undefined }
): Effect.Effect<ReadonlyArray<A>, E | CacheError, Cache | R> =>
  Effect.flatMap(Cache, (cache) => viewOf<A, I>(options?.schema)(cache).getOrSetMany(keys, lookupMany, options))
