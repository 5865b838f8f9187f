/**
 * Failovers under traffic, on servers of our own: a Redis Cluster with a replica per master (a manual failover,
 * then a killed master) and a Sentinel group (a forced failover). While it runs, every operation ends within a
 * generous bound, with a value or a typed `CacheError`; afterwards the same cache, never rebuilt, reads and writes
 * again. No assertion is on timings.
 */
import * as Cache from "@cachet/core/Cache"
import * as CacheError from "@cachet/core/CacheError"
import { bounded, call, clusterNodes, pause, sentinel, startCluster, text, uniquePrefix, until } from "@cachet/dev"
import { confirmOnReplicas, expectTyped, expectVersions, versions } from "@cachet/dev/versions"
import { RedisCache } from "@cachet/redis"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"

const local = await startCluster({ replicas: true })
afterAll(() => local.stop())

// Short command timeouts and a short cooldown, so that failures come fast and recovery is noticed soon.
const options = {
  commandTimeout: "500 millis",
  connectTimeout: "5 seconds",
  circuitBreaker: { failureThreshold: 5, cooldown: "200 millis" }
} as const

const keys = Array.from({ length: 48 }, (_, i) => `key-${i}`)

/** A cache on the Cluster under a prefix of its own, every key written once. */
const seeded = (name: string) =>
  RedisCache.make({ cluster: { nodes: local.nodes }, prefix: uniquePrefix(name), ...options }).pipe(
    Effect.tap((cache) => cache.setMany(keys.map((key) => [key, "before"] as const)))
  )

/**
 * Gets, sets and getMany from six fibers until `disrupt` is over, then a little longer; each operation bounded by
 * five seconds (ten times the command timeout). Every outcome is returned.
 */
const duringTraffic = (cache: Cache.Cache.Service, disrupt: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const outcomes: Array<Exit.Exit<unknown, CacheError.CacheError>> = []
    let running = true
    const worker = (w: number) =>
      Effect.gen(function* () {
        for (let i = 0; running; i++) {
          const key = keys[(w * 11 + i) % keys.length] ?? "key-0"
          const operation =
            i % 4 === 3 ? cache.getMany(keys.slice(0, 12)) : i % 2 === 0 ? cache.set(key, i) : cache.get(key)
          outcomes.push(yield* bounded(Effect.exit(operation), "5 seconds"))
          yield* Effect.sleep("5 millis")
        }
      })
    const fibers = yield* Effect.forEach(
      Array.from({ length: 6 }, (_, w) => w),
      (w) => Effect.fork(worker(w))
    )
    yield* Effect.sleep("300 millis")
    yield* disrupt
    yield* Effect.sleep("500 millis")
    running = false
    yield* Fiber.joinAll(fibers)
    return outcomes
  })

/** The same cache writes and reads every key again, tried until it does (within 30 seconds). */
const recovers = (cache: Cache.Cache.Service, value: string) =>
  bounded(
    Effect.forEach(keys, (key) => cache.set(key, value), { discard: true }).pipe(
      Effect.zipRight(cache.getMany(keys)),
      Effect.retry(Schedule.spaced("100 millis")),
      Effect.tap((results) => expect(results.every((result) => result._tag === "CacheHit")).toBe(true))
    ),
    "30 seconds"
  )

/** The Cluster as the first node that answers sees it (a test before may have killed some). */
const view = Effect.promise(async () => {
  for (const port of local.ports) {
    const nodes = await clusterNodes(port).catch(() => undefined)
    if (nodes !== undefined) return nodes
  }
  throw new Error("no node answers")
})

const clusterOk = (ports: ReadonlyArray<number>) =>
  until("cluster_state:ok", async () =>
    (await Promise.all(ports.map((port) => text(port, "CLUSTER", "INFO")))).every((info) =>
      info.includes("cluster_state:ok")
    )
  )

