/**
 * Values as bytes on a real server: what Cachet stores is what any Redis client reads (gzip that gunzip reads, raw
 * MessagePack), compression pays in the server's memory, concurrent reads of bytes (batched into script calls) stay
 * each key's own bytes, and a corrupt value written by another client heals.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import * as zlib from "node:zlib"
import * as CacheResult from "@cachet/core/CacheResult"
import * as Codec from "@cachet/core/Codec"
import { admin, anyServer, server, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** About 20 KB of JSON, shaped like an API response. */
const document = {
  users: Array.from({ length: 160 }, (_, id) => ({
    id,
    name: `User ${id}`,
    email: `user${id}@example.com`,
    active: id % 3 !== 0,
    roles: id % 5 === 0 ? ["admin", "editor"] : ["reader"],
    createdAt: new Date(Date.UTC(2024, 0, 1 + id)).toISOString()
  }))
}
const documentText = JSON.stringify(document)

const gzip = Codec.compressed(Codec.json, { algorithm: "gzip" })

const redisCli = (url: string, ...args: ReadonlyArray<string>) =>
  Effect.promise(() => promisify(execFile)("redis-cli", ["-u", url, ...args])).pipe(Effect.map(({ stdout }) => stdout))

const memoryUsage = (redis: { memory: (sub: "USAGE", key: string) => Promise<unknown> }, key: string) =>
  Effect.promise(() => redis.memory("USAGE", key)).pipe(
    Effect.map((reply) => (typeof reply === "number" ? reply : expect.fail(`MEMORY USAGE answered ${String(reply)}`)))
  )

describe("RedisCache stores bytes as they are", () => {
  it.scopedLive("a 20 KB JSON document under Codec.compressed(Codec.json, gzip) is gzip on the server", () =>
    Effect.gen(function* () {
      expect(documentText.length).toBeGreaterThan(20_000)
      const { url } = yield* anyServer
      const redis = yield* admin(url)
      const prefix = uniquePrefix("gzip")
      const plain = yield* RedisCache.make({ url, prefix: `${prefix}plain` })
      const compressed = yield* RedisCache.make({ url, prefix: `${prefix}gzip`, codec: gzip })
      yield* plain.set("doc", document)
      yield* compressed.set("doc", document)
      expect(yield* compressed.get("doc")).toEqual(CacheResult.hit(document))

      const raw = yield* Effect.promise(() => redis.getBuffer(`${prefix}gzip:doc`))
      if (raw === null) return expect.fail("the compressed entry is missing")
      expect([...raw.subarray(0, 3)]).toEqual([0x1f, 0x8b, 0x08])
      expect(zlib.gunzipSync(raw).toString("utf8")).toBe(documentText)
      // What an operator sees: redis-cli quotes the bytes, gzip's magic first.
      expect(yield* redisCli(url, "--no-raw", "GET", `${prefix}gzip:doc`)).toMatch(/^"\\x1f\\x8b\\b\\x00/)

      const compressedBytes = yield* memoryUsage(redis, `${prefix}gzip:doc`)
      const plainBytes = yield* memoryUsage(redis, `${prefix}plain:doc`)
      expect(compressedBytes).toBeLessThan(0.3 * plainBytes)
      yield* Effect.promise(() => redis.unlink(`${prefix}gzip:doc`, `${prefix}plain:doc`))
    })
  )

  it.scopedLive("MessagePack values are raw bytes: STRLEN is the MessagePack length", () =>
    Effect.gen(function* () {
      const { url } = yield* anyServer
      const redis = yield* admin(url)
      const prefix = uniquePrefix("msgpack")
      const cache = yield* RedisCache.make({ url, prefix, codec: Codec.msgPack })
      const value = { data: Uint8Array.from({ length: 256 }, (_, i) => i), at: new Date(0), tags: ["a", "b"] }
      yield* cache.set("k", value)
      const packed = Codec.msgPack.encode(value)
      expect(yield* Effect.promise(() => redis.strlen(`${prefix}k`))).toBe(packed.length)
      expect(yield* Effect.promise(() => redis.getBuffer(`${prefix}k`))).toEqual(Buffer.from(packed))
      expect(yield* cache.get("k")).toEqual(CacheResult.hit(value))
      yield* Effect.promise(() => redis.unlink(`${prefix}k`))
    })
  )

  it.scopedLive("concurrent reads of bytes go out batched and answer each key's own bytes", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      const cache = yield* RedisCache.make({ url: s.url, prefix: "bytes:" })
      const view = cache.forSchema(Schema.Uint8ArrayFromSelf, Codec.msgPack)
      const bytesOf = (i: number) => Uint8Array.from({ length: 64 }, (_, j) => (255 - i - j) & 0xff)
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
      yield* Effect.forEach(keys, (key, i) => view.set(key, bytesOf(i)))
      yield* Effect.promise(() => redis.config("RESETSTAT"))
      const reads = yield* Effect.all(
        keys.map((key) => view.get(key)),
        { concurrency: "unbounded" }
      )
      const lookedUp = yield* Effect.all(
        keys.map((key) => view.getOrSet(key, Effect.die("the lookup of a present key ran"))),
        { concurrency: "unbounded" }
      )
      expect(reads).toEqual(keys.map((_, i) => CacheResult.hit(bytesOf(i))))
      expect(lookedUp).toEqual(keys.map((_, i) => bytesOf(i)))
      const stats = yield* Effect.promise(() => redis.info("commandstats"))
      expect(stats).toMatch(/cmdstat_(eval|evalsha)_ro:calls=/)
    })
  )

  it.scopedLive("a corrupt compressed value written by another client fails with CacheDecodeError and heals", () =>
    Effect.gen(function* () {
      const { url } = yield* anyServer
      const redis = yield* admin(url)
      const prefix = uniquePrefix("corrupt")
      const cache = yield* RedisCache.make({ url, prefix, codec: gzip })
      yield* Effect.promise(() => redis.set(`${prefix}k`, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03])))
      const error = yield* Effect.flip(cache.get("k"))
      expect(error).toMatchObject({ _tag: "CacheDecodeError", code: "MALFORMED", key: "k" })
      expect(yield* cache.getOrSet("k", Effect.succeed(document))).toEqual(document)
      expect(yield* cache.get("k")).toEqual(CacheResult.hit(document))
      yield* Effect.promise(() => redis.unlink(`${prefix}k`))
    })
  )
})
