import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, TestClock } from "effect"
import { MemoryCache } from "../src/index.js"
import * as Integer from "../src/internal/integer.js"

const MAX = 9223372036854775807n
const MIN = -9223372036854775808n

const int64 = FastCheck.bigInt({ min: MIN, max: MAX })
// Values near the bounds, where overflow happens, are rare among uniform 64-bit draws.
const edgy = FastCheck.oneof(
  int64,
  FastCheck.bigInt({ min: MAX - 1000n, max: MAX }),
  FastCheck.bigInt({ min: MIN, max: MIN + 1000n }),
  FastCheck.bigInt({ min: -1000n, max: 1000n })
)

const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.flip(effect)

describe("increment", () => {
  it.effect.prop("agrees with exact BigInt arithmetic, failing with OVERFLOW outside 64 bits", [edgy, edgy], ([a, b]) =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      yield* backend.set("n", a.toString(), undefined)
      const sum = a + b
      if (sum >= MIN && sum <= MAX) {
        expect(yield* backend.increment("n", b)).toBe(sum)
        expect(yield* backend.get("n")).toBe(sum.toString())
      } else {
        const error = yield* failure(backend.increment("n", b))
        expect(error).toMatchObject({ _tag: "CacheCommandError", code: "OVERFLOW", operation: "increment" })
        expect(yield* backend.get("n")).toBe(a.toString())
      }
    })
  )

  it.effect("fails exactly at the signed 64-bit bounds", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      yield* backend.set("max", (MAX - 1n).toString(), undefined)
      expect(yield* backend.increment("max", 1n)).toBe(MAX)
      expect(yield* failure(backend.increment("max", 1n))).toMatchObject({ code: "OVERFLOW" })
      expect(yield* backend.get("max")).toBe(MAX.toString())

      yield* backend.set("min", (MIN + 1n).toString(), undefined)
      expect(yield* backend.increment("min", -1n)).toBe(MIN)
      expect(yield* failure(backend.increment("min", -1n))).toMatchObject({ code: "OVERFLOW" })
      expect(yield* backend.increment("min", MAX)).toBe(-1n)

      expect(yield* backend.increment("fresh", MIN)).toBe(MIN)
      expect(yield* failure(backend.increment("fresh", -1n))).toMatchObject({ code: "OVERFLOW" })
    })
  )

  it.effect("counts an absent key as 0 and stores the decimal string", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      expect(yield* backend.increment("absent", 5n)).toBe(5n)
      expect(yield* backend.increment("absent", -7n)).toBe(-2n)
      expect(yield* backend.get("absent")).toBe("-2")
      expect(yield* backend.timeToLive("absent")).toBe(-1)
    })
  )

  it.effect("refuses an increment outside 64 bits as NOT_INTEGER, as Redis refuses the argument", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      expect(yield* failure(backend.increment("k", MAX + 1n))).toMatchObject({ code: "NOT_INTEGER" })
      expect(yield* failure(backend.increment("k", MIN - 1n))).toMatchObject({ code: "NOT_INTEGER" })
      expect(yield* backend.has("k")).toBe(false)
    })
  )

  const notIntegers = [
    "",
    "01",
    "00",
    " 1",
    "1 ",
    "1.0",
    "+1",
    "-0",
    "-",
    "--1",
    "1e3",
    "0x10",
    "1\n",
    "１",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999",
    '"1"',
    "abc"
  ]
  it.effect.each(notIntegers)("%j is not an integer", (text) =>
    Effect.gen(function* () {
      expect(Integer.parse(text)).toBeUndefined()
      const backend = yield* MemoryCache.makeBackend()
      yield* backend.set("k", text, undefined)
      const error = yield* failure(backend.increment("k", 1n))
      expect(error).toMatchObject({ _tag: "CacheCommandError", code: "NOT_INTEGER", key: "k" })
      expect(yield* backend.get("k")).toBe(text)
    })
  )

  const integers: ReadonlyArray<readonly [string, bigint]> = [
    ["0", 0n],
    ["7", 7n],
    ["-7", -7n],
    ["10", 10n],
    ["9223372036854775807", MAX],
    ["-9223372036854775808", MIN]
  ]
  it.effect.each(integers)("%j is an integer", ([text, value]) =>
    Effect.gen(function* () {
      expect(Integer.parse(text)).toBe(value)
      const backend = yield* MemoryCache.makeBackend()
      yield* backend.set("k", text, undefined)
      expect(yield* backend.increment("k", 0n)).toBe(value)
    })
  )

  it.effect("keeps the key's time-to-live", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      yield* backend.set("k", "1", 1000)
      yield* TestClock.adjust(400)
      expect(yield* backend.increment("k", 1n)).toBe(2n)
      expect(yield* backend.timeToLive("k")).toBe(600)
      yield* TestClock.adjust(601)
      expect(yield* backend.get("k")).toBeUndefined()
      // The expired counter starts again from 0, without an expiry.
      expect(yield* backend.increment("k", 1n)).toBe(1n)
      expect(yield* backend.timeToLive("k")).toBe(-1)
    })
  )
})
