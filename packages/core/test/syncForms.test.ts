/**
 * The memory backend is synchronous (`Backend.fromSync`): the core runs its operations inside one step of its own
 * instead of running the backend's Effects. These tests hold that path to what the Effect path does:
 * errors and their labels, metrics, spans, expiry under TestClock, and wrappers that replace an operation.
 */
import { Cache, CacheError, CacheResult } from "@cachet/core"
import type { Backend } from "@cachet/core/Backend"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import { operationCount } from "./helpers.js"

const uniqueNamespace = (name: string) => `${name}-${Math.random().toString(36).slice(2)}`

interface Ended {
  readonly name: string
  readonly failed: boolean
}

/** Effect's own tracer, recording every span when it ends and whether it ended in failure. */
const recording = Effect.map(Effect.tracer, (inner) => {
  const ended: Array<Ended> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = inner.span(name, parent, context, links, startTime, kind, options)
      const end = span.end.bind(span)
      return Object.assign(span, {
        end: (endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
          ended.push({ name, failed: Exit.isFailure(exit) })
          end(endTime, exit)
        }
      })
    },
    context: (f, fiber) => inner.context(f, fiber)
  })
  return { ended, tracer }
})

describe("synchronous backends", () => {
  it.effect("a synchronous backend's Effects read the store when they run, not when they are built", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const read = backend.get("a")
      const readMany = backend.getMany(["a", "b"])
      const remove = backend.delete(["a", "b"])
      yield* backend.set("a", "1", undefined)
      assert.strictEqual(yield* read, "1")
      assert.deepStrictEqual(yield* readMany, ["1", undefined])
      assert.strictEqual(yield* remove, 1)
      assert.isUndefined(yield* read)
      assert.strictEqual(yield* remove, 0)
    })
  )

  it.scoped("errors are labelled with the caller's view and counted, as on the Effect path", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const namespace = uniqueNamespace("sync-errors")
      const cache = (yield* Cache.make(backend, { prefix: "app:" })).namespace(namespace)
      // A foreign writer left bytes that are not JSON.
      yield* backend.set(`app:${namespace}:bad`, "{not json", undefined)
      yield* cache.set("good", 1)

      const decode = yield* Effect.flip(cache.get("bad"))
      assert.deepInclude(decode, { _tag: "CacheDecodeError", operation: "get", key: "bad", code: "MALFORMED" })
      const many = yield* Effect.flip(cache.getMany(["good", "bad"]))
      assert.deepInclude(many, { _tag: "CacheDecodeError", operation: "getMany", key: undefined })
      const ttl = yield* Effect.flip(cache.set("k", 1, { timeToLive: -1 }))
      assert.deepInclude(ttl, { _tag: "CacheInvalidInputError", operation: "set", key: "k" })
      const jitter = yield* Effect.flip(cache.set("k", 1, { timeToLiveJitter: Number.NaN }))
      assert.deepInclude(jitter, { _tag: "CacheInvalidInputError", code: "INVALID_TIME_TO_LIVE" })
      const encode = yield* Effect.flip(cache.set("k", 1n))
      assert.deepInclude(encode, { _tag: "CacheEncodeError", operation: "set", key: "k" })
      assert.isTrue(CacheError.isCacheError(encode))

      assert.strictEqual(yield* operationCount(namespace, "get", "error"), 1)
      assert.strictEqual(yield* operationCount(namespace, "getMany", "error"), 1)
      assert.strictEqual(yield* operationCount(namespace, "set", "error"), 3)
      assert.strictEqual(yield* operationCount(namespace, "set", "ok"), 1)
      // Nothing was written by the refused writes.
      assert.isFalse(yield* cache.has("k"))
    })
  )

  it.scoped("a zero time-to-live removes the key; expiry follows the TestClock", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.make(yield* MemoryCache.makeBackend())
      yield* cache.set("gone", 1)
      yield* cache.set("gone", 2, { timeToLive: 0 })
      assert.deepStrictEqual(yield* cache.get("gone"), CacheResult.miss)

      yield* cache.set("brief", "x", { timeToLive: "1 second" })
      assert.deepStrictEqual(yield* cache.getMany(["brief"]), [CacheResult.hit("x")])
      yield* TestClock.adjust("1001 millis")
      assert.deepStrictEqual(yield* cache.get("brief"), CacheResult.miss)
      assert.deepStrictEqual(yield* cache.getMany(["brief"]), [CacheResult.miss])
    })
  )

  it.scoped("inside a trace each operation is a span, ended with its outcome; outside a trace none", () =>
    Effect.gen(function* () {
      const { ended, tracer } = yield* recording
      const backend = yield* MemoryCache.makeBackend()
      const cache = yield* Cache.make(backend)
      yield* backend.set("cachet:bad", "{not json", undefined)

      yield* Effect.all([cache.set("k", 1), cache.get("k"), cache.getMany(["k"])]).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(ended, [])

      const traced = Effect.all([
        cache.set("k", 1),
        cache.get("k"),
        cache.getMany(["k"]),
        Effect.flip(cache.get("bad"))
      ])
      yield* Effect.withSpan(traced, "request").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(ended, [
        { name: "cachet.set", failed: false },
        { name: "cachet.get", failed: false },
        { name: "cachet.getMany", failed: false },
        { name: "cachet.get", failed: true },
        { name: "request", failed: false }
      ])
    })
  )

  it.scoped("a wrapper that replaces an operation is the one that runs", () =>
    Effect.gen(function* () {
      const inner = yield* MemoryCache.makeBackend()
      const refused = new CacheError.CacheUnavailableError({ operation: "get", code: "CONNECTION_REFUSED" })
      const wrapped: Backend = {
        ...inner,
        get: () => Effect.fail(refused),
        set: (key, value, timeToLive) =>
          inner.set(key, typeof value === "string" ? value.toUpperCase() : value, timeToLive)
      }
      const cache = yield* Cache.make(wrapped)
      yield* cache.set("k", "lower")
      assert.deepStrictEqual(yield* cache.getMany(["k"]), [CacheResult.hit("LOWER")])
      const error = yield* Effect.flip(cache.get("k"))
      assert.deepInclude(error, { _tag: "CacheUnavailableError", operation: "get", key: "k" })
    })
  )

  it.scoped("deletePattern and clear use the backend's deleteMatching when it has one", () =>
    Effect.gen(function* () {
      const inner = yield* MemoryCache.makeBackend()
      const patterns: Array<string> = []
      const cache = yield* Cache.make(
        {
          ...inner,
          deleteMatching: (pattern) =>
            Effect.sync(() => {
              patterns.push(pattern)
              return 7
            })
        },
        { prefix: "a*b:" }
      )
      assert.strictEqual(yield* cache.deletePattern("user:*"), 7)
      assert.strictEqual(yield* cache.clear(), 7)
      assert.deepStrictEqual(patterns, ["a\\*b:user:*", "a\\*b:*"])
    })
  )
})
