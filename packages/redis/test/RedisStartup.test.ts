/**
 * How the Redis layer starts, on real servers. The default startup checks the server and fails typed within the
 * connect timeout, naming the server and saying what to do; a lazy startup builds at once with the server down,
 * fails fast (and `failOpen` covers it) until the server comes up, and then the same layer serves.
 */
import type { ChildProcess } from "node:child_process"
import { Cache, CacheResult } from "@cachet/core"
import type { CacheError } from "@cachet/core/CacheError"
import { bounded, call, externalUrl, freePort, freePorts, launch, sentinel, startCluster, stop } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { attempt } from "./capture.js"

const fast = { connectTimeout: "2 seconds", commandTimeout: "500 millis" } as const

/** The layer's build fails; its error. */
const buildFails = <E>(layer: Layer.Layer<Cache.Cache, E>) =>
  Effect.flip(bounded(Effect.scoped(Layer.build(layer)), "10 seconds"))

/** A `redis-server` on `port` for the scope, started now. */
const serverOn = (port: number, args: ReadonlyArray<string> = []): Effect.Effect<void, never, Scope.Scope> =>
  Effect.asVoid(
    Effect.acquireRelease(
      Effect.promise(() => launch(port, args)),
      (child: ChildProcess) => Effect.promise(() => stop(child))
    )
  )

/** `effect` retried until it succeeds, bounded: a layer that reconnects in the background serves within that. */
const eventually = <A>(effect: Effect.Effect<A, CacheError>) =>
  bounded(Effect.retry(effect, Schedule.spaced("100 millis")), "20 seconds")

/**
 * What a lazily started layer does while its server is down: fail fast and typed (naming the server, when it is a
 * fixed one); under failOpen, miss.
 */
const servesNothingYet = (cache: Cache.Cache.Service, server?: string) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(bounded(cache.get("k")))
    expect(error._tag).toBe("CacheUnavailableError")
    if (server !== undefined) expect(error.message).toContain(server)
    const open = Cache.failOpen(cache)
    expect(yield* bounded(open.get("k"))).toEqual(CacheResult.miss)
    let lookups = 0
    const value = yield* bounded(
      open.getOrSet(
        "k",
        Effect.sync(() => {
          lookups++
          return "looked up"
        })
      )
    )
    expect(value).toBe("looked up")
    expect(lookups).toBe(1)
  })

/** A write and a read of the same layer, retried until the server it waited for answers. */
const servesOnceUp = (cache: Cache.Cache.Service) =>
  Effect.gen(function* () {
    yield* eventually(cache.set("k", "v"))
    expect(yield* bounded(cache.get("k"))).toEqual(CacheResult.hit("v"))
  })

describe.skipIf(externalUrl !== undefined)("default startup: typed failures that name the server", () => {
  it.scopedLive("a refused port: CONNECTION_REFUSED naming host:port", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const error = yield* buildFails(RedisCache.layer({ url: `redis://127.0.0.1:${port}`, ...fast }))
      expect(error).toMatchObject({ _tag: "CacheUnavailableError", code: "CONNECTION_REFUSED" })
      expect(error.message).toContain(`127.0.0.1:${port}`)
      expect(error.message).toContain("connection refused")
    })
  )

  it.scopedLive("bad cache options fail CacheInvalidInputError before any connection, even to a refused port", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const url = `redis://127.0.0.1:${port}`
      const bad: ReadonlyArray<Cache.Cache.Options> = [
        { local: { capacity: 0, timeToLive: "1 minute" } },
        { local: { capacity: 10, timeToLive: -1 } },
        { defaultTimeToLive: -1 },
        { timeToLiveJitter: 2 },
        { prefix: "a\u0000" }
      ]
      for (const options of bad) {
        const error = yield* buildFails(RedisCache.layer({ url, ...fast, ...options }))
        expect(error).toMatchObject({ _tag: "CacheInvalidInputError" })
      }
    })
  )

  it.scopedLive("a wrong password: names the server, says authentication failed, never the password", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      yield* serverOn(port, ["--requirepass", "right-one-4471"])
      const wrong = "wrong-one-9902"
      for (const options of [
        { url: `redis://:${wrong}@127.0.0.1:${port}` },
        { host: "127.0.0.1", port, password: Redacted.make(wrong) }
      ]) {
        const { error, everything } = yield* attempt(RedisCache.layer({ ...options, ...fast }))
        expect(error).toMatchObject({ _tag: "CacheUnavailableError", code: "AUTH_FAILED" })
        expect(error?.message).toContain(`127.0.0.1:${port}`)
        expect(error?.message).toContain("authentication failed")
        expect(everything).not.toContain(wrong)
      }
    })
  )

  it.scopedLive("Sentinel with a wrong master name: the sentinels know no master of that name", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      const sentinels = group.sentinels.map(({ host, port }) => `${host}:${port}`)
      const error = yield* buildFails(RedisCache.layer({ sentinel: { sentinels, name: "nope" }, ...fast }))
      expect(error._tag).toBe("CacheUnavailableError")
      expect(error.message).toContain('the sentinels know no master named "nope"')
      for (const address of sentinels) expect(error.message).toContain(address)
    })
  )

  it.scopedLive("a Cluster with no reachable node: names every node tried", () =>
    Effect.gen(function* () {
      const ports = yield* Effect.promise(() => freePorts(2))
      const nodes = ports.map((port) => `127.0.0.1:${port}`)
      const error = yield* buildFails(RedisCache.layer({ cluster: { nodes }, ...fast }))
      expect(["CacheUnavailableError", "CacheTimeoutError"]).toContain(error._tag)
      for (const node of nodes) expect(error.message).toContain(node)
    })
  )
})

