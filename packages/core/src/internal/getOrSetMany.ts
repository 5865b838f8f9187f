/**
 * Cache-aside for a batch: one read of every key, one lookup of the keys that missed, one write of what it found.
 * An entry that does not decode heals as in `getOrSet` (a miss, overwritten).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type { Entry } from "../Backend.js"
import type { Cache } from "../Cache.js"
import { type CacheDecodeError, type CacheError, CacheInvalidInputError, isRetryable } from "../CacheError.js"
import type { ViewContext } from "./context.js"
import type { Outcome } from "./metrics.js"
import { withContext } from "./relabel.js"
import * as Settings from "./settings.js"
import * as Tiered from "./tiered.js"
import { isLocal, type Local } from "./tiered.js"
import * as Validate from "./validate.js"

const operation = "getOrSetMany"

const classify = (texts: ReadonlyArray<unknown>): Outcome => (texts.some((text) => text !== undefined) ? "hit" : "miss")

/** @internal */
export const make = <A>(context: ViewContext<A>): Cache.View<A>["getOrSetMany"] => {
  const { prefix, values, observer, heals, shared, tiered } = context
  const { commands } = shared.backend
  const { outage, planner } = shared

  return <E, R>(
    input: Iterable<string>,
    lookupMany: (missing: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<A>, E, R>,
    options?: Cache.GetOrSetManyOptions<A>
  ): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> => {
    // The options are a subset of getOrSet's, checked by the same rules.
    const checked = Either.flatMap(Validate.keys(operation, input), (keys) =>
      Either.flatMap(Validate.lookupMany(operation, lookupMany), () =>
        Either.map(Settings.getOrSet(operation, undefined, options), (plan) => ({ keys, tags: plan.tags }))
      )
    )
    if (Either.isLeft(checked)) return observer.refuse(checked.left)
    const { keys: asked, tags } = checked.right
    if (asked.length === 0) return Effect.succeed([])
    // A key listed twice is read, looked up and stored once, and answered wherever it is listed.
    const keys = Array.from(new Set(asked))
    const bypass = options?.onCacheError === "bypass"
    const full = keys.map((key) => prefix + key)

    const refuseLookup = (reason: string) =>
      Effect.fail(new CacheInvalidInputError({ operation, code: "INVALID_ARGUMENT", reason }))
    const lookup = (missing: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
      Effect.suspend(() => {
        const looked = lookupMany(missing)
        if (!Effect.isEffect(looked)) {
          return refuseLookup(`lookupMany must answer an Effect, got ${Validate.describe(looked)}`)
        }
        return Effect.flatMap(looked, (found) =>
          // A copy: a hole in the answer is an `undefined` value (refused by the codec), not a key left out.
          Array.isArray(found) && found.length === missing.length
            ? Effect.succeed(Array.from(found))
            : refuseLookup(
                `lookupMany must answer one value per missing key, in order: asked ${missing.length}, answered ${
                  Array.isArray(found) ? found.length : typeof found
                }`
              )
        )
      })

    const store = (found: ReadonlyArray<readonly [key: string, value: A]>): Effect.Effect<void, CacheError> => {
      const input = options?.timeToLive
      const plans = found.map(([key, value]) =>
        planner.plan(operation, key, typeof input === "function" ? input(value) : input, options?.timeToLiveJitter)
      )
      const written = Effect.flatMap(Effect.all(plans), (ttls) => {
        const entries: Array<Entry> = []
        for (const [i, [key, value]] of found.entries()) {
          const ttl = ttls[i]
          if (ttl === 0) continue
          const encoded = values.encode(operation, key, value)
          if (Exit.isFailure(encoded)) return encoded
          entries.push({ key: prefix + key, value: encoded.value, timeToLive: ttl })
        }
        if (entries.length === 0) return Effect.void
        return Tiered.store(context, entries, tags, () => commands.setMany(entries))
      })
      const stored = Effect.mapError(
        observer.run(
          "setMany",
          undefined,
          Effect.suspend(() => written)
        ),
        (error) => withContext(error, operation, undefined)
      )
      // A call whose read already failed open is counted once: its store failing too is the same degraded call.
      return bypass ? Effect.catchIf(stored, isRetryable, (error) => outage.degradedStore(operation, error)) : stored
    }

    const answer = (
      texts: ReadonlyArray<Local<A> | string | Uint8Array | undefined>
    ): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> => {
      // Each key's value where the read found one; the others are looked up.
      const hits: Array<{ readonly value: A } | undefined> = new Array(keys.length)
      // The hits' values in the order of `keys`: the answer itself when every key hit.
      const hitValues: Array<A> = []
      const missing: Array<string> = []
      const broken: Array<readonly [key: string, error: CacheDecodeError]> = []
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] ?? ""
        const text = texts[i]
        if (isLocal(text)) {
          hits[i] = text
          hitValues.push(text.value)
          continue
        }
        if (text !== undefined) {
          const decoded = values.decode(operation, key, text)
          if (Exit.isSuccess(decoded)) {
            hits[i] = { value: decoded.value }
            hitValues.push(decoded.value)
            continue
          }
          // An entry that no longer decodes heals: a miss, overwritten below.
          if (decoded.cause._tag === "Fail") broken.push([key, decoded.cause.error])
        }
        missing.push(key)
      }
      // Every key hit, none listed twice: the answers are the hits, in order.
      if (missing.length === 0 && keys.length === asked.length) return Effect.succeed(hitValues)
      return Effect.gen(function* () {
        for (const [key, error] of broken) yield* heals.report(key, error)
        const answers = new Map<string, { readonly value: A }>()
        keys.forEach((key, i) => {
          const hit = hits[i]
          if (hit !== undefined) answers.set(key, hit)
        })
        if (missing.length > 0) {
          const found = yield* lookup(missing)
          const pairs = found.map((value, i) => [missing[i] ?? "", value] as const)
          yield* store(pairs)
          for (const [key, value] of pairs) answers.set(key, { value })
        }
        // Every key has its answer: a hit, or one of the values `lookup` checked there is one of per missing key.
        const ordered: Array<A> = []
        for (const key of asked) {
          const found = answers.get(key)
          if (found !== undefined) ordered.push(found.value)
        }
        return ordered
      })
    }

    // One span for the whole call (inside a trace): its read, and under it the lookup's spans and the store's.
    return observer.traced(operation, undefined, (span) => {
      // Every key in the tier's front: answered from it, and counted as the local tier's.
      const local = tiered?.findAll(keys)
      if (local !== undefined) {
        const counted = Effect.withFiberRuntime<ReadonlyArray<Local<A>>, CacheError>((fiber) =>
          observer.local(fiber, operation, undefined, "hit", Exit.succeed(local), span)
        )
        return Effect.flatMap(counted, answer)
      }
      const read = observer.call(
        operation,
        undefined,
        (): Effect.Effect<ReadonlyArray<Local<A> | string | Uint8Array | undefined>, CacheError> =>
          tiered === undefined ? commands.getMany(full) : tiered.readMany(keys, full),
        Exit.succeed,
        classify,
        span
      )
      return Effect.matchEffect(
        bypass ? Effect.tap(read, () => (outage.active() ? outage.ended : Effect.void)) : read,
        {
          onFailure: (error) =>
            bypass && isRetryable(error)
              ? Effect.zipRight(outage.degraded(operation, error), answer(keys.map(() => undefined)))
              : Effect.fail(error),
          onSuccess: answer
        }
      )
    })
  }
}
