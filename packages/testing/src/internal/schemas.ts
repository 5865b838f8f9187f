/**
 * Values: typed views (`forSchema`), decode and encode failures, the JSON codec's limits.
 *
 * @internal
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import {
  cacheError,
  collectKeys,
  expectHit,
  expectMiss,
  expectRemaining,
  type Harness,
  hitValue,
  longTimeToLive
} from "./harness.js"

class User extends Schema.Class<User>("@cachet/testing/User")({
  name: Schema.String,
  born: Schema.Date,
  visits: Schema.BigInt,
  nickname: Schema.Option(Schema.String)
}) {
  get greeting(): string {
    return `Hello, ${this.name}`
  }
}

const ada = new User({
  name: "Ada",
  born: new Date("1815-12-10T00:00:00.000Z"),
  visits: 2n ** 70n,
  nickname: Option.some("Countess")
})

const Struct = Schema.Struct({
  at: Schema.Date,
  big: Schema.BigInt,
  maybe: Schema.Option(Schema.Number),
  list: Schema.Array(Schema.String)
})

const Named = Schema.Struct({ name: Schema.String })

class Point {
  constructor(
    readonly x: number,
    readonly y: number
  ) {}
}

const Positive = Schema.Number.pipe(Schema.positive())

/** @internal */
export const schemas = ({ test }: Harness): void => {
  describe("forSchema", () => {
    test("Date round-trips", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Schema.Date)
        const date = new Date("2024-02-29T12:34:56.789Z")
        yield* view.set("k", date)
        const read = hitValue(yield* view.get("k"))
        assert.instanceOf(read, Date)
        assert.strictEqual(read.getTime(), date.getTime())
      }))

    test("BigInt round-trips beyond 64 bits", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Schema.BigInt)
        yield* view.set("k", -(2n ** 100n) + 1n)
        assert.strictEqual(hitValue(yield* view.get("k")), -(2n ** 100n) + 1n)
      }))

    test("Option round-trips, and a cached none is a hit", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Schema.Option(Schema.Number))
        yield* view.set("some", Option.some(1))
        yield* view.set("none", Option.none())
        assert.isTrue(Equal.equals(hitValue(yield* view.get("some")), Option.some(1)))
        assert.isTrue(Equal.equals(hitValue(yield* view.get("none")), Option.none()))
        expectMiss(yield* view.get("absent"))
      }))

    test("a Schema.Class round-trips as an instance", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(User)
        yield* view.set("ada", ada)
        const read = hitValue(yield* view.get("ada"))
        assert.instanceOf(read, User)
        assert.strictEqual(read.greeting, "Hello, Ada")
        assert.strictEqual(read.born.getTime(), ada.born.getTime())
        assert.strictEqual(read.visits, 2n ** 70n)
        assert.isTrue(Equal.equals(read.nickname, Option.some("Countess")))
      }))

    test("a struct of Date, BigInt, Option and arrays round-trips", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Struct)
        const value = { at: new Date(0), big: 12345678901234567890n, maybe: Option.none(), list: ["a", "b"] }
        yield* view.set("k", value)
        const read = hitValue(yield* view.get("k"))
        assert.strictEqual(read.at.getTime(), 0)
        assert.strictEqual(read.big, 12345678901234567890n)
        assert.isTrue(Option.isNone(read.maybe))
        assert.deepStrictEqual(read.list, ["a", "b"])
      }))

    test("stores the schema's encoded form as plain JSON, without an envelope", ({ ns }) =>
      Effect.gen(function* () {
        const value = { at: new Date(0), big: 5n, maybe: Option.some(1.5), list: [] }
        yield* ns.forSchema(Struct).set("k", value)
        expectHit(yield* ns.get("k"), Schema.encodeSync(Struct)(value))
      }))

    test("every operation of a typed view works", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Schema.Date).namespace("dates")
        assert.strictEqual(view.prefix, `${ns.prefix}dates:`)
        yield* view.setMany(
          [
            ["a", new Date(1)],
            ["b", new Date(2)]
          ],
          { timeToLive: longTimeToLive }
        )
        assert.isTrue(yield* view.add("c", new Date(3)))
        assert.isFalse(yield* view.add("c", new Date(4)))
        const [a, missing, c] = yield* view.getMany(["a", "missing", "c"])
        assert.strictEqual(hitValue(a ?? assert.fail("no result")).getTime(), 1)
        expectMiss(missing ?? assert.fail("no result"))
        assert.strictEqual(hitValue(c ?? assert.fail("no result")).getTime(), 3)
        expectRemaining(yield* view.timeToLive("b"), longTimeToLive)
        assert.isTrue(yield* view.persist("b"))
        assert.isTrue(yield* view.expire("b", longTimeToLive))
        assert.isTrue(yield* view.has("b"))
        assert.deepStrictEqual(yield* collectKeys(view.keys()), ["a", "b", "c"])
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["dates:a", "dates:b", "dates:c"])
        const looked = yield* view.getOrSet("d", Effect.succeed(new Date(4)))
        assert.strictEqual(looked.getTime(), 4)
        assert.strictEqual(hitValue(yield* view.get("d")).getTime(), 4)
        assert.isTrue(yield* view.delete("a"))
        assert.strictEqual(yield* view.deleteMany(["b", "c"]), 2)
        assert.strictEqual(yield* view.deletePattern("*"), 1)
        assert.strictEqual(yield* view.clear(), 0)
      }))

    test("a stored value that does not match the schema fails the read with CacheDecodeError", ({ ns, secret }) =>
      Effect.gen(function* () {
        yield* ns.set("k", { name: 42, secret })
        yield* ns.set("ok", { name: "Ada" })
        const view = ns.forSchema(Named)
        yield* cacheError(view.get("k"), "CacheDecodeError", ["SCHEMA_MISMATCH"], [secret])
        yield* cacheError(view.getMany(["ok", "k"]), "CacheDecodeError", ["SCHEMA_MISMATCH"], [secret])
        expectHit(yield* view.get("ok"), { name: "Ada" })
        // The failed read changed nothing.
        expectHit(yield* ns.get("k"), { name: 42, secret })
      }))

    test("a value the schema cannot encode fails with CacheEncodeError and writes nothing", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Positive)
        yield* view.set("existing", 1)
        yield* cacheError(view.set("k", -1), "CacheEncodeError", ["SCHEMA_ENCODE_FAILED"])
        yield* cacheError(view.set("existing", -1), "CacheEncodeError", ["SCHEMA_ENCODE_FAILED"])
        yield* cacheError(view.add("added", -1), "CacheEncodeError", ["SCHEMA_ENCODE_FAILED"])
        yield* cacheError(
          view.setMany([
            ["many", 2],
            ["bad", -2]
          ]),
          "CacheEncodeError",
          ["SCHEMA_ENCODE_FAILED"]
        )
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["existing"])
        expectHit(yield* view.get("existing"), 1)
      }))
  })

  describe("JSON codec", () => {
    test("a BigInt that would not read back as one (nested, or within ±(2^53 - 1)) fails with CacheEncodeError, writes nothing and keeps the previous value", ({
      ns,
      secret
    }) =>
      Effect.gen(function* () {
        yield* ns.set("existing", "previous")
        yield* cacheError(ns.set("k", 1n), "CacheEncodeError", ["UNSUPPORTED_VALUE"])
        yield* cacheError(
          ns.set("existing", { secret, deep: [1n] }),
          "CacheEncodeError",
          ["UNSUPPORTED_VALUE"],
          [secret]
        )
        assert.isFalse(yield* ns.has("k"))
        expectHit(yield* ns.get("existing"), "previous")
      }))

    test("a value JSON would hand back changed (Date, Map, Set, class instance, function, NaN), at any depth, fails with CacheEncodeError and writes nothing", ({
      ns,
      secret
    }) =>
      Effect.gen(function* () {
        const changed: ReadonlyArray<readonly [string, unknown]> = [
          ["date", new Date(0)],
          ["map", new Map([["a", 1]])],
          ["set", new Set([1])],
          ["instance", new Point(1, 2)],
          ["in an object", { secret, at: new Date(0) }],
          ["in an array", [secret, new Map()]],
          ["deep", { list: [{ tags: new Set(["a"]) }] }],
          ["instance inside", { secret, where: [new Point(0, 0)] }],
          ["function property", { secret, f: () => 1 }],
          ["symbol property", { secret, s: Symbol("s") }],
          ["nested NaN", { n: [1, Number.NaN] }],
          ["undefined in an array", [1, undefined]],
          ["own __proto__", JSON.parse('{"__proto__": {"isAdmin": true}}')]
        ]
        yield* ns.set("existing", "previous")
        for (const [what, value] of changed) {
          yield* cacheError(ns.set(what, value), "CacheEncodeError", ["UNSUPPORTED_VALUE"], [secret])
          yield* cacheError(ns.set("existing", value), "CacheEncodeError", ["UNSUPPORTED_VALUE"], [secret])
          yield* cacheError(ns.add(what, value), "CacheEncodeError", ["UNSUPPORTED_VALUE"], [secret])
          yield* cacheError(
            ns.setMany([
              ["many", 1],
              [what, value]
            ]),
            "CacheEncodeError",
            ["UNSUPPORTED_VALUE"],
            [secret]
          )
          assert.isFalse(yield* ns.has(what), what)
        }
        assert.isFalse(yield* ns.has("many"))
        expectHit(yield* ns.get("existing"), "previous")
        // Plain data with undefined properties, nulls and nested arrays passes.
        yield* ns.set("plain", { a: [1, null, { b: "x" }], c: undefined, d: null })
        expectHit(yield* ns.get("plain"), { a: [1, null, { b: "x" }], d: null })
      }))

    test("a counter past 2^53 reads back as an exact bigint that set writes again", ({ ns }) =>
      Effect.gen(function* () {
        for (const [key, start] of [
          ["up", 2n ** 53n],
          ["down", -(2n ** 62n)]
        ] as const) {
          const counted = yield* ns.increment(key, start)
          const read = hitValue(yield* ns.get(key))
          assert.strictEqual(read, counted)
          yield* ns.set(`${key}-copy`, read)
          assert.strictEqual(hitValue(yield* ns.get(`${key}-copy`)), counted)
          yield* ns.set(key, read)
          assert.strictEqual(yield* ns.increment(key), counted + 1n)
        }
      }))

    test("a typed view hands the codec its encoded side: Schema.Date is stored as a string, Schema.DateFromSelf is refused", ({
      ns
    }) =>
      Effect.gen(function* () {
        yield* ns.forSchema(Schema.Date).set("string", new Date(0))
        expectHit(yield* ns.get("string"), "1970-01-01T00:00:00.000Z")
        // `forSchema(Schema.DateFromSelf)` does not compile under the JSON codec; a JavaScript caller, or one that
        // names the codec, is refused at run time.
        yield* cacheError(ns.forSchema(Schema.DateFromSelf, ns.codec).set("self", new Date(0)), "CacheEncodeError", [
          "UNSUPPORTED_VALUE"
        ])
        assert.isFalse(yield* ns.has("self"))
      }))

    test("a cycle fails with CacheEncodeError, writes nothing and keeps the previous value", ({ ns, secret }) =>
      Effect.gen(function* () {
        const cyclic: { secret: string; self?: unknown } = { secret }
        cyclic.self = { back: cyclic }
        yield* ns.set("existing", "previous")
        yield* cacheError(ns.set("k", cyclic), "CacheEncodeError", ["UNSUPPORTED_VALUE"], [secret])
        yield* cacheError(ns.set("existing", cyclic), "CacheEncodeError", ["UNSUPPORTED_VALUE"], [secret])
        yield* cacheError(ns.add("added", cyclic), "CacheEncodeError", ["UNSUPPORTED_VALUE"], [secret])
        assert.isFalse(yield* ns.has("k"))
        assert.isFalse(yield* ns.has("added"))
        expectHit(yield* ns.get("existing"), "previous")
      }))
  })
}
