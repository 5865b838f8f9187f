/**
 * A crash through Sentinel, on a group of our own: the master killed (SIGKILL) under versioned writes, the sentinel
 * promotes the replica, and the same cache, never rebuilt, follows it. Every write ends within a generous bound,
 * with an acknowledgement or a typed `CacheError`; what a replica confirmed (`WAIT`) before the crash is never lost,
 * and no acknowledged older version lands over a newer one afterwards. No assertion is on timings.
 */

import { call, sentinel, uniquePrefix, until } from "@cachet/dev"
import { confirmOnReplicas, expectVersions, versions } from "@cachet/dev/versions"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

describe("RedisCache through Sentinel, under a crash", () => {
  it.scopedLive("the master killed (kill -9) under versioned writes loses nothing confirmed, no write lands late", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      const prefix = uniquePrefix("sentinel-kill")
      // Short command timeouts and a short cooldown, so that failures come fast and recovery is noticed soon.
      const cache = yield* RedisCache.make({
        sentinel: { sentinels: group.sentinels, name: group.name },
        prefix,
        commandTimeout: "500 millis",
        connectTimeout: "5 seconds",
        circuitBreaker: { failureThreshold: 5, cooldown: "200 millis" }
      })
      const [first, second] = group.ports
      const run = yield* versions(
        cache,
        confirmOnReplicas([first], () => "marker"),
        Effect.promise(async () => {
          await group.kill(first)
          await until("the sentinel names the replica", async () => (await group.master()) === second, 30_000)
        })
      )
      // The crash was felt: some writes failed (typed, as `expectVersions` checks) while no master answered.
      expect(run.outcomes.some(Exit.isFailure)).toBe(true)
      yield* expectVersions(cache, run)
      // What the same cache wrote last is on the promoted replica.
      const last = run.names.map((name) => String((run.attempted.get(name) ?? 0) + 1))
      const stored = yield* Effect.forEach(run.names, (name) =>
        Effect.promise(() => call(second, "GET", `${prefix}${name}`))
      )
      expect(stored).toEqual(last)
    })
  )
})
