/**
 * `Cache.resolver`: a `RequestResolver` in front of another, so that `Effect.request` batches go through the cache.
 * A batch is one `getMany`; the hits complete their requests at once; the misses go to the inner resolver as one
 * batch, each request completed with its own exit; what they found is stored. The cache never fails a request: a
 * read that fails sends the whole batch to the inner resolver, a store that fails is logged.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Request from "effect/Request"
import * as RequestResolver from "effect/RequestResolver"
import { Cache, type ResolverOptions } from "../Cache.js"
import { isRetryable } from "../CacheError.js"
import * as CacheResult from "../CacheResult.js"
import { viewOf } from "./cached.js"
import * as Outage from "./outage.js"
import { keyedOptions } from "./validate.js"

const build = <A extends Request.Request<unknown, unknown>, I>(
  inner: RequestResolver.RequestResolver<A>,
  options: ResolverOptions<A, I>,
  cache: Cache.Service
): RequestResolver.RequestResolver<A> => {
  const view = viewOf<Request.Request.Success<A>, I>(options.schema)(cache)
  const outage = Outage.of(view, cache.backend)

  const read = (keys: ReadonlyArray<string>) =>
    Effect.matchEffect(view.getMany(keys), {
      onSuccess: (results) => Effect.succeed(results),
      onFailure: (error) =>
        Effect.as(
          isRetryable(error)
            ? outage.degraded("getMany", error)
            : Effect.logWarning("cachet: a resolver's cache read failed; the batch goes to the resolver", error),
          keys.map((): CacheResult.CacheResult<Request.Request.Success<A>> => CacheResult.miss)
        )
    })

  const store = (found: ReadonlyArray<readonly [key: string, value: Request.Request.Success<A>]>) => {
    const input = options.timeToLive
    const written =
      typeof input === "function"
        ? Effect.forEach(found, ([key, value]) => view.set(key, value, { timeToLive: input(value) }), {
            concurrency: "unbounded",
            discard: true
          })
        : view.setMany(found, { timeToLive: input })
    return Effect.catchAll(written, (error) =>
      Effect.logWarning("cachet: a resolver could not store what it looked up", error)
    )
  }

  // Requests the cache cannot serve go to the inner resolver as they are, each completed with its own exit.
  const forward = (requests: ReadonlyArray<A>) =>
    Effect.forEach(requests, (request) => Effect.exit(Effect.request(request, inner)), { batching: true })

  const run = (requests: ReadonlyArray<A>) =>
    Effect.gen(function* () {
      const keyed = yield* Effect.either(Effect.try(() => requests.map((request) => options.key(request))))
      if (keyed._tag === "Left") {
        yield* Effect.logWarning("cachet: a resolver's key function threw; the batch goes to the resolver", keyed.left)
        const exits = yield* forward(requests)
        for (const [i, request] of requests.entries()) {
          const exit = exits[i]
          if (exit !== undefined) yield* Request.completeEffect(request, exit)
        }
        return
      }
      const keys = keyed.right
      const results = yield* read(keys)
      const misses: Array<readonly [key: string, request: A]> = []
      for (const [i, request] of requests.entries()) {
        const result = results[i]
        if (result !== undefined && result._tag === "CacheHit") yield* Request.succeed(request, result.value)
        else misses.push([keys[i] ?? "", request])
      }
      if (misses.length === 0) return
      const exits = yield* forward(misses.map(([, request]) => request))
      const found: Array<readonly [key: string, value: Request.Request.Success<A>]> = []
      for (const [j, [key, request]] of misses.entries()) {
        const exit = exits[j]
        if (exit === undefined) continue
        yield* Request.completeEffect(request, exit)
        if (Exit.isSuccess(exit)) found.push([key, exit.value])
      }
      if (found.length > 0) yield* store(found)
    })

  // Whatever happens, no request of the batch is left waiting.
  return RequestResolver.makeBatched((requests: ReadonlyArray<A>) =>
    Effect.catchAllCause(run(requests), (cause) =>
      Effect.forEach(requests, (request) => Request.failCause(request, cause), { discard: true })
    )
  )
}

/** @internal */
export const resolver = <A extends Request.Request<unknown, unknown>, I>(
  inner: RequestResolver.RequestResolver<A>,
  options: ResolverOptions<A, I>
): Effect.Effect<RequestResolver.RequestResolver<A>, never, Cache> => {
  // Options a caller without the types got wrong leave the cache out: the requests reach the resolver as they would without
  // it (the cache never fails a request), and the reason is logged, once.
  const problem = keyedOptions(options, "the request")
  if (problem !== undefined) {
    let told = false
    return Effect.suspend(() => {
      if (told) return Effect.succeed(inner)
      told = true
      return Effect.as(Effect.logWarning(`cachet: Cache.resolver is not caching: ${problem}`), inner)
    })
  }
  // One resolver per cache: Effect batches requests by resolver, so every call must answer the same one.
  const made = new WeakMap<Cache.Service, RequestResolver.RequestResolver<A>>()
  return Effect.map(Cache, (cache) => {
    let found = made.get(cache)
    if (found === undefined) {
      found = build(inner, options, cache)
      made.set(cache, found)
    }
    return found
  })
}
