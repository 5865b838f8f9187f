/**
 * The local tier across real processes: this test is process A (and `redis-cli`'s stand-in), the reader is process
 * B, with a tier of its own. B must see every change within 100 ms, and never serve a value Redis no longer holds
 * once its connection is known lost (a killed subscriber, a paused server, a restarted one), then recover by itself.
 */
import { admin, externalUrl, redisCli, server, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { reader } from "./localProcess.js"

const serverPid = (port: number) =>
  Effect.map(redisCli(port, "INFO", "server"), (info) => Number(/process_id:(\d+)/.exec(info)?.[1]))

describe.skipIf(externalUrl !== undefined)("the local tier across processes", () => {
  describe.each(["tracking", "bus"] as const)("%s", (invalidation) => {
    it.scopedLive("A writes, B reads the new value within 100 ms", () =>
      Effect.gen(function* () {
        const s = yield* server()
        const prefix = uniquePrefix("processes")
        const a = yield* RedisCache.make({
          url: s.url,
          prefix,
          local: { capacity: 100, timeToLive: "1 minute", invalidation }
        })
        const b = yield* reader({ REDIS_URL: s.url, PREFIX: prefix, INVALIDATION: invalidation })
        yield* a.set("k", "first")
        expect(yield* b.get("k")).toBe('hit "first"')
        expect(yield* b.get("k")).toBe('hit "first"')
        yield* a.set("k", "second")
        yield* b.until("k", 'hit "second"')
        yield* a.delete("k")
        yield* b.until("k", "miss")
        yield* a.set("c", 1)
        yield* b.get("c")
        yield* a.clear()
        yield* b.until("c", "miss")
      })
    )

    it.scopedLive(
      "an entry written with tag t before invalidateTags(['t']) is gone from B's tier after it returns",
      () =>
        Effect.gen(function* () {
          const s = yield* server()
          const prefix = uniquePrefix("tags")
          const a = yield* RedisCache.make({
            url: s.url,
            prefix,
            local: { capacity: 100, timeToLive: "1 minute", invalidation }
          })
          const b = yield* reader({ REDIS_URL: s.url, PREFIX: prefix, INVALIDATION: invalidation })
          yield* a.set("tagged", "t", { tags: ["t"] })
          yield* a.set("other", "u", { tags: ["u"] })
          yield* a.set("plain", "p")
          for (const key of ["tagged", "other", "plain"]) expect(yield* b.get(key)).toMatch(/^hit /)
          expect(yield* a.invalidateTags(["t"])).toBe(1)
          expect(yield* a.get("tagged")).toMatchObject({ _tag: "CacheMiss" })
          yield* b.until("tagged", "miss")
          expect(yield* b.get("other")).toBe('hit "u"')
          expect(yield* b.get("plain")).toBe('hit "p"')
          yield* a.set("tagged", "after", { tags: ["t"] })
          yield* b.until("tagged", 'hit "after"')
        })
    )
  })

  it.scopedLive("redis-cli SET and DEL under the prefix reach B's tier; FLUSHDB empties it", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const prefix = uniquePrefix("cli")
      const b = yield* reader({ REDIS_URL: s.url, PREFIX: prefix })
      yield* redisCli(s.port, "SET", `${prefix}k`, '"one"')
      expect(yield* b.get("k")).toBe('hit "one"')
      yield* redisCli(s.port, "SET", `${prefix}k`, '"two"')
      yield* b.until("k", 'hit "two"')
      yield* redisCli(s.port, "DEL", `${prefix}k`)
      yield* b.until("k", "miss")
      yield* redisCli(s.port, "SET", `${prefix}f`, "1")
      expect(yield* b.get("f")).toBe("hit 1")
      yield* redisCli(s.port, "FLUSHDB")
      yield* b.until("f", "miss")
    })
  )

  it.scopedLive("CLIENT KILL of B's subscriber: B reads Redis until it is back, then its tier works again", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      const prefix = uniquePrefix("kill")
      const b = yield* reader({ REDIS_URL: s.url, PREFIX: prefix })
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"old"'))
      expect(yield* b.get("k")).toBe('hit "old"')
      // The subscriber is the connection subscribed to the invalidation channel.
      const list = yield* Effect.promise(() => redis.client("LIST"))
      const subscriber = String(list)
        .split("\n")
        .find((line) => line.includes("sub=1"))
      const id = /id=(\d+)/.exec(subscriber ?? "")?.[1]
      expect(id).toBeDefined()
      yield* Effect.promise(() => redis.client("KILL", "ID", id ?? ""))
      // A change nobody reports while the subscriber is down.
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"new"'))
      yield* b.until("k", 'hit "new"', 50)
      // Back: tracked again, so a later change arrives as before.
      yield* Effect.sleep("500 millis")
      yield* b.get("k")
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"newer"'))
      yield* b.until("k", 'hit "newer"')
    })
  )

  it.scopedLive("a paused server (SIGSTOP): after it resumes, B never serves what Redis no longer holds", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      const prefix = uniquePrefix("pause")
      const b = yield* reader({ REDIS_URL: s.url, PREFIX: prefix })
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"old"'))
      expect(yield* b.get("k")).toBe('hit "old"')
      const pid = yield* serverPid(s.port)
      process.kill(pid, "SIGSTOP")
      // Paused long enough for B to miss its heartbeat: its tier is dropped.
      yield* Effect.sleep("2500 millis")
      expect(yield* b.get("k")).toMatch(/^error /)
      process.kill(pid, "SIGCONT")
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"new"'))
      yield* b.until("k", 'hit "new"', 2000)
      yield* Effect.sleep("1500 millis")
      yield* b.get("k")
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"newer"'))
      yield* b.until("k", 'hit "newer"')
    })
  )

  it.scopedLive("a restarted server: B serves nothing from before it, and recovers", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const prefix = uniquePrefix("restart")
      const b = yield* reader({ REDIS_URL: s.url, PREFIX: prefix })
      yield* redisCli(s.port, "SET", `${prefix}k`, '"old"')
      expect(yield* b.get("k")).toBe('hit "old"')
      yield* Effect.promise(() => s.kill())
      yield* Effect.promise(() => s.restart())
      // The new server is empty: the old value is gone, whatever B's tier held.
      yield* b.until("k", "miss", 5000)
      yield* redisCli(s.port, "SET", `${prefix}k`, '"fresh"')
      yield* b.until("k", 'hit "fresh"', 3000)
      yield* Effect.sleep("1 second")
      yield* b.get("k")
      yield* redisCli(s.port, "SET", `${prefix}k`, '"fresher"')
      yield* b.until("k", 'hit "fresher"')
    })
  )
})
