import { Cache, CacheResult, Codec } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Equal from "effect/Equal"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { schemaValue } from "../src/internal/codec.js"

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

// Writes text (as UTF-8) and bytes as they are, as a foreign writer would: the second cache of `caches` reads them
// with the codec under test.
const verbatim: Codec.Codec = {
  name: "verbatim",
  binary: true,
  encode: (value) => {
    if (typeof value === "string") return new TextEncoder().encode(value)
    if (value instanceof Uint8Array) return value
    throw new Codec.CodecFailure("verbatim text and bytes only")
  },
  decode: (bytes) => bytes
}

const caches = (codec: Codec.Codec) =>
  Effect.gen(function* () {
    const backend = yield* MemoryCache.makeBackend()
    return { foreign: yield* Cache.make(backend, { codec: verbatim }), cache: yield* Cache.make(backend, { codec }) }
  })

const refused = (value: unknown): boolean => {
  try {
    Codec.json.encode(value)
    return false
  } catch {
    return true
  }
}

const AnyRecord = Schema.Record({ key: Schema.String, value: Schema.Unknown })

// What a foreign writer stores to make a decoded object's prototype its own: the same shape in each codec.
const hostile = {
  json: (inner: string) => `{"name":"a","meta":${inner},"__proto__":{"isAdmin":true}}`,
  jsonEscaped: '{"name":"a","meta":{"\\u005f_proto__":{"isAdmin":true}},"__pr\\u006fto__":{"isAdmin":true}}'
}

const expectNoForeignPrototype = (value: unknown, what: string): void => {
  assert.isTrue(typeof value === "object" && value !== null, what)
  if (typeof value !== "object" || value === null) return
  assert.strictEqual(Object.getPrototypeOf(value), Object.prototype, `${what}: prototype`)
  assert.isFalse("isAdmin" in value, `${what}: an inherited property`)
  assert.isFalse(Object.hasOwn(value, "__proto__"), `${what}: an own __proto__ key`)
  // Copying by assignment is what turns an own __proto__ key into a prototype.
  assert.isFalse("isAdmin" in Object.assign({}, value), `${what}: a copy`)
}

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

  it("JSON refuses values it would hand back changed, and keeps plain data", () => {
    for (const value of [
      new Date(0),
      new Map(),
      new Set([1]),
      new (class Point {
        x = 1
      })(),
      new Uint8Array(2),
      /x/,
      { at: new Date(0) },
      [[new Set()]],
      { f: () => 1 },
      { toJSON: () => "x" },
      Object.create({ inherited: 1 }),
      2n ** 40n,
      { big: 2n ** 60n }
    ]) {
      assert.isTrue(refused(value), `${Object.prototype.toString.call(value)} was written`)
    }
    assert.strictEqual(Codec.json.encode(Object.assign(Object.create(null), { a: 1 })), '{"a":1}')
    assert.strictEqual(Codec.json.encode({ a: [null, { b: null }] }), '{"a":[null,{"b":null}]}')
  })

  it("JSON writes a bigint past 2^53 as its digits, and reads it back exact", () => {
    for (const value of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 100n)]) {
      assert.strictEqual(Codec.json.encode(value), value.toString())
      assert.strictEqual(Codec.json.decode(Codec.json.encode(value)), value)
    }
  })

  it("JSON decoding drops __proto__ keys, spelled out or escaped, at any depth", () => {
    expectNoForeignPrototype(Codec.json.decode(hostile.json("{}")), "top level")
    expectNoForeignPrototype(Codec.json.decode(hostile.jsonEscaped), "escaped")
    const nested = Codec.json.decode('[{"a":{"__proto__":{"isAdmin":true},"b":1}}]')
    assert.deepStrictEqual(nested, [{ a: { b: 1 } }])
    // A string that merely mentions it is left alone.
    assert.deepStrictEqual(Codec.json.decode('{"a":"__proto__ \\u0041"}'), { a: "__proto__ A" })
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
  it("round-trips what JSON cannot carry, as MessagePack bytes", () => {
    const value = {
      bytes: new Uint8Array([0, 1, 255]),
      at: new Date(0),
      missing: undefined,
      nan: Number.NaN,
      nested: [{ big: 2 ** 60 }]
    }
    const bytes = Codec.msgPack.encode(value)
    assert.instanceOf(bytes, Uint8Array)
    assert.deepStrictEqual(Codec.msgPack.decode(bytes), value)
  })

  it("refuses JSON text and the base64 text it stored before it stored bytes", () => {
    const utf8 = (text: string) => new TextEncoder().encode(text)
    assert.throws(() => Codec.msgPack.decode(utf8(Codec.json.encode({ a: 1 }))), Codec.CodecFailure)
    assert.throws(
      () => Codec.msgPack.decode(utf8(Encoding.encodeBase64(Codec.msgPack.encode({ a: 1 })))),
      Codec.CodecFailure
    )
  })

  const junk: ReadonlyArray<readonly [string, ReadonlyArray<number>]> = [
    ["nothing", []],
    ["the reserved byte 0xc1", [0xc1]],
    ["0xc1 inside an array", [0x92, 0x01, 0xc1]],
    ["a timestamp of length 3", [0xc7, 3, 0xff, 1, 2, 3]],
    ["a timestamp 64 with a second of nanoseconds", [0xd7, 0xff, 0xee, 0x6b, 0x28, 0x00, 0, 0, 0, 0]],
    [
      "a timestamp 96 past the range of a Date",
      [0xc7, 12, 0xff, 0, 0, 0, 0, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff]
    ],
    ["a timestamp in ext 16", [0xc8, 0, 4, 0xff, 0, 0, 0, 0]],
    ["msgpackr's Set extension", [0xd4, 0x73, 0x00, 0x90]],
    ["msgpackr's record definition", [0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61]],
    ["an unknown extension", [0xd6, 0x01, 0, 0, 0, 0]],
    ["trailing bytes", [0x01, 0x02]],
    ["a truncated string", [0xa5, 0x61]],
    ["a truncated array", [0x92, 0x01]],
    ["a truncated map", [0x81, 0xa1, 0x61]],
    ["a truncated float", [0xcb, 0, 0]],
    ["a string 32 longer than the data", [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]],
    ["a bin 32 longer than the data", [0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]],
    ["an array 32 longer than the data", [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]],
    ["a map 32 longer than the data", [0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02]],
    ["a string that is not UTF-8", [0xa2, 0xc3, 0x28]],
    ["an overlong UTF-8 encoding", [0xa2, 0xc0, 0xaf]]
  ]

  it("refuses bytes that are not exactly one well-formed value, before unpacking", () => {
    for (const [what, bytes] of junk) {
      assert.throws(() => Codec.msgPack.decode(new Uint8Array(bytes)), Codec.CodecFailure, undefined, what)
    }
  })

  it("reads what it writes: an Invalid Date, the extreme Dates, every width of integer, string, array and map", () => {
    const value = {
      invalid: new Date(Number.NaN),
      before: new Date(-1e15),
      after: new Date(8.64e15),
      integers: [0, -1, -32, 127, 255, -128, 65535, -32768, 2 ** 32, -(2 ** 31), 2n ** 63n - 1n, -(2n ** 63n), 0.5],
      long: "é".repeat(70_000),
      array: Array.from({ length: 70_000 }, (_, i) => i % 3),
      map: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))
    }
    const back = Codec.msgPack.decode(Codec.msgPack.encode(value))
    assert.deepStrictEqual(back, value)
  })

  it.prop(
    "decodes whatever it encodes",
    [
      FastCheck.letrec((tie) => ({
        value: FastCheck.oneof(
          { depthSize: "small" },
          FastCheck.string({ unit: "binary" }),
          FastCheck.double(),
          FastCheck.integer(),
          FastCheck.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          FastCheck.boolean(),
          FastCheck.constant(null),
          FastCheck.constant(undefined),
          FastCheck.date(),
          FastCheck.uint8Array(),
          FastCheck.array(tie("value")),
          FastCheck.dictionary(FastCheck.string(), tie("value"))
        )
      })).value
    ],
    ([value]) => {
      Codec.msgPack.decode(Codec.msgPack.encode(value))
    }
  )

  it.scoped("junk bytes fail a read with CacheDecodeError, and getOrSet heals them", () =>
    Effect.gen(function* () {
      const { foreign, cache } = yield* caches(Codec.msgPack)
      for (const [what, bytes] of junk) {
        yield* foreign.set(what, new Uint8Array(bytes))
        const error = yield* Effect.flip(cache.get(what))
        assert.strictEqual(error._tag, "CacheDecodeError", what)
        assert.strictEqual(error.code, "MALFORMED", what)
        let looked = 0
        const healed = yield* cache.getOrSet(
          what,
          Effect.sync(() => ++looked)
        )
        assert.strictEqual(healed, 1, what)
        assert.strictEqual(looked, 1, what)
        assert.deepStrictEqual(yield* cache.get(what), CacheResult.hit(1), what)
      }
    })
  )

  it.effect("works as a cache's codec", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ codec: Codec.msgPack })
      const value = { bytes: new Uint8Array([1, 2, 3]), at: new Date(5) }
      yield* cache.set("k", value)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit(value))
    }).pipe(Effect.scoped)
  )
})