describe.skipIf(externalUrl !== undefined)("lazy startup", () => {
  it.scopedLive("with the server down: builds, fails fast and typed, failOpen misses; then the same layer serves", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const layer = RedisCache.layer({ url: `redis://127.0.0.1:${port}`, startup: "lazy", ...fast })
      const cache = Context.get(yield* bounded(Layer.build(layer)), Cache.Cache)
      yield* servesNothingYet(cache, `127.0.0.1:${port}`)
      yield* serverOn(port)
      yield* servesOnceUp(cache)
    })
  )

  it.scopedLive("from the environment: CACHE_STARTUP=lazy", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const environment = { REDIS_URL: `redis://127.0.0.1:${port}`, CACHE_STARTUP: "lazy" }
      const provider = Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(environment))))
      const cache = Context.get(
        yield* bounded(Layer.build(RedisCache.layerConfig().pipe(Layer.provide(provider)))),
        Cache.Cache
      )
      yield* servesNothingYet(cache)
      yield* serverOn(port)
      yield* servesOnceUp(cache)
    })
  )

  it.scopedLive("a Cluster that starts after the layer", () =>
    Effect.gen(function* () {
      const ports = yield* Effect.promise(() => freePorts(3))
      const layer = RedisCache.layer({
        cluster: { nodes: ports.map((port) => ({ host: "127.0.0.1", port })) },
        startup: "lazy",
        ...fast
      })
      const cache = Context.get(yield* bounded(Layer.build(layer)), Cache.Cache)
      yield* servesNothingYet(cache)
      yield* Effect.acquireRelease(
        Effect.promise(() => startCluster({ replicas: false, ports })),
        (c) => Effect.promise(() => c.stop())
      )
      yield* servesOnceUp(cache)
    })
  )

  it.scopedLive("through Sentinel: serves a running group; a wrong master name fails fast and typed", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      const sentinels = group.sentinels.map(({ host, port }) => `${host}:${port}`)
      const good = Context.get(
        yield* bounded(
          Layer.build(RedisCache.layer({ sentinel: { sentinels, name: group.name }, startup: "lazy", ...fast }))
        ),
        Cache.Cache
      )
      yield* servesOnceUp(good)
      const wrong = Context.get(
        yield* bounded(
          Layer.build(RedisCache.layer({ sentinel: { sentinels, name: "nope" }, startup: "lazy", ...fast }))
        ),
        Cache.Cache
      )
      yield* servesNothingYet(wrong)
      // The group is fine meanwhile: the wrong layer failed on its own.
      expect(yield* Effect.promise(() => call(group.ports[0], "PING"))).toBe("PONG")
    })
  )

  it.live("still refuses bad options at build time", () =>
    Effect.gen(function* () {
      const invalid = { _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT" } as const
      for (const options of [
        { url: "garbage" },
        { url: "redis://127.0.0.1:99999" },
        { cluster: { nodes: [] } },
        { sentinel: { sentinels: ["127.0.0.1:26379"], name: "" } },
        { connectTimeout: -1 }
      ] satisfies ReadonlyArray<RedisCache.RedisCacheOptions>) {
        expect(yield* buildFails(RedisCache.layer({ ...options, startup: "lazy" }))).toMatchObject(invalid)
      }
      // What a caller without the types passes (JavaScript, options read from a file).
      const bogus = { startup: "eager" } as unknown as RedisCache.RedisCacheOptions
      expect(yield* buildFails(RedisCache.layer(bogus))).toMatchObject(invalid)
      // Options of the wrong kind or shape, or that throw when read: refused by name, never echoing a value.
      const secret = "hunter2-not-redacted"
      const throwing = Object.defineProperty({}, "commandTimeout", {
        enumerable: true,
        get: () => {
          throw new Error("the getter broke")
        }
      })
      const hostile = new Proxy(
        {},
        {
          get: () => {
            throw new Error("the proxy broke")
          }
        }
      )
      const sentinels = ["127.0.0.1:26379"]
      for (const options of [
        null,
        5,
        { batching: "yes" },
        { autoPipelining: 1 },
        { password: secret },
        { url: "redis://127.0.0.1:6390", username: 5 },
        { tls: "on" },
        { connectionName: {} },
        { cluster: null },
        { cluster: {} },
        { cluster: { nodes: [null] } },
        { sentinel: { sentinels } },
        { sentinel: { name: "mymaster" } },
        { sentinel: { name: "mymaster", sentinels: [null] } },
        { sentinel: { name: "mymaster", sentinels, sentinelPassword: secret } },
        throwing,
        hostile
      ]) {
        const layer = RedisCache.layer(options as unknown as RedisCache.RedisCacheOptions)
        const error = yield* buildFails(layer)
        expect(error).toMatchObject(invalid)
        expect(error.message).not.toContain(secret)
      }
      const provider = Layer.setConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["REDIS_URL", "redis://127.0.0.1:6390"],
            ["CACHE_STARTUP", "eager"]
          ])
        )
      )
      const error = yield* buildFails(RedisCache.layerConfig().pipe(Layer.provide(provider)))
      expect(ConfigError.isConfigError(error)).toBe(true)
    })
  )
})
