/**
 * A server that refuses CLIENT TRACKING (an ACL user without it, a renamed command): without a mode the layer says so
 * once at warning level and keeps the tier coherent by the bus; with `invalidation: "tracking"` asked explicitly, it
 * fails with a message that says why.
 */

import { CacheInvalidInputError } from "@cachet/core/CacheError"
import { call, server, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { standaloneCommands } from "./aclCommands.js"
import { arrives, hitValue, logged } from "./localTier.js"

/** Two caches on `where` with a tier: B sees A's writes. */
const coherent = (options: RedisCache.RedisCacheOptions) =>
  Effect.gen(function* () {
    const [a, linesA] = yield* logged(RedisCache.make(options))
    const b = yield* RedisCache.make(options)
    yield* a.set("k", 1)
    expect(hitValue(yield* b.get("k"))).toBe(1)
    yield* a.set("k", 2)
    yield* arrives(Effect.map(b.get("k"), hitValue), 2)
    return linesA
  })

const refusedExplicitly = (options: RedisCache.RedisCacheOptions) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(RedisCache.make(options))
    expect(error).toBeInstanceOf(CacheInvalidInputError)
    expect(error.message).toContain("refused CLIENT TRACKING")
    expect(error.message).toContain('"bus"')
  })

const local = { capacity: 100, timeToLive: "1 minute" } as const

describe("a server that refuses CLIENT TRACKING", () => {
  it.scopedLive("an ACL user without client|tracking: the bus, with one warning; tracking asked explicitly fails", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const prefix = uniquePrefix("refused")
      yield* Effect.promise(() =>
        call(
          s.port,
          "ACL",
          "SETUSER",
          "no-tracking",
          "on",
          ">pw-no-tracking",
          `~${prefix}*`,
          "resetchannels",
          `&${prefix}cachet:invalidate`,
          "nocommands",
          ...[...standaloneCommands, "publish", "subscribe", "client|id"].map((command) => `+${command}`)
        )
      )
      const options = { url: s.url, username: "no-tracking", password: Redacted.make("pw-no-tracking"), prefix }
      const lines = yield* coherent({ ...options, local })
      const warnings = lines.filter((line) => line.level === "WARN" && line.message.includes("CLIENT TRACKING"))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]?.message).not.toContain("pw-no-tracking")
      yield* refusedExplicitly({ ...options, local: { ...local, invalidation: "tracking" } })
    })
  )

  it.scopedLive("a renamed CLIENT command: the bus without a mode; tracking asked explicitly fails", () =>
    Effect.gen(function* () {
      const s = yield* server(["--rename-command", "CLIENT", "hidden-client-command"])
      const prefix = uniquePrefix("renamed")
      const lines = yield* coherent({ url: s.url, prefix, local })
      expect(lines.some((line) => line.level === "WARN" && line.message.includes("CLIENT TRACKING"))).toBe(true)
      yield* refusedExplicitly({ url: s.url, prefix, local: { ...local, invalidation: "tracking" } })
    })
  )
})
