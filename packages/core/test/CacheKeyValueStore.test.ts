import { Cache, CacheKeyValueStore, Codec } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { KeyValueStoreSuite } from "@cachet/testing"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

KeyValueStoreSuite.run("CacheKeyValueStore on MemoryCache", MemoryCache.layer())
KeyValueStoreSuite.run(
  "CacheKeyValueStore on MemoryCache with MessagePack",
  MemoryCache.layer({ codec: Codec.msgPack })
)

describe("CacheKeyValueStore: bytes on the wire", () => {
  it.scoped(
    "under MessagePack, bytes are stored as MessagePack bytes (no base64), and the base64 form still reads",
    () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        const cache = yield* Cache.make(backend, { codec: Codec.msgPack, prefix: "kv:" })
        const kv = yield* KeyValueStore.KeyValueStore.pipe(
          Effect.provide(CacheKeyValueStore.layer().pipe(Layer.provide(Layer.succeed(Cache.Cache, cache))))
        )
        yield* kv.set("b", Uint8Array.of(1, 2, 255))
        // A one-entry map { bytes: <bin 8 of three bytes> }: the bytes end the value as they are (c4 03 01 02 ff).
        const stored = yield* backend.get("kv:b")
        assert.instanceOf(stored, Uint8Array)
        const raw = stored instanceof Uint8Array ? [...stored] : []
        assert.deepStrictEqual(raw.slice(-5), [0xc4, 0x03, 0x01, 0x02, 0xff])
        assert.notInclude(new TextDecoder().decode(stored instanceof Uint8Array ? stored : undefined), "AQL/")
        assert.deepStrictEqual(yield* kv.getUint8Array("b"), Option.some(Uint8Array.of(1, 2, 255)))
        // What an earlier version wrote under MessagePack: the base64 text in the same one-field map.
        yield* cache.set("old", { bytes: "AQL/" })
        assert.deepStrictEqual(yield* kv.getUint8Array("old"), Option.some(Uint8Array.of(1, 2, 255)))
      })
  )
})
