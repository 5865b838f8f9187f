/**
 * Values as bytes: binary codecs (`Codec.msgPack`, `Codec.compressed`) round-trip through the backend byte for byte,
 * and a text view and a binary view of one key read what the other wrote as their codecs make of it.
 *
 * @internal
 */
import * as Codec from "@cachet/core/Codec"
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { cacheError, expectHit, expectMiss, type Harness, hitValue } from "./harness.js"

/** Every byte value once: no UTF-8 text, so a backend that stored it as text would change it. */
const everyByte = Uint8Array.from({ length: 256 }, (_, i) => 255 - i)

const Bytes = Schema.Uint8ArrayFromSelf

/** Writes bytes as they are, as a foreign client could: corrupt values for the codecs under test to meet. */
const raw: Codec.BinaryCodec = {
  name: "raw",
  binary: true,
  encode: (value) => {
    if (value instanceof Uint8Array) return value
    throw new Codec.CodecFailure("raw bytes only")
  },
  decode: (bytes) => bytes
}

const Document = Schema.Struct({
  items: Schema.Array(Schema.Struct({ id: Schema.Number, name: Schema.String, tags: Schema.Array(Schema.String) }))
})

/** About 20 KB of JSON. */
const document: typeof Document.Type = {
  items: Array.from({ length: 300 }, (_, id) => ({
    id,
    name: `item number ${id}`,
    tags: ["cached", `group-${id % 7}`]
  }))
}

const gzip = Codec.compressed(Codec.json, { algorithm: "gzip" })
const brotli = Codec.compressed(Codec.json, { algorithm: "brotli" })

/** @internal */
export const bytes = ({ test }: Harness, sharedValues: boolean): void => {
  describe("bytes", () => {
    test("a MessagePack view stores bytes that are not UTF-8 and reads them back exactly", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Bytes, Codec.msgPack)
        yield* view.set("k", everyByte)
        expectHit(yield* view.get("k"), everyByte)
        yield* view.setMany([
          ["a", everyByte.subarray(0, 3)],
          ["b", new Uint8Array(0)]
        ])
        const [a, missing, b] = yield* view.getMany(["a", "missing", "b"])
        expectHit(a ?? assert.fail("no result"), Uint8Array.of(255, 254, 253))
        expectMiss(missing ?? assert.fail("no result"))
        expectHit(b ?? assert.fail("no result"), new Uint8Array(0))
        assert.isTrue(yield* view.add("c", everyByte))
        const read = yield* view.getOrSet("c", Effect.die("the lookup of a present key ran"))
        assert.deepStrictEqual(read, everyByte)
      }))

    test("bytes read back are the reader's own: changing them changes nothing stored", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Schema.Struct({ data: Bytes }), Codec.msgPack)
        const written = { data: Uint8Array.of(1, 2, 3) }
        yield* view.set("k", written)
        written.data[0] = 9
        const read = hitValue(yield* view.get("k"))
        assert.deepStrictEqual(read.data, Uint8Array.of(1, 2, 3))
        // A local tier hands every reader the same value: only the writer's copy is its own.
        if (sharedValues) return
        read.data[1] = 9
        expectHit(yield* view.get("k"), { data: Uint8Array.of(1, 2, 3) })
      }))

    for (const [algorithm, codec] of [
      ["gzip", gzip],
      ["brotli", brotli]
    ] as const) {
      test(`Codec.compressed (${algorithm}): a large document and a small value round-trip`, ({ ns }) =>
        Effect.gen(function* () {
          const view = ns.forSchema(Document, codec)
          yield* view.set("large", document)
          yield* view.set("small", { items: [] })
          expectHit(yield* view.get("large"), document)
          const [large, small] = yield* view.getMany(["large", "small"])
          expectHit(large ?? assert.fail("no result"), document)
          expectHit(small ?? assert.fail("no result"), { items: [] })
          // Below the threshold the value is plain JSON, which the JSON view reads as it would its own.
          expectHit(yield* ns.get("small"), { items: [] })
        }))
    }

    test("Codec.compressed reads plain values and the other algorithm's: turning it on needs no migration", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("plain", document)
        expectHit(yield* ns.forSchema(Document, gzip).get("plain"), document)
        yield* ns.forSchema(Document, gzip).set("gzip", document)
        yield* ns.forSchema(Document, brotli).set("brotli", document)
        expectHit(yield* ns.forSchema(Document, brotli).get("gzip"), document)
        expectHit(yield* ns.forSchema(Document, gzip).get("brotli"), document)
      }))

    test("a text view and a binary view of one key: what the other codec wrote fails with CacheDecodeError", ({ ns }) =>
      Effect.gen(function* () {
        const binary = ns.forSchema(Schema.Struct({ a: Schema.Number }), Codec.msgPack)
        yield* ns.set("text", { a: 1 })
        yield* binary.set("binary", { a: 1 })
        yield* cacheError(binary.get("text"), "CacheDecodeError", ["MALFORMED"])
        yield* cacheError(ns.get("binary"), "CacheDecodeError", ["MALFORMED"])
        // Each codec heals the other's value under getOrSet, as it heals any it cannot read.
        assert.deepStrictEqual(yield* binary.getOrSet("text", Effect.succeed({ a: 2 })), { a: 2 })
        assert.deepStrictEqual(yield* ns.getOrSet("binary", Effect.succeed({ a: 3 })), { a: 3 })
        expectHit(yield* binary.get("text"), { a: 2 })
        expectHit(yield* ns.get("binary"), { a: 3 })
      }))

    test("a corrupt compressed value fails the read with CacheDecodeError, and getOrSet heals it", ({ ns }) =>
      Effect.gen(function* () {
        const foreign = ns.forSchema(Bytes, raw)
        const view = ns.forSchema(Document, gzip)
        yield* view.set("k", document)
        const stored = hitValue(yield* foreign.get("k"))
        assert.deepStrictEqual(Array.from(stored.subarray(0, 2)), [0x1f, 0x8b], "gzip's magic bytes")
        yield* foreign.set("k", stored.subarray(0, stored.length - 8))
        yield* cacheError(view.get("k"), "CacheDecodeError", ["MALFORMED"])
        yield* foreign.set("brotli", Uint8Array.of(0xc1, 0x62, 0x72, 0xff, 0xff, 0xff))
        yield* cacheError(view.get("brotli"), "CacheDecodeError", ["MALFORMED"])
        assert.deepStrictEqual(yield* view.getOrSet("k", Effect.succeed(document)), document)
        expectHit(yield* view.get("k"), document)
      }))
  })
}
