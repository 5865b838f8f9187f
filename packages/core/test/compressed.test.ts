/**
 * `Codec.compressed`: what it stores (standard gzip, brotli after its marker, plain below the threshold or when
 * compression does not pay), the decompression bound, and the refusal of bad options inside the Effect.
 */
import { randomBytes } from "node:crypto"
import * as zlib from "node:zlib"
import { Cache, CacheResult, Codec } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** About 20 KB of JSON that compresses well, as documents do. */
const document = {
  items: Array.from({ length: 300 }, (_, id) => ({
    id,
    name: `item number ${id}`,
    tags: ["cached", `group-${id % 7}`]
  }))
}
const documentText = JSON.stringify(document)

const gzip = Codec.compressed(Codec.json, { algorithm: "gzip" })
const brotli = Codec.compressed(Codec.json, { algorithm: "brotli" })

/** A cache with `codec` and its backend, to see what is stored under a key. */
const cacheWith = (codec: Codec.Codec) =>
  Effect.gen(function* () {
    const backend = yield* MemoryCache.makeBackend()
    const cache = yield* Cache.make(backend, { codec, prefix: "c:" })
    const stored = (key: string) =>
      Effect.map(backend.get(`c:${key}`), (value) =>
        value instanceof Uint8Array ? value : assert.fail(`expected bytes under ${key}, got ${typeof value}`)
      )
    return { cache, stored }
  })

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

// What a plain JavaScript caller can pass, past the static types.
const fromJavaScript = (options: unknown): Codec.CompressedOptions => options as Codec.CompressedOptions
const fromJavaScriptCodec = (codec: unknown): Codec.Codec => codec as Codec.Codec

