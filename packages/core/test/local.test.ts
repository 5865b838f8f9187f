import type { Backend, Coherence, CoherenceRequest, Invalidation } from "@cachet/core/Backend"
import * as Cache from "@cachet/core/Cache"
import { CacheInvalidInputError } from "@cachet/core/CacheError"
import * as CacheResult from "@cachet/core/CacheResult"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { faulty, makeFaults, operationCount } from "./helpers.js"

const local = { capacity: 100, timeToLive: "1 minute" } as const

/** A memory cache with a local tier behind a call counter (and fault switch). */
const tiered = (options: Partial<Cache.Cache.LocalOptions> = {}, cacheOptions: Cache.Cache.Options = {}) =>
  Effect.gen(function* () {
    const faults = makeFaults()
    const backend = faulty(yield* MemoryCache.makeBackend(), faults)
    const cache = yield* Cache.make(backend, { ...cacheOptions, local: { ...local, ...options } })
    const reads = () =>
      (faults.calls.get("get") ?? 0) + (faults.calls.get("getWithTimeToLive") ?? 0) + (faults.calls.get("getMany") ?? 0)
    return { cache, backend, faults, reads }
  })

const hitValue = <A>(result: CacheResult.CacheResult<A>): A | undefined =>
  result._tag === "CacheHit" ? result.value : undefined

/** A backend that reports invalidations when the test says so, and whose reads wait for the test. */
const controlled = (inner: Backend) => {
  let receive: ((event: Invalidation) => void) | undefined
  const announced: Array<ReadonlyArray<string> | "all"> = []
  let gate: Deferred.Deferred<void> | undefined
  const backend: Backend = {
    ...inner,
    getWithTimeToLive: (key) =>
      gate === undefined
        ? inner.getWithTimeToLive(key)
        : Effect.zipRight(Deferred.await(gate), inner.getWithTimeToLive(key)),
    coherence: (request: CoherenceRequest) =>
      Effect.sync((): Coherence => {
        receive = request.receive
        return { mode: "bus", announce: (keys) => announced.push(keys) }
      })
  }
  return {
    backend,
    announced,
    emit: (event: Invalidation) => receive?.(event),
    hold: () =>
      Effect.map(Deferred.make<void>(), (deferred) => {
        gate = deferred
        return deferred
      }),
    release: () => {
      gate = undefined
    }
  }
}