/** A key served by the master on `port` (by its slot ranges), for writing on that master directly. */
const keyOn = (port: number) =>
  Effect.promise(async () => {
    const master = (await clusterNodes(port)).find((node) => node.port === port)
    for (let i = 0; master !== undefined && i < 100_000; i++) {
      const key = `marker-${i}`
      const slot = Number(await call(port, "CLUSTER", "KEYSLOT", key))
      if (master.slots.some(([from, to]) => slot >= from && slot <= to)) return key
    }
    throw new Error(`no key found for ${port}`)
  })

describe("RedisCache through failovers", () => {
  it.scopedLive("Cluster: CLUSTER FAILOVER under traffic, then the same cache reads and writes", () =>
    Effect.gen(function* () {
      const cache = yield* seeded("manual")
      const replica = (yield* view).find((node) => node.role === "replica")
      if (replica === undefined) throw new Error("no replica")
      const outcomes = yield* duringTraffic(
        cache,
        Effect.promise(async () => {
          await call(replica.port, "CLUSTER", "FAILOVER")
          await until("the replica is master", async () =>
            (await text(replica.port, "INFO", "replication")).includes("role:master")
          )
          await clusterOk(local.ports)
        })
      )
      expectTyped(outcomes)
      yield* recovers(cache, "after")
    })
  )

  it.scopedLive("Cluster: a master killed under traffic, then the same cache reads and writes", () =>
    Effect.gen(function* () {
      const cache = yield* seeded("kill")
      const nodes = yield* view
      const master = nodes.find((node) => node.role === "master" && nodes.some((n) => n.masterId === node.id))
      const replica = nodes.find((node) => master !== undefined && node.masterId === master.id)
      if (master === undefined || replica === undefined) throw new Error("no master with a replica")
      const survivors = local.ports.filter((port) => port !== master.port)
      const outcomes = yield* duringTraffic(
        cache,
        Effect.promise(async () => {
          await local.kill(master.port)
          await until(
            "its replica took over",
            async () => (await text(replica.port, "INFO", "replication")).includes("role:master"),
            30_000
          )
          await clusterOk(survivors)
        })
      )
      expectTyped(outcomes)
      expect(outcomes.some(Exit.isFailure)).toBe(true)
      yield* recovers(cache, "after")
    })
  )

  it.scopedLive("Sentinel: a forced failover under traffic, then the same cache writes to the new master", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      const prefix = uniquePrefix("sentinel")
      const sentinelPort = group.sentinels[0]?.port ?? 0
      // A sentinel user with only what the README lists.
      yield* Effect.promise(() =>
        call(
          sentinelPort,
          "ACL",
          "SETUSER",
          "watcher",
          "on",
          ">watcher-password",
          "resetchannels",
          "&+switch-master",
          "-@all",
          ...["sentinel|get-master-addr-by-name", "sentinel|sentinels", "subscribe", "hello", "auth"].map(
            (c) => `+${c}`
          )
        )
      )
      const cache = yield* RedisCache.make({
        sentinel: {
          sentinels: group.sentinels,
          name: group.name,
          sentinelUsername: "watcher",
          sentinelPassword: Redacted.make("watcher-password")
        },
        prefix,
        ...options
      })
      const [first, second] = group.ports
      yield* cache.set("where", "first")
      expect(yield* Effect.promise(() => call(first, "GET", `${prefix}where`))).toBe('"first"')
      // A replica refuses writes: READONLY is a retryable CacheUnavailableError (and makes the connection ask again).
      const direct = yield* RedisCache.makeBackend({ port: second, host: "127.0.0.1", ...options })
      const refused = yield* Effect.flip(direct.set(`${prefix}direct`, "v", undefined))
      expect(refused).toMatchObject({ _tag: "CacheUnavailableError", code: "READONLY" })
      expect(CacheError.isRetryable(refused)).toBe(true)

      const outcomes = yield* duringTraffic(
        cache,
        Effect.promise(async () => {
          await call(sentinelPort, "SENTINEL", "FAILOVER", group.name)
          await until("the sentinel names the replica", async () => (await group.master()) === second)
        })
      )
      expectTyped(outcomes)
      // Written to the new master, by the same cache.
      yield* bounded(
        cache.set("where", "second").pipe(
          Effect.zipRight(Effect.promise(() => call(second, "GET", `${prefix}where`))),
          Effect.filterOrFail((value) => value === '"second"'),
          Effect.retry(Schedule.spaced("100 millis"))
        ),
        "30 seconds"
      )
      yield* recovers(cache, "after")
      // Nothing the cache asked of the sentinel was refused.
      expect(yield* Effect.promise(() => call(sentinelPort, "ACL", "LOG"))).toEqual([])

      // From the environment.
      const environment = {
        REDIS_SENTINELS: group.sentinels.map(({ host, port }) => `${host}:${port}`).join(","),
        REDIS_SENTINEL_NAME: group.name,
        CACHE_PREFIX: prefix
      }
      const fromEnvironment = (map: Record<string, string>) =>
        RedisCache.layerConfig().pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(map)))))
        )
      const read = yield* Cache.get("where").pipe(Effect.provide(fromEnvironment(environment)))
      expect(read).toMatchObject({ _tag: "CacheHit", value: "second" })
      const { REDIS_SENTINEL_NAME: _, ...withoutName } = environment
      expect(yield* Effect.exit(Layer.build(fromEnvironment(withoutName)))).toMatchObject({ _tag: "Failure" })
    })
  )

  for (const fault of ["kill -9", "SIGSTOP"] as const) {
    it.scopedLive(
      `Cluster: a master stopped by ${fault} under versioned writes loses nothing confirmed, no write lands late`,
      () =>
        Effect.gen(function* () {
          const cache = yield* RedisCache.make({
            cluster: { nodes: local.nodes },
            prefix: uniquePrefix(`versions-${fault}`),
            ...options
          })
          const nodes = yield* view
          const masters = nodes.filter((node) => node.role === "master" && nodes.some((n) => n.masterId === node.id))
          const master = masters[0]
          const replica = nodes.find((node) => master !== undefined && node.masterId === master.id)
          if (master === undefined || replica === undefined) throw new Error("no master with a replica")
          const markers = new Map<number, string>()
          for (const { port } of masters) markers.set(port, yield* keyOn(port))
          const survivors = nodes.map((node) => node.port).filter((port) => port !== master.port)
          let resume = () => {}
          yield* Effect.addFinalizer(() => Effect.sync(() => resume()))
          const run = yield* versions(
            cache,
            confirmOnReplicas(
              masters.map((node) => node.port),
              (port) => markers.get(port) ?? "marker"
            ),
            Effect.promise(async () => {
              if (fault === "kill -9") await local.kill(master.port)
              else resume = await pause(master.port)
              await until(
                "its replica took over",
                async () => (await text(replica.port, "INFO", "replication")).includes("role:master"),
                30_000
              )
              await clusterOk(survivors)
            })
          )
          // Back from its pause, the old master rejoins as a replica of the new one.
          resume()
          yield* expectVersions(cache, run)
        })
    )
  }

  it.scopedLive(
    "Sentinel: a master paused (SIGSTOP) under versioned writes loses nothing confirmed, no write lands late",
    () =>
      Effect.gen(function* () {
        const group = yield* sentinel
        const cache = yield* RedisCache.make({
          sentinel: { sentinels: group.sentinels, name: group.name },
          prefix: uniquePrefix("sentinel-versions"),
          ...options
        })
        const [first, second] = group.ports
        let resume = () => {}
        yield* Effect.addFinalizer(() => Effect.sync(() => resume()))
        const run = yield* versions(
          cache,
          confirmOnReplicas([first], () => "marker"),
          Effect.promise(async () => {
            resume = await pause(first)
            await until("the sentinel names the replica", async () => (await group.master()) === second, 30_000)
          })
        )
        resume()
        yield* expectVersions(cache, run)
      })
  )
})