describe("Codec.compressed", () => {
  it.scoped("gzip: a value over the threshold is stored as a gzip stream, which gunzip reads as the JSON", () =>
    Effect.gen(function* () {
      const { cache, stored } = yield* cacheWith(gzip)
      yield* cache.set("doc", document)
      const bytes = yield* stored("doc")
      assert.deepStrictEqual(Array.from(bytes.subarray(0, 3)), [0x1f, 0x8b, 0x08], "gzip's magic bytes, deflate")
      assert.strictEqual(zlib.gunzipSync(bytes).toString("utf8"), documentText)
      assert.isBelow(bytes.length, documentText.length / 5)
      assert.deepStrictEqual(yield* cache.get("doc"), CacheResult.hit(document))
      assert.strictEqual(gzip.name, "gzip(json)")
    })
  )

  it.scoped("brotli: a value over the threshold is a brotli stream after the bytes c1 62 72", () =>
    Effect.gen(function* () {
      const { cache, stored } = yield* cacheWith(brotli)
      yield* cache.set("doc", document)
      const bytes = yield* stored("doc")
      assert.deepStrictEqual(Array.from(bytes.subarray(0, 3)), [0xc1, 0x62, 0x72])
      assert.strictEqual(zlib.brotliDecompressSync(bytes.subarray(3)).toString("utf8"), documentText)
      assert.deepStrictEqual(yield* cache.get("doc"), CacheResult.hit(document))
    })
  )

  it.scoped("up to the threshold a value is stored as the codec wrote it; the threshold is the caller's", () =>
    Effect.gen(function* () {
      const small = { items: document.items.slice(0, 3) }
      const { cache, stored } = yield* cacheWith(gzip)
      yield* cache.set("small", small)
      assert.strictEqual(text(yield* stored("small")), JSON.stringify(small))
      const exactly = "x".repeat(1022)
      yield* cache.set("exactly", exactly)
      assert.strictEqual((yield* stored("exactly")).length, 1024, "1024 bytes are not over the default threshold")
      yield* cache.set("over", `${exactly}x`)
      assert.strictEqual((yield* stored("over"))[0], 0x1f)
      const eager = yield* cacheWith(Codec.compressed(Codec.json, { algorithm: "gzip", threshold: 0 }))
      yield* eager.cache.set("small", small)
      assert.strictEqual((yield* eager.stored("small"))[0], 0x1f)
      const lazy = yield* cacheWith(Codec.compressed(Codec.json, { algorithm: "gzip", threshold: 100_000 }))
      yield* lazy.cache.set("doc", document)
      assert.strictEqual(text(yield* lazy.stored("doc")), documentText)
    })
  )

  it.scoped("a value that compression would not shrink is stored plain", () =>
    Effect.gen(function* () {
      const noise = new Uint8Array(randomBytes(4096))
      const { cache, stored } = yield* cacheWith(Codec.compressed(Codec.msgPack, { algorithm: "brotli" }))
      yield* cache.set("noise", noise)
      assert.deepStrictEqual(yield* stored("noise"), new Uint8Array(Codec.msgPack.encode(noise)))
      assert.deepStrictEqual(yield* cache.get("noise"), CacheResult.hit(noise))
    })
  )

  it.scoped("over a binary codec: dates and bytes round-trip compressed", () =>
    Effect.gen(function* () {
      const codec = Codec.compressed(Codec.msgPack, { algorithm: "gzip", threshold: 16 })
      const view = (yield* cacheWith(codec)).cache.forSchema(
        Schema.Struct({ at: Schema.DateFromSelf, data: Schema.Uint8ArrayFromSelf }),
        codec
      )
      const value = { at: new Date(5), data: new Uint8Array(4096).fill(7) }
      yield* view.set("k", value)
      assert.deepStrictEqual(yield* view.get("k"), CacheResult.hit(value))
    })
  )

  it.scoped("a value that decompresses past maxDecodedBytes fails with CacheDecodeError, and getOrSet heals it", () =>
    Effect.gen(function* () {
      for (const algorithm of ["gzip", "brotli"] as const) {
        const backend = yield* MemoryCache.makeBackend()
        // Two megabytes of a JSON string in a few kilobytes: what a hostile (or differently bounded) writer stores.
        const writer = yield* Cache.make(backend, { codec: Codec.compressed(Codec.json, { algorithm }), prefix: "c:" })
        yield* writer.set("bomb", "x".repeat(2_000_000))
        const bounded = Codec.compressed(Codec.json, { algorithm, maxDecodedBytes: 1_000_000 })
        const cache = yield* Cache.make(backend, { codec: bounded, prefix: "c:" })
        const error = yield* Effect.flip(cache.get("bomb"))
        assert.deepInclude(error, { _tag: "CacheDecodeError", code: "MALFORMED", key: "bomb" })
        assert.include(error.message, "maxDecodedBytes")
        assert.strictEqual(yield* cache.getOrSet("bomb", Effect.succeed("small")), "small")
        assert.deepStrictEqual(yield* cache.get("bomb"), CacheResult.hit("small"))
      }
    })
  )

  it.scoped("a value that would decompress past maxDecodedBytes is refused on write: it could never be read back", () =>
    Effect.gen(function* () {
      const { cache } = yield* cacheWith(Codec.compressed(Codec.json, { algorithm: "gzip", maxDecodedBytes: 10_000 }))
      const error = yield* Effect.flip(cache.set("big", "a".repeat(50_000)))
      assert.deepInclude(error, { _tag: "CacheEncodeError", key: "big" })
      assert.include(error.message, "maxDecodedBytes")
      assert.isFalse(yield* cache.has("big"))
      yield* cache.set("small", "a".repeat(5_000))
      assert.deepStrictEqual(yield* cache.get("small"), CacheResult.hit("a".repeat(5_000)))
    })
  )

  it.scoped("the default bound is 64 MiB", () =>
    Effect.gen(function* () {
      const { cache } = yield* cacheWith(gzip)
      const atBound = "x".repeat(64 * 1024 * 1024 - 2)
      yield* cache.set("at", atBound)
      assert.deepStrictEqual(yield* cache.get("at"), CacheResult.hit(atBound))
      assert.strictEqual((yield* Effect.flip(cache.set("past", `${atBound}x`)))._tag, "CacheEncodeError")
    })
  )

  it.scoped("a plain value that begins with gzip's first byte is read as plain", () =>
    Effect.gen(function* () {
      const { cache, stored } = yield* cacheWith(Codec.compressed(Codec.msgPack, { algorithm: "gzip" }))
      // MessagePack writes 31 as the one byte 0x1f: no gzip stream, whose magic is two bytes.
      yield* cache.set("n", 31)
      assert.deepStrictEqual(yield* stored("n"), Uint8Array.of(0x1f))
      assert.deepStrictEqual(yield* cache.get("n"), CacheResult.hit(31))
    })
  )

  describe("bad options are refused inside the Effect, and nothing is written", () => {
    const bad: ReadonlyArray<readonly [string, Codec.Codec, string]> = [
      ["an unknown algorithm", Codec.compressed(Codec.json, fromJavaScript({ algorithm: "zstd" })), "algorithm"],
      ["no algorithm", Codec.compressed(Codec.json, fromJavaScript({})), "algorithm"],
      ["no options", Codec.compressed(Codec.json, fromJavaScript(undefined)), "options"],
      ["a negative threshold", Codec.compressed(Codec.json, { algorithm: "gzip", threshold: -1 }), "threshold"],
      ["a fractional threshold", Codec.compressed(Codec.json, { algorithm: "gzip", threshold: 1.5 }), "threshold"],
      ["a NaN threshold", Codec.compressed(Codec.json, { algorithm: "gzip", threshold: Number.NaN }), "threshold"],
      [
        "a threshold that is a string",
        Codec.compressed(Codec.json, fromJavaScript({ algorithm: "gzip", threshold: "1024" })),
        "threshold"
      ],
      [
        "a negative maxDecodedBytes",
        Codec.compressed(Codec.json, { algorithm: "brotli", maxDecodedBytes: -1 }),
        "maxDecodedBytes"
      ],
      [
        "a zero maxDecodedBytes",
        Codec.compressed(Codec.json, { algorithm: "gzip", maxDecodedBytes: 0 }),
        "maxDecodedBytes"
      ],
      [
        "a fractional maxDecodedBytes",
        Codec.compressed(Codec.json, { algorithm: "gzip", maxDecodedBytes: 2.5 }),
        "maxDecodedBytes"
      ],
      [
        "an infinite maxDecodedBytes",
        Codec.compressed(Codec.json, { algorithm: "gzip", maxDecodedBytes: Number.POSITIVE_INFINITY }),
        "maxDecodedBytes"
      ],
      [
        "a codec that is not one",
        Codec.compressed(fromJavaScriptCodec({}), { algorithm: "gzip" }),
        "encode and decode"
      ],
      [
        "options that throw when read (a Proxy)",
        Codec.compressed(
          Codec.json,
          fromJavaScript(
            new Proxy(
              {},
              {
                get: () => {
                  throw new Error("the proxy broke")
                }
              }
            )
          )
        ),
        "threw"
      ],
      [
        "a codec refused itself",
        Codec.compressed(Codec.compressed(Codec.json, { algorithm: "gzip", threshold: -1 }), { algorithm: "gzip" }),
        "threshold"
      ]
    ]

    for (const [what, codec, named] of bad) {
      it.scoped(what, () =>
        Effect.gen(function* () {
          const made = yield* Effect.flip(MemoryCache.make({ codec }))
          assert.deepInclude(made, { _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT", operation: "make" })
          assert.include(made.message, named)
          const backend = yield* MemoryCache.makeBackend()
          const cache = yield* Cache.make(backend)
          const view = cache.forSchema(Schema.String, codec)
          const refused = yield* Effect.flip(view.set("k", "v"))
          assert.deepInclude(refused, { _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT", operation: "set" })
          assert.strictEqual((yield* Effect.flip(view.get("k")))._tag, "CacheInvalidInputError")
          assert.isFalse(yield* backend.has("cachet:k"))
          assert.throws(() => codec.encode("v"), Codec.CodecFailure)
        })
      )
    }
  })
})
