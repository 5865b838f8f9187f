/**
 * getOrSetMany on Redis, counted on the servers (INFO commandstats, MGET and EXEC include those run by Cachet's
 * scripts and transactions): one MGET (with its EXISTS) per hash slot for the read, one transaction per slot for the
 * write, on a standalone server and on a 3-master Cluster. Each test has servers of its own, as it resets their statistics.
 */
import type * as Cache from "@cachet/core/Cache"
import { server, startCluster, text } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

/** How many times the server on `port` ran `command`. */
const calls = async (port: number, command: string): Promise<number> =>
  Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(await text(port, "INFO", "commandstats"))?.[1] ?? "0")

const total = (ports: ReadonlyArray<number>, command: string) =>
  Effect.promise(async () => (await Promise.all(ports.map((port) => calls(port, command)))).reduce((a, b) => a + b, 0))

const resetStats = (ports: ReadonlyArray<number>) =>
  Effect.promise(() => Promise.all(ports.map((port) => text(port, "CONFIG", "RESETSTAT"))))

/** Ten cached keys, twenty to look up, in three hash slots ({a}, {b}, {c}); the misses in two of them. */
const keys = [
  ...Array.from({ length: 10 }, (_, i) => `{a}hit${i}`),
  ...Array.from({ length: 10 }, (_, i) => `{b}miss${i}`),
  ...Array.from({ length: 10 }, (_, i) => `{c}miss${i}`)
]

const scenario = (cache: Cache.Cache.Service, ports: ReadonlyArray<number>, slots: { read: number; write: number }) =>
  Effect.gen(function* () {
    yield* cache.setMany(keys.filter((key) => key.startsWith("{a}")).map((key) => [key, `cached ${key}`] as const))
    // Each node has run the read script once (its first call on a connection may send the script itself).
    yield* cache.getMany(keys)
    yield* resetStats(ports)
    const asked: Array<ReadonlyArray<string>> = []
    const answers = yield* cache.getOrSetMany(
      keys,
      (missing) =>
        Effect.sync(() => {
          asked.push(missing)
          return missing.map((key) => `looked up ${key}`)
        }),
      { timeToLive: "1 minute" }
    )
    expect(answers).toEqual(keys.map((key) => (key.startsWith("{a}") ? `cached ${key}` : `looked up ${key}`)))
    expect(asked).toEqual([keys.filter((key) => !key.startsWith("{a}"))])
    expect(yield* total(ports, "mget")).toBe(slots.read)
    expect(yield* total(ports, "exec")).toBe(slots.write)
    // With each MGET, an EXISTS of the same keys tells that no key is of another type: no script is needed.
    expect(yield* total(ports, "exists")).toBe(slots.read)
    const scripts = yield* Effect.all(["eval", "evalsha", "eval_ro", "evalsha_ro"].map((c) => total(ports, c)))
    expect(scripts.reduce((a, b) => a + b, 0)).toBe(0)
    // Stored: a second call reads everything back and looks nothing up.
    expect(yield* cache.getOrSetMany(keys, () => Effect.succeed([]))).toEqual(answers)
  })

describe("RedisCache getOrSetMany", () => {
  it.scopedLive("a standalone server: one MGET for the read, one transaction for the write", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const cache = yield* RedisCache.make({ url: s.url, prefix: "gosm:" })
      yield* scenario(cache, [s.port], { read: 1, write: 1 })
    })
  )

  const local = startCluster({ replicas: false })
  afterAll(async () => (await local).stop())

  it.scopedLive("a 3-master Cluster: one MGET per slot read, one transaction per slot written", () =>
    Effect.gen(function* () {
      const cluster = yield* Effect.promise(() => local)
      const cache = yield* RedisCache.make({ cluster: { nodes: cluster.nodes }, prefix: "gosm:" })
      yield* scenario(cache, cluster.ports, { read: 3, write: 2 })
    })
  )
})
