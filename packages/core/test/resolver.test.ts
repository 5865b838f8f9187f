/**
 * `Cache.resolver`: `Effect.request` batches through the cache. Hits never reach the inner resolver, misses reach it
 * as one batch, a failing request fails only its caller, and what was found is stored.
 */
import { Cache, CacheResult } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Request from "effect/Request"
import * as RequestResolver from "effect/RequestResolver"
import * as Schema from "effect/Schema"

class GetUser extends Request.TaggedClass("GetUser")<string, "not found", { readonly id: number }> {}

/** An inner resolver that records its batches and fails id 50. */
const users = () => {
  const batches: Array<ReadonlyArray<number>> = []
  const resolver = RequestResolver.makeBatched((requests: ReadonlyArray<GetUser>) =>
    Effect.forEach(
      requests,
      (request) =>
        request.id === 50 ? Request.fail(request, "not found") : Request.succeed(request, `user ${request.id}`),
      { discard: true }
    ).pipe(Effect.zipLeft(Effect.sync(() => batches.push(requests.map((request) => request.id)))))
  )
  return { batches, resolver }
}

const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe("Cache.resolver", () => {
  it.scoped("100 concurrent requests with 30 hits reach the resolver as one batch of 70; a failure stays its own", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      yield* cache.setMany(ids(0, 30).map((id) => [`user:${id}`, `cached ${id}`] as const))
      const { batches, resolver } = users()
      const cached = Cache.resolver(resolver, { key: (request) => `user:${request.id}`, timeToLive: "1 minute" })
      const exits = yield* Effect.forEach(
        ids(0, 100),
        (id) => Effect.exit(Effect.request(new GetUser({ id }), cached)),
        {
          batching: true,
          concurrency: "unbounded"
        }
      )
      assert.strictEqual(batches.length, 1)
      assert.deepStrictEqual(batches[0], ids(30, 100))
      for (const id of ids(0, 100)) {
        const expected =
          id < 30
            ? Exit.succeed(`cached ${id}`)
            : id === 50
              ? Exit.fail("not found" as const)
              : Exit.succeed(`user ${id}`)
        assert.deepStrictEqual(exits[id], expected)
      }
      // What was found is stored; the failure is not.
      assert.deepStrictEqual(yield* cache.get("user:70"), CacheResult.hit("user 70"))
      assert.isFalse(yield* cache.has("user:50"))
      // Now everything but 50 is a hit.
      yield* Effect.forEach(ids(0, 100), (id) => Effect.exit(Effect.request(new GetUser({ id }), cached)), {
        batching: true,
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(batches[1], [50])
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("with a schema, values JSON cannot carry round-trip", () =>
    Effect.gen(function* () {
      class GetDate extends Request.TaggedClass("GetDate")<Date, never, { readonly day: number }> {}
      const calls: Array<number> = []
      const dates = RequestResolver.makeBatched((requests: ReadonlyArray<GetDate>) =>
        Effect.forEach(
          requests,
          (request) => {
            calls.push(request.day)
            return Request.succeed(request, new Date(Date.UTC(2026, 0, request.day)))
          },
          { discard: true }
        )
      )
      const cached = Cache.resolver(dates, { key: (request) => `day:${request.day}`, schema: Schema.Date })
      const first = yield* Effect.request(new GetDate({ day: 3 }), cached)
      const second = yield* Effect.request(new GetDate({ day: 3 }), cached)
      assert.deepStrictEqual(first, new Date(Date.UTC(2026, 0, 3)))
      assert.deepStrictEqual(second, first)
      assert.deepStrictEqual(calls, [3])
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped(
    "options an untyped caller got wrong, or a key function that throws, leave the cache out, not the requests",
    () =>
      Effect.gen(function* () {
        const cache = yield* Cache.Cache
        const untyped = <T>(value: unknown): T => value as T
        const throwing = (): string => {
          throw new Error("no key")
        }
        for (const options of [null, { key: "user" }, { key: throwing }]) {
          const { batches, resolver } = users()
          const cached = Cache.resolver(resolver, untyped<{ readonly key: (request: GetUser) => string }>(options))
          const exits = yield* Effect.forEach(
            ids(1, 4),
            (id) => Effect.exit(Effect.request(new GetUser({ id }), cached)),
            {
              batching: true
            }
          )
          assert.deepStrictEqual(exits, [Exit.succeed("user 1"), Exit.succeed("user 2"), Exit.succeed("user 3")])
          assert.deepStrictEqual(batches, [[1, 2, 3]])
        }
        assert.deepStrictEqual(yield* cache.getMany(["user:1", "user:2"]), [CacheResult.miss, CacheResult.miss])
      }).pipe(Effect.provide(MemoryCache.layer()))
  )
})
