/**
 * The local tier through Sentinel, across real processes: this test is process A (and `redis-cli`'s stand-in), the
 * reader is process B, with a tier of its own. A failover drops B's tier: a value changed on the new master reaches
 * B, and afterwards changes keep arriving within 100 ms.
 */
import { call, sentinel, uniquePrefix, until } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { heldLocally, reader, trackedOn } from "./localProcess.js"

const tier = { capacity: 1000, timeToLive: "1 minute" } as const
const options = { commandTimeout: "500 millis", connectTimeout: "5 seconds" } as const

describe("the local tier through Sentinel, across processes", () => {
  it.scopedLive("a failover drops B's tier, which works again on the new master", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      const prefix = uniquePrefix("tier-sentinel")
      const sentinelPort = group.sentinels[0]?.port ?? 0
      const [first, second] = group.ports
      const where = { sentinel: { sentinels: group.sentinels, name: group.name } }
      const a = yield* RedisCache.make({ ...where, prefix, ...options, local: tier })
      const b = yield* reader({
        SENTINELS: group.sentinels.map(({ host, port }) => `${host}:${port}`).join(","),
        SENTINEL_NAME: group.name,
        PREFIX: prefix
      })
      yield* a.set("k", "before")
      yield* a.set("other", "before")
      yield* trackedOn([first, second], [2, 0])
      expect(yield* b.get("k")).toBe('hit "before"')
      expect(yield* b.get("other")).toBe('hit "before"')
      // Before the failover, as on one server: A's writes and writes behind the cache's back reach B.
      yield* Effect.promise(() => call(first, "SET", `${prefix}k`, '"cli"'))
      yield* b.until("k", 'hit "cli"')

      yield* Effect.promise(async () => {
        // A forced failover does not wait for the replica: it must hold what the test reads back after it.
        await until(
          "the replica holds the values written before the failover",
          async () =>
            (await call(second, "GET", `${prefix}other`)) === '"before"' &&
            (await call(second, "GET", `${prefix}k`)) === '"cli"'
        )
        await call(sentinelPort, "SENTINEL", "FAILOVER", group.name)
        await until("the sentinel names the replica", async () => (await group.master()) === second, 30_000)
      })
      // Changed on the new master, behind the cache's back: B must not keep what it held from the old one.
      yield* Effect.promise(() => call(second, "SET", `${prefix}k`, '"after"'))
      yield* b.until("k", 'hit "after"', 10_000)
      for (let i = 0; i < 20; i++) expect(yield* b.get("k")).toBe('hit "after"')
      expect(yield* b.get("other")).toBe('hit "before"')
      // A's and B's tracking pairs followed the master.
      yield* trackedOn([first, second], [0, 2])

      // B's tier works again: held, and every change arrives within 100 ms.
      yield* heldLocally(second, b, "k")
      yield* Effect.promise(() => call(second, "SET", `${prefix}k`, '"cli again"'))
      yield* b.until("k", 'hit "cli again"')
      yield* a.set("k", "by A")
      yield* b.until("k", 'hit "by A"')
      yield* a.delete("k")
      yield* b.until("k", "miss")
      yield* Effect.promise(() => call(second, "SET", `${prefix}other`, '"changed"'))
      yield* b.until("other", 'hit "changed"')
    })
  )
})