describe("local tier", () => {
  it.scoped("1,000 local hits of a hot key read the backend once", () =>
    Effect.gen(function* () {
      const { cache, reads } = yield* tiered()
      yield* cache.set("hot", { n: 1 })
      const before = reads()
      for (let i = 0; i < 1000; i++) assert.deepStrictEqual(hitValue(yield* cache.get("hot")), { n: 1 })
      assert.strictEqual(reads() - before, 0)
    })
  )

  it.scoped("a value read from the backend is kept: the second get does not read it again", () =>
    Effect.gen(function* () {
      const { cache, backend, faults, reads } = yield* tiered()
      yield* backend.set("cachet:k", '"stored elsewhere"', undefined)
      assert.strictEqual(faults.calls.get("set"), 1)
      assert.strictEqual(hitValue(yield* cache.get("k")), "stored elsewhere")
      const once = reads()
      assert.strictEqual(hitValue(yield* cache.get("k")), "stored elsewhere")
      assert.strictEqual(reads(), once)
    })
  )

  it.scoped("TestClock drives the tier's time-to-live", () =>
    Effect.gen(function* () {
      const { cache, reads } = yield* tiered({ timeToLive: "10 seconds" })
      yield* cache.set("k", 1)
      yield* cache.get("k")
      const before = reads()
      yield* TestClock.adjust("9 seconds")
      yield* cache.get("k")
      assert.strictEqual(reads(), before)
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(hitValue(yield* cache.get("k")), 1)
      assert.strictEqual(reads(), before + 1)
    })
  )

  it.scopedLive("with Effect's live clock, an expired local entry is not served once the program moved on", () =>
    Effect.gen(function* () {
      const { cache, reads } = yield* tiered({ timeToLive: "30 millis" })
      yield* cache.set("k", 1)
      yield* cache.get("k")
      const before = reads()
      yield* cache.get("k")
      assert.strictEqual(reads(), before)
      yield* Effect.sleep("60 millis")
      assert.strictEqual(hitValue(yield* cache.get("k")), 1)
      assert.strictEqual(reads(), before + 1)
    })
  )

  it.scoped(
    "one backend key seen by two views (a namespace, and the service with the namespace's prefix in the key)",
    () =>
      Effect.gen(function* () {
        const { cache } = yield* tiered()
        const users = cache.namespace("users")
        yield* cache.set("users:k", 1)
        assert.strictEqual(hitValue(yield* cache.get("users:k")), 1)
        // A write through the namespace replaces what the service's view holds for the same backend key.
        yield* users.set("k", 2)
        assert.strictEqual(hitValue(yield* cache.get("users:k")), 2)
        assert.strictEqual(hitValue(yield* users.get("k")), 2)
        yield* users.delete("k")
        assert.isTrue(CacheResult.isMiss(yield* cache.get("users:k")))
        yield* cache.set("users:k", 3)
        assert.strictEqual(hitValue(yield* users.get("k")), 3)
        assert.strictEqual(hitValue(yield* cache.get("users:k")), 3)
      })
  )

  it.scoped("a local entry never outlives the backend entry's own time-to-live", () =>
    Effect.gen(function* () {
      const { cache, backend } = yield* tiered({ timeToLive: "1 hour" })
      yield* cache.set("written", 1, { timeToLive: "2 seconds" })
      yield* backend.set("cachet:read", "2", 2000)
      assert.strictEqual(hitValue(yield* cache.get("read")), 2)
      yield* TestClock.adjust("2001 millis")
      assert.isTrue(CacheResult.isMiss(yield* cache.get("written")))
      assert.isTrue(CacheResult.isMiss(yield* cache.get("read")))
    })
  )

  it.scoped("own writes update or drop the local entry at once", () =>
    Effect.gen(function* () {
      const { cache, reads } = yield* tiered()
      yield* cache.set("k", 1)
      yield* cache.set("k", 2)
      const before = reads()
      assert.strictEqual(hitValue(yield* cache.get("k")), 2)
      assert.strictEqual(reads(), before, "a write keeps its value locally")
      yield* cache.setMany([
        ["a", 1],
        ["b", 2]
      ])
      assert.deepStrictEqual((yield* cache.getMany(["a", "b"])).map(hitValue), [1, 2])
      assert.strictEqual(reads(), before)
      yield* cache.delete("k")
      assert.isTrue(CacheResult.isMiss(yield* cache.get("k")))
      yield* cache.set("n", 1)
      yield* cache.increment("n", 4)
      assert.strictEqual(hitValue(yield* cache.get("n")), 5)
      yield* cache.expire("a", 0)
      assert.isTrue(CacheResult.isMiss(yield* cache.get("a")))
      yield* cache.clear()
      assert.isTrue(CacheResult.isMiss(yield* cache.get("b")))
      yield* cache.set("p", 1)
      yield* cache.deletePattern("p*")
      assert.isTrue(CacheResult.isMiss(yield* cache.get("p")))
    })
  )

  it.scoped("a failed write drops the local entry", () =>
    Effect.gen(function* () {
      const { cache, faults, reads } = yield* tiered()
      yield* cache.set("k", 1)
      faults.failNext = 1
      assert.isTrue(Exit.isFailure(yield* Effect.exit(cache.set("k", 2))))
      const before = reads()
      assert.strictEqual(hitValue(yield* cache.get("k")), 1)
      assert.strictEqual(reads(), before + 1, "the next read asks the backend")
    })
  )

  it.scoped("overlapping own writes of a key: once one returns, the value from before it is never served", () =>
    Effect.gen(function* () {
      const inner = yield* MemoryCache.makeBackend()
      const gates: Array<Deferred.Deferred<void>> = []
      const backend: Backend = {
        ...inner,
        set: (key, value, timeToLive) =>
          Effect.suspend(() => {
            const gate = gates.shift()
            const write = inner.set(key, value, timeToLive)
            return gate === undefined ? write : Effect.zipRight(Deferred.await(gate), write)
          })
      }
      const cache = yield* Cache.make(backend, { local })
      yield* cache.set("k", 1)
      assert.strictEqual(hitValue(yield* cache.get("k")), 1)
      const first = yield* Deferred.make<void>()
      const second = yield* Deferred.make<void>()
      gates.push(first, second)
      const one = yield* Effect.fork(cache.set("k", 2))
      const two = yield* Effect.fork(cache.set("k", 3))
      yield* Effect.yieldNow()
      // Both in flight: neither has happened yet for any caller, so the value held is still an answer.
      assert.strictEqual(hitValue(yield* cache.get("k")), 1)
      yield* Deferred.succeed(first, undefined)
      yield* Fiber.join(one)
      assert.strictEqual(hitValue(yield* cache.get("k")), 2)
      yield* Deferred.succeed(second, undefined)
      yield* Fiber.join(two)
      assert.strictEqual(hitValue(yield* cache.get("k")), 3)
    })
  )

  it.scoped("the tier never holds more than capacity entries or maxBytes", () =>
    Effect.gen(function* () {
      const { cache, reads } = yield* tiered({ capacity: 10 })
      for (let i = 0; i < 100; i++) yield* cache.set(`k${i}`, i)
      const before = reads()
      for (let i = 0; i < 100; i++) yield* cache.get(`k${i}`)
      assert.isAtLeast(reads() - before, 90, "at most 10 entries were held")
      // Each value encodes to 12 bytes ("xxxxxxxxxx" with its quotes): 100 bytes hold 8 of them.
      const bounded = yield* tiered({ capacity: 1000, maxBytes: 100 })
      for (let i = 0; i < 50; i++) yield* bounded.cache.set(`k${i}`, "x".repeat(10))
      const start = bounded.reads()
      for (let i = 0; i < 50; i++) yield* bounded.cache.get(`k${i}`)
      assert.isAtLeast(bounded.reads() - start, 42)
    })
  )

  it.scoped("the least recently used entry goes first", () =>
    Effect.gen(function* () {
      const { cache, reads } = yield* tiered({ capacity: 4 })
      for (const key of ["a", "b", "c", "d"]) yield* cache.set(key, key)
      // "a" is read often while others arrive: it stays.
      for (const key of ["e", "f", "g", "h", "i", "j"]) {
        yield* cache.get("a")
        yield* cache.set(key, key)
      }
      const before = reads()
      yield* cache.get("a")
      assert.strictEqual(reads(), before)
    })
  )

  it.scoped("a value read through a schema view is never handed to another view", () =>
    Effect.gen(function* () {
      const { cache } = yield* tiered()
      const Celsius = Schema.Struct({ degrees: Schema.Number })
      const Doubled = Schema.transform(Schema.Struct({ degrees: Schema.Number }), Schema.Number, {
        strict: true,
        decode: (input) => input.degrees * 2,
        encode: (n) => ({ degrees: n / 2 })
      })
      yield* cache.set("t", { degrees: 21 })
      const typed = yield* cache.forSchema(Celsius).get("t")
      const doubled = yield* cache.forSchema(Doubled).get("t")
      const plain = yield* cache.get("t")
      assert.deepStrictEqual(hitValue(typed), { degrees: 21 })
      assert.strictEqual(hitValue(doubled), 42)
      assert.deepStrictEqual(hitValue(plain), { degrees: 21 })
      assert.notStrictEqual(hitValue(typed), hitValue(plain))
      // And again, each from its own view.
      assert.strictEqual(hitValue(yield* cache.forSchema(Doubled).get("t")), 42)
      assert.deepStrictEqual(hitValue(yield* cache.forSchema(Celsius).get("t")), { degrees: 21 })
    })
  )

  it.scoped("getOrSet works through the tier: one lookup, then local hits", () =>
    Effect.gen(function* () {
      const { cache: root, reads } = yield* tiered()
      const cache = root.namespace("looked")
      let lookups = 0
      const lookup = Effect.sync(() => ++lookups)
      const answers = yield* Effect.all(
        Array.from({ length: 10 }, () => cache.getOrSet("g", lookup, { timeToLive: "1 minute" })),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(answers, Array(10).fill(1))
      assert.strictEqual(lookups, 1)
      const before = reads()
      const hits = yield* operationCount("looked", "getOrSet", "hit", "local")
      assert.strictEqual(yield* cache.getOrSet("g", lookup, { timeToLive: "1 minute" }), 1)
      assert.strictEqual(reads(), before)
      assert.strictEqual(yield* operationCount("looked", "getOrSet", "hit", "local"), hits + 1)
    })
  )

  it.scoped("a stale local value is served under staleWhileRevalidate while one refresh replaces it", () =>
    Effect.gen(function* () {
      const { cache } = yield* tiered()
      let lookups = 0
      const options = { timeToLive: "1 second", staleWhileRevalidate: "1 minute" } as const
      const lookup = Effect.sync(() => ++lookups)
      assert.strictEqual(yield* cache.getOrSet("s", lookup, options), 1)
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* cache.getOrSet("s", lookup, options), 1)
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* cache.getOrSet("s", lookup, options), 2)
      assert.strictEqual(lookups, 2)
    })
  )

  it.scoped("freeze: a shared value cannot be changed by one of its readers", () =>
    Effect.gen(function* () {
      const { cache } = yield* tiered({ freeze: true })
      yield* cache.set("f", { list: [1, 2] })
      const value = hitValue(yield* cache.get("f"))
      assert.isTrue(Object.isFrozen(value))
      assert.throws(() => {
        if (typeof value === "object" && value !== null && "list" in value && Array.isArray(value.list)) {
          value.list.push(3)
        }
      }, TypeError)
    })
  )

  it.scoped("a reply that raced an invalidation of its key is served, not kept", () =>
    Effect.gen(function* () {
      const control = controlled(yield* MemoryCache.makeBackend())
      const cache = yield* Cache.make(control.backend, { local })
      yield* control.backend.set("cachet:r", "1", undefined)
      const gate = yield* control.hold()
      const reading = yield* Effect.fork(cache.get("r"))
      yield* Effect.yieldNow()
      // Another process writes the key between the read's request and its reply.
      control.emit({ _tag: "Keys", keys: ["cachet:r"] })
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(hitValue(yield* Fiber.join(reading)), 1)
      control.release()
      yield* control.backend.set("cachet:r", "2", undefined)
      assert.strictEqual(hitValue(yield* cache.get("r")), 2, "the raced reply was not kept")
    })
  )

  it.scoped("a read begun while an own write is in flight, answering after the write, is not kept over it", () =>
    Effect.gen(function* () {
      const inner = yield* MemoryCache.makeBackend()
      let writeGate: Deferred.Deferred<void> | undefined
      let readGate: Deferred.Deferred<void> | undefined
      // Writes wait for the test before they land; reads read at once and answer when the test says (a backend
      // that may answer a later read with an older value).
      const backend: Backend = {
        ...inner,
        set: (key, value, timeToLive) =>
          Effect.suspend(() => {
            const gate = writeGate
            return gate === undefined
              ? inner.set(key, value, timeToLive)
              : Effect.zipRight(Deferred.await(gate), inner.set(key, value, timeToLive))
          }),
        getWithTimeToLive: (key) =>
          Effect.flatMap(inner.getWithTimeToLive(key), (answer) =>
            readGate === undefined ? Effect.succeed(answer) : Effect.as(Deferred.await(readGate), answer)
          )
      }
      const cache = yield* Cache.make(backend, { local })
      yield* inner.set("cachet:k", "1", undefined)
      writeGate = yield* Deferred.make<void>()
      const writing = yield* Effect.fork(cache.set("k", 2))
      yield* Effect.yieldNow()
      readGate = yield* Deferred.make<void>()
      const reading = yield* Effect.fork(cache.get("k"))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(writeGate, undefined)
      yield* Fiber.join(writing)
      assert.strictEqual(hitValue(yield* cache.get("k")), 2)
      yield* Deferred.succeed(readGate, undefined)
      // The read's answer is the value it read, older than the write: served to its caller, not kept.
      assert.strictEqual(hitValue(yield* Fiber.join(reading)), 1)
      writeGate = undefined
      readGate = undefined
      assert.strictEqual(hitValue(yield* cache.get("k")), 2)
    })
  )

  it.scoped("a reply that raced one of this process's own writes of its key is not kept", () =>
    Effect.gen(function* () {
      const control = controlled(yield* MemoryCache.makeBackend())
      const cache = yield* Cache.make(control.backend, { local })
      yield* control.backend.set("cachet:w", "1", undefined)
      const gate = yield* control.hold()
      const reading = yield* Effect.fork(cache.get("w"))
      yield* Effect.yieldNow()
      control.release()
      yield* cache.delete("w")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(reading)
      assert.isTrue(CacheResult.isMiss(yield* cache.get("w")))
    })
  )

  it.scoped("invalidations, flushes and lost coherence reach the tier", () =>
    Effect.gen(function* () {
      const control = controlled(yield* MemoryCache.makeBackend())
      const cache = yield* Cache.make(control.backend, { local })
      yield* cache.set("a", 1)
      yield* cache.set("b", 1)
      // Changed behind the tier's back, then reported.
      yield* control.backend.set("cachet:a", "2", undefined)
      yield* control.backend.set("cachet:b", "2", undefined)
      assert.strictEqual(hitValue(yield* cache.get("a")), 1)
      control.emit({ _tag: "Keys", keys: ["cachet:a"] })
      assert.strictEqual(hitValue(yield* cache.get("a")), 2)
      assert.strictEqual(hitValue(yield* cache.get("b")), 1)
      control.emit({ _tag: "Flush", reason: "flushed" })
      assert.strictEqual(hitValue(yield* cache.get("b")), 2)
      // While coherence is lost nothing is served from the tier nor kept in it.
      control.emit({ _tag: "Lost", reason: "disconnected" })
      yield* control.backend.set("cachet:b", "3", undefined)
      assert.strictEqual(hitValue(yield* cache.get("b")), 3)
      yield* control.backend.set("cachet:b", "4", undefined)
      assert.strictEqual(hitValue(yield* cache.get("b")), 4)
      control.emit({ _tag: "Restored", reason: "disconnected" })
      assert.strictEqual(hitValue(yield* cache.get("b")), 4)
      const flushes = (yield* Cache.metricsSnapshot).filter((row) => row.name === "cachet_local_flushes_total")
      assert.includeMembers(
        flushes.map((row) => row.labels.reason),
        ["flushed", "disconnected"]
      )
    })
  )

  it.scoped("one clear or deletePattern is one flush of the tier, counted once", () =>
    Effect.gen(function* () {
      const { cache } = yield* tiered()
      const cleared = Effect.map(Cache.metricsSnapshot, (rows) =>
        rows
          .filter((row) => row.name === "cachet_local_flushes_total" && row.labels.reason === "cleared")
          .reduce((sum, row) => sum + row.value, 0)
      )
      const before = yield* cleared
      yield* cache.set("a", 1)
      yield* cache.clear()
      assert.strictEqual((yield* cleared) - before, 1)
      yield* cache.deletePattern("a*")
      assert.strictEqual((yield* cleared) - before, 2)
    })
  )

  it.scoped("own writes are announced to other processes", () =>
    Effect.gen(function* () {
      const control = controlled(yield* MemoryCache.makeBackend())
      const cache = yield* Cache.make(control.backend, { local })
      yield* cache.set("a", 1)
      yield* cache.namespace("ns").delete("b")
      yield* cache.clear()
      assert.deepStrictEqual(control.announced, [["cachet:a"], ["cachet:ns:b"], "all"])
    })
  )

  it.scoped("local hits are counted with tier local", () =>
    Effect.gen(function* () {
      const { cache } = yield* tiered()
      const view = cache.namespace("counted")
      yield* view.set("k", 1)
      yield* view.get("k")
      yield* view.get("k")
      yield* view.get("absent")
      assert.strictEqual(yield* operationCount("counted", "get", "hit", "local"), 2)
      assert.strictEqual(yield* operationCount("counted", "get", "miss", "remote"), 1)
      // A getMany the tier answers whole is the tier's; one that reads a key from the backend is remote.
      yield* view.set("j", 2)
      assert.deepStrictEqual(yield* view.getMany(["k", "j"]), [CacheResult.hit(1), CacheResult.hit(2)])
      assert.deepStrictEqual(yield* view.getMany(["k", "absent"]), [CacheResult.hit(1), CacheResult.miss])
      assert.strictEqual(yield* operationCount("counted", "getMany", "hit", "local"), 1)
      assert.strictEqual(yield* operationCount("counted", "getMany", "hit", "remote"), 1)
      // getOrSetMany alike; its lookup runs only for a key the tier and the backend lack.
      const lookup = (keys: ReadonlyArray<string>) => Effect.succeed(keys.map(() => 9))
      assert.deepStrictEqual(yield* view.getOrSetMany(["j", "k", "j"], lookup), [2, 1, 2])
      assert.deepStrictEqual(yield* view.getOrSetMany(["k", "new"], lookup), [1, 9])
      assert.strictEqual(yield* operationCount("counted", "getOrSetMany", "hit", "local"), 1)
    })
  )

  describe("bad options fail the layer with CacheInvalidInputError", () => {
    const cases: ReadonlyArray<readonly [string, unknown]> = [
      ["capacity 0", { capacity: 0, timeToLive: "1 minute" }],
      ["capacity 1.5", { capacity: 1.5, timeToLive: "1 minute" }],
      ["capacity as text", { capacity: "10", timeToLive: "1 minute" }],
      ["negative maxBytes", { capacity: 10, maxBytes: -1, timeToLive: "1 minute" }],
      ["negative timeToLive", { capacity: 10, timeToLive: -1 }],
      ["infinite timeToLive", { capacity: 10, timeToLive: Number.POSITIVE_INFINITY }],
      ["no timeToLive", { capacity: 10 }],
      ["unknown invalidation", { capacity: 10, timeToLive: "1 minute", invalidation: "gossip" }],
      ["tracking on memory", { capacity: 10, timeToLive: "1 minute", invalidation: "tracking" }],
      ["not an object", 10]
    ]
    for (const [name, input] of cases) {
      it.effect(name, () =>
        Effect.gen(function* () {
          // As a JavaScript caller would pass it.
          const options = { local: input } as unknown as Cache.Cache.Options
          const exit = yield* Effect.exit(Effect.scoped(MemoryCache.make(options)))
          assert.isTrue(Exit.isFailure(exit))
          if (Exit.isFailure(exit)) {
            const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
            assert.instanceOf(error, CacheInvalidInputError)
          }
        })
      )
    }
  })
})