describe("a stored __proto__ never becomes a prototype", () => {
  const RecordOfRecords = Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, AnyRecord) })
  const StructWithRecord = Schema.Struct({ name: Schema.String, meta: AnyRecord })
  const StructWithRest = Schema.Struct({ name: Schema.String }, AnyRecord)

  // Own __proto__ keys (as JSON.parse makes them), at the top and nested: what a foreign writer can store.
  const hostileValue = (): unknown => JSON.parse(hostile.json('{"__proto__":{"isAdmin":true}}'))

  for (const [name, codec, text] of [
    ["json", Codec.json, hostile.json('{"__proto__":{"isAdmin":true}}')],
    ["json, escaped", Codec.json, hostile.jsonEscaped],
    ["msgpack", Codec.msgPack, Codec.msgPack.encode(hostileValue())]
  ] as const) {
    it.scoped(
      `${name}: through the base service and through forSchema with Schema.Record and Schema.Struct, nested`,
      () =>
        Effect.gen(function* () {
          const { foreign, cache } = yield* caches(codec)
          yield* foreign.set("k", text)
          const reads: ReadonlyArray<readonly [string, CacheResult.CacheResult<unknown>]> = [
            ["base service", yield* cache.get("k")],
            ["Schema.Record", yield* cache.forSchema(AnyRecord).get("k")],
            ["Schema.Record of Schema.Record", yield* cache.forSchema(RecordOfRecords).get("k")],
            ["Schema.Struct with a Record field", yield* cache.forSchema(StructWithRecord).get("k")],
            ["Schema.Struct with a Record rest", yield* cache.forSchema(StructWithRest).get("k")]
          ]
          for (const [what, read] of reads) {
            const value = read._tag === "CacheHit" ? read.value : assert.fail(`a miss through ${what}`)
            expectNoForeignPrototype(value, what)
            const meta = typeof value === "object" && value !== null && "meta" in value ? value.meta : undefined
            if (meta !== undefined) expectNoForeignPrototype(meta, `${what}, nested`)
          }
        })
    )
  }
})
