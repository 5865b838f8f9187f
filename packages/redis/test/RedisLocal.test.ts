import * as net from "node:net"
import { admin, server, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { arrives, hitValue } from "./localTier.js"

const commandCalls = (info: string): number => {
  let total = 0
  for (const match of info.matchAll(/calls=(\d+)/g)) total += Number(match[1])
  return total
}

describe.each(["tracking", "bus"] as const)("RedisCache local tier (%s)", (invalidation) => {
  const local = { capacity: 1000, timeToLive: "1 minute", invalidation } as const

  it.scopedLive("a write by one instance reaches another's tier within 100 ms", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const prefix = uniquePrefix("local")
      const a = yield* RedisCache.make({ url: s.url, prefix, local })
      const b = yield* RedisCache.make({ url: s.url, prefix, local })
      yield* a.set("k", 1)
      expect(hitValue(yield* b.get("k"))).toBe(1)
      expect(hitValue(yield* b.get("k"))).toBe(1)
      yield* a.set("k", 2)
      yield* arrives(Effect.map(b.get("k"), hitValue), 2)
      yield* a.delete("k")
      yield* arrives(Effect.map(b.get("k"), hitValue), undefined)
      yield* a.set("n", 1)
      yield* b.get("n")
      yield* a.increment("n", 2)
      yield* arrives(Effect.map(b.get("n"), hitValue), 3)
      yield* b.get("n")
      yield* a.clear()
      yield* arrives(Effect.map(b.get("n"), hitValue), undefined)
    })
  )

  it.scopedLive("1,000 local hits of a hot key send nothing to Redis", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      const cache = yield* RedisCache.make({ url: s.url, prefix: uniquePrefix("hot"), local })
      yield* cache.set("hot", { n: 1 })
      yield* cache.get("hot")
      const before = commandCalls(yield* Effect.promise(() => redis.info("commandstats")))
      for (let i = 0; i < 1000; i++) expect(hitValue(yield* cache.get("hot"))).toEqual({ n: 1 })
      const after = commandCalls(yield* Effect.promise(() => redis.info("commandstats")))
      // The two INFO calls themselves, and a heartbeat PING per second at most.
      expect(after - before).toBeLessThanOrEqual(4)
    })
  )
})

describe("RedisCache local tier (tracking) sees every writer", () => {
  const local = { capacity: 1000, timeToLive: "1 minute" } as const

  it.scopedLive("redis-cli SET and DEL under the prefix reach the tier; FLUSHDB empties it", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      const prefix = uniquePrefix("foreign")
      const cache = yield* RedisCache.make({ url: s.url, prefix, local })
      yield* cache.set("k", "mine")
      expect(hitValue(yield* cache.get("k"))).toBe("mine")
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"theirs"'))
      yield* arrives(Effect.map(cache.get("k"), hitValue), "theirs")
      yield* Effect.promise(() => redis.del(`${prefix}k`))
      yield* arrives(Effect.map(cache.get("k"), hitValue), undefined)
      yield* cache.set("f", 1)
      yield* cache.get("f")
      yield* Effect.promise(() => redis.flushdb())
      yield* arrives(Effect.map(cache.get("f"), hitValue), undefined)
    })
  )
})

/**
 * A TCP proxy in front of a server that can hold back what the server sends to the first connection made through it
 * (the cache's data connection; its subscriber comes second), so that a test can put an invalidation between a
 * read's request and its reply.
 */
const holdingProxy = (port: number) =>
  Effect.acquireRelease(
    Effect.async<{
      readonly url: string
      readonly hold: () => void
      readonly release: () => void
      readonly close: () => void
    }>((resume) => {
      let held = false
      const queued: Array<() => void> = []
      const sockets = new Set<net.Socket>()
      let connections = 0
      const proxy = net.createServer((client) => {
        const first = connections++ === 0
        const upstream = net.connect(port, "127.0.0.1")
        sockets.add(client)
        sockets.add(upstream)
        client.on("data", (chunk) => upstream.write(chunk))
        upstream.on("data", (chunk) => {
          if (first && held) queued.push(() => client.write(chunk))
          else client.write(chunk)
        })
        const end = () => {
          client.destroy()
          upstream.destroy()
        }
        client.on("close", end)
        upstream.on("close", end)
        client.on("error", end)
        upstream.on("error", end)
      })
      proxy.listen(0, "127.0.0.1", () => {
        const address = proxy.address()
        const proxyPort = typeof address === "object" && address !== null ? address.port : 0
        resume(
          Effect.succeed({
            url: `redis://127.0.0.1:${proxyPort}`,
            hold: () => {
              held = true
            },
            release: () => {
              held = false
              for (const send of queued.splice(0)) send()
            },
            close: () => {
              for (const socket of sockets) socket.destroy()
              proxy.close()
            }
          })
        )
      })
    }),
    (proxy) => Effect.sync(proxy.close)
  )

describe("RedisCache local tier: the race rule", () => {
  it.scopedLive("a reply that raced an invalidation of its key is returned, not kept", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      const proxy = yield* holdingProxy(s.port)
      const prefix = uniquePrefix("race")
      const b = yield* RedisCache.make({
        url: proxy.url,
        prefix,
        local: { capacity: 100, timeToLive: "1 minute" }
      })
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"old"'))
      // B asks; the server answers "old", and the proxy holds the answer back.
      proxy.hold()
      const reading = yield* Effect.fork(b.get("k"))
      yield* Effect.sleep("100 millis")
      // Meanwhile the key changes: the invalidation reaches B's subscriber before the reply reaches B.
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"new"'))
      yield* Effect.sleep("100 millis")
      proxy.release()
      expect(hitValue(yield* Fiber.join(reading))).toBe("old")
      // Not kept: the next read asks Redis, which holds the new value.
      expect(hitValue(yield* b.get("k"))).toBe("new")
      // And that one is kept, as usual.
      const before = commandCalls(yield* Effect.promise(() => redis.info("commandstats")))
      expect(hitValue(yield* b.get("k"))).toBe("new")
      const after = commandCalls(yield* Effect.promise(() => redis.info("commandstats")))
      expect(after - before).toBeLessThanOrEqual(2)
    })
  )
})
