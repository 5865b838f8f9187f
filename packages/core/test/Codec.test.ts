import { CacheResult, Codec } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { schemaValue } from "../src/Codec.js"

class User extends Schema.Class<User>("User")({
  id: Schema.Number,
  name: Schema.String,
  joined: Schema.DateFromSelf,
  karma: Schema.BigIntFromSelf,
  nickname: Schema.OptionFromSelf(Schema.String)
}) {}

// What a stored value looks like after the round trip: dates through ISO strings, bigints through strings.
// JSON has no NaN or Infinity: the property draws JSON numbers.
const Stored = Schema.Struct({
  id: Schema.JsonNumber,
  name: Schema.String,
  joined: Schema.Date,
  karma: Schema.BigInt,
  nickname: Schema.Option(Schema.String),
  tags: Schema.Array(Schema.String),
  parent: Schema.NullOr(Schema.JsonNumber)
})

describe("Codec", () => {
  it("JSON decodes integers past 2^53 to exact bigints and small ones to numbers", () => {
    assert.strictEqual(Codec.json.decode("9007199254740993"), 9007199254740993n)
    assert.strictEqual(Codec.json.decode("-9223372036854775808"), -9223372036854775808n)
    assert.strictEqual(Codec.json.decode("9007199254740991"), 9007199254740991)
    assert.strictEqual(Codec.json.decode("42"), 42)
    assert.deepStrictEqual(Codec.json.decode('{"a":[1,null]}'), { a: [1, null] })
  })

  it("JSON refuses what it cannot represent", () => {
    assert.throws(() => Codec.json.encode(1n))
    assert.throws(() => Codec.json.encode(undefined))
    assert.throws(() => Codec.json.encode(() => 1))
    assert.throws(() => Codec.json.encode({ a: Number.NaN }))
    assert.throws(() => Codec.json.encode([1, Number.POSITIVE_INFINITY]))
    assert.throws(() => Codec.json.encode([undefined]))
    assert.strictEqual(Codec.json.encode({ a: 1, b: undefined }), '{"a":1}')
    const cycle: { self?: unknown } = {}
    cycle.self = cycle
    assert.throws(() => Codec.json.encode(cycle))
  })

  it.prop("schema codec: decode ∘ encode is the identity", [Arbitrary.make(Stored)], ([value]) => {
    const codec = schemaValue(Codec.json, Stored)
    const text = codec.encode(value)
    assert.isString(text)
    // Equivalence, not deep equality: JSON writes -0 as 0, which === treats as the same number.
    assert.isTrue(Schema.equivalence(Stored)(codec.decode(text), value))
  })

  it("schema codec: a class round-trips as an instance with Date, BigInt and Option intact", () => {
    const UserJson = Schema.Struct({
      id: Schema.Number,
      name: Schema.String,
      joined: Schema.Date,
      karma: Schema.BigInt,
      nickname: Schema.Option(Schema.String)
    })
    const Stored = Schema.transform(UserJson, Schema.typeSchema(User), {
      strict: true,
      decode: (fields) => new User(fields),
      encode: (user) => user
    })
    const codec = schemaValue(Codec.json, Stored)
    const user = new User({ id: 1, name: "Ada", joined: new Date(0), karma: 2n ** 70n, nickname: Option.some("a") })
    const back = codec.decode(codec.encode(user))
    assert.instanceOf(back, User)
    assert.isTrue(Equal.equals(back, user))
    assert.strictEqual(back.karma, 2n ** 70n)
    assert.strictEqual(back.joined.getTime(), 0)
  })

  it("schema codec: a mismatch throws a SchemaFailure", () => {
    const codec = schemaValue(Codec.json, Schema.Struct({ n: Schema.Number }))
    assert.throws(() => codec.decode('{"n":"x"}'), Codec.SchemaFailure)
    assert.throws(() => codec.encode({ n: "x" } as unknown as { n: number }), Codec.SchemaFailure)
  })
})

describe("Codec.msgPack", () => {
  it("round-trips what JSON cannot carry, as base64 text", () => {
    const value = {
      bytes: new Uint8Array([0, 1, 255]),
      at: new Date(0),
      missing: undefined,
      nan: Number.NaN,
      nested: [{ big: 2 ** 60 }]
    }
    const text = Codec.msgPack.encode(value)
    assert.match(text, /^[A-Za-z0-9+/]+=*$/)
    assert.deepStrictEqual(Codec.msgPack.decode(text), value)
  })

  it("refuses text that is not base64 MessagePack", () => {
    assert.throws(() => Codec.msgPack.decode("not base64!"), Codec.CodecFailure)
    assert.throws(() => Codec.msgPack.decode(Codec.json.encode("x")), Codec.CodecFailure)
  })

  it.effect("works as a cache's codec", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ codec: Codec.msgPack })
      const value = { bytes: new Uint8Array([1, 2, 3]), at: new Date(5) }
      yield* cache.set("k", value)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit(value))
    }).pipe(Effect.scoped)
  )
})
