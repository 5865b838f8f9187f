import * as Cache from "@cachet/core/Cache"
import * as CacheResult from "@cachet/core/CacheResult"
import { admin, anyServer, externalUrl, redisCli, server, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
import { standaloneCommands } from "./aclCommands.js"

// These reconfigure a server or fill it with foreign keys: never on a shared one given by REDIS_URL.
const ownServerOnly = externalUrl !== undefined

const withConfig = (map: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(map))))

describe("RedisCache", () => {
  it.scopedLive.skipIf(ownServerOnly)(
    "what Cachet writes under the JSON codec is plain JSON that redis-cli reads",
    () =>
      Effect.gen(function* () {
        const s = yield* server()
        const cache = yield* RedisCache.make({ url: s.url, prefix: "app:" })
        const user = { id: 1, name: "Ada Lovelace", tags: ["math", "ünïcødé"], active: true, manager: null }
        yield* cache.set("user:1", user)
        const raw = yield* redisCli(s.port, "--raw", "GET", "app:user:1")
        expect(JSON.parse(raw)).toEqual(user)
        yield* cache.namespace("users").set("2", "plain")
        expect((yield* redisCli(s.port, "--raw", "GET", "app:users:2")).trim()).toBe('"plain"')
        yield* cache.increment("hits", 2n ** 60n)
        expect((yield* redisCli(s.port, "--raw", "GET", "app:hits")).trim()).toBe(String(2n ** 60n))
      })
  )

  it.scopedLive.skipIf(ownServerOnly)(
    "clear and deletePattern delete exactly this cache's keys among 10,000 foreign ones",
    () =>
      Effect.gen(function* () {
        const s = yield* server()
        const redis = yield* admin(s.url)
        // Foreign keys, many of which the unescaped patterns `app[1]:*` and `p\x*:*` would match.
        const foreign: Array<string> = []
        for (let i = 0; i < 10_000; i++) {
          foreign.push(
            i % 4 === 0 ? `app1:${i}` : i % 4 === 1 ? `other:${i}` : i % 4 === 2 ? `app[1]x:${i}` : `px:${i}`
          )
        }
        foreign.push("app[1]", "app[1", "APP[1]:x", "app[1];x")
        for (let i = 0; i < foreign.length; i += 1000) {
          yield* Effect.promise(() => redis.mset(...foreign.slice(i, i + 1000).flatMap((k) => [k, "foreign"])))
        }
        const before = yield* Effect.promise(() => redis.dbsize())
        expect(before).toBe(foreign.length)

        for (const prefix of ["app[1]:", "p\\x*:"]) {
          const cache = yield* RedisCache.make({ url: s.url, prefix })
          const ours = ["a", "a*b", "a?c", "[x]", "ключ", "日本", "b\\c", "sub:1", "sub:2"]
          for (const key of ours) yield* cache.set(key, key)
          yield* cache.namespace("ns").set("inner", 1)
          expect(yield* cache.deletePattern("a*")).toBe(3)
          expect(yield* cache.namespace("ns").clear()).toBe(1)
          expect(yield* Stream.runCollect(cache.keys("sub:*")).pipe(Effect.map((c) => [...c].sort()))).toEqual([
            "sub:1",
            "sub:2"
          ])
          expect(yield* cache.clear()).toBe(ours.length - 3)
          expect(yield* cache.clear()).toBe(0)
          expect(yield* Effect.promise(() => redis.dbsize())).toBe(foreign.length)
        }
      })
  )

  it.scopedLive.skipIf(ownServerOnly)("an ACL user limited to ~<prefix>* can run every operation", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      yield* Effect.promise(() =>
        redis.call(
          "ACL",
          "SETUSER",
          "cachet",
          "on",
          ">acl-password-1",
          "resetkeys",
          "~acl:*",
          "resetchannels",
          "-@all",
          ...standaloneCommands.map((command) => `+${command}`)
        )
      )
      const options = { url: s.url, username: "cachet", password: Redacted.make("acl-password-1") }
      const cache = yield* RedisCache.make({ ...options, prefix: "acl:" })
      yield* cache.set("a", 1, { timeToLive: "1 minute" })
      yield* cache.setMany([
        ["b", 2],
        ["c", 3]
      ])
      expect(yield* cache.add("d", 4)).toBe(true)
      expect(yield* cache.get("a")).toEqual(CacheResult.hit(1))
      expect((yield* cache.getMany(["a", "b", "zz"])).map(CacheResult.isHit)).toEqual([true, true, false])
      expect(yield* cache.has("a")).toBe(true)
      expect(Option.isSome(CacheResult.getOrElse(yield* cache.timeToLive("a"), () => Option.none()))).toBe(true)
      expect(yield* cache.expire("b", "1 minute")).toBe(true)
      expect(yield* cache.persist("b")).toBe(true)
      expect(yield* cache.increment("n", 5)).toBe(5n)
      expect(yield* cache.decrement("n")).toBe(4n)
      expect(yield* cache.getOrSet("lazy", Effect.succeed("computed"))).toBe("computed")
      expect(yield* cache.delete("c")).toBe(true)
      expect(yield* cache.deleteMany(["d", "zz"])).toBe(1)
      expect((yield* Stream.runCollect(cache.keys())).length).toBe(4)
      expect(yield* cache.deletePattern("l*")).toBe(1)
      yield* cache.ping
      expect(yield* cache.namespace("x").clear()).toBe(0)
      expect(yield* cache.clear()).toBe(3)
      // The user really is limited: outside its prefix it is refused.
      const outside = yield* RedisCache.make({ ...options, prefix: "elsewhere:" })
      expect(yield* Effect.flip(outside.set("a", 1))).toMatchObject({
        _tag: "CacheCommandError",
        code: "NO_PERMISSION"
      })
      expect(yield* Effect.flip(outside.increment("a"))).toMatchObject({ code: "NO_PERMISSION" })
    })
  )

  it.scopedLive("increments exactly near 2^53 and 2^63 through the service", () =>
    Effect.gen(function* () {
      const { url } = yield* anyServer
      const cache = yield* RedisCache.make({ url, prefix: uniquePrefix("int") })
      yield* cache.set("n", 2 ** 53 - 1)
      expect(yield* cache.increment("n", 2)).toBe(2n ** 53n + 1n)
      expect(yield* cache.increment("m", 9223372036854775800n)).toBe(9223372036854775800n)
      expect(yield* cache.increment("m", 7n)).toBe(2n ** 63n - 1n)
      expect(yield* Effect.flip(cache.increment("m"))).toMatchObject({ code: "OVERFLOW" })
      expect(yield* cache.decrement("low", 2n ** 63n)).toBe(-(2n ** 63n))
      yield* cache.clear()
    })
  )

  it.scopedLive.skipIf(ownServerOnly)("layerConfig reads the environment; durations go through parseTimeToLive", () =>
    Effect.gen(function* () {
      const s = yield* server(["--requirepass", "env-password"])
      const environment = {
        REDIS_HOST: "127.0.0.1",
        REDIS_PORT: String(s.port),
        REDIS_PASSWORD: "env-password",
        CACHE_PREFIX: "env:",
        CACHE_DEFAULT_TTL: "1m30s",
        CACHE_COMMAND_TIMEOUT: "500ms"
      }
      const program = Effect.gen(function* () {
        const cache = yield* Cache.Cache
        yield* cache.set("k", "v")
        return yield* cache.timeToLive("k")
      })
      const ttl = yield* program.pipe(
        Effect.provide(RedisCache.layerConfig().pipe(Layer.provide(withConfig(environment))))
      )
      const remaining = Option.getOrThrow(CacheResult.getOrElse(ttl, () => Option.none<Duration.Duration>()))
      expect(Duration.toMillis(remaining)).toBeGreaterThan(85_000)
      expect(Duration.toMillis(remaining)).toBeLessThanOrEqual(90_000)
      const redis = new Redis(s.url, { password: "env-password", lazyConnect: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => redis.disconnect()))
      expect(yield* Effect.promise(() => redis.exists("env:k"))).toBe(1)

      const badDuration = yield* Effect.exit(
        Effect.provide(
          program,
          RedisCache.layerConfig().pipe(Layer.provide(withConfig({ ...environment, CACHE_DEFAULT_TTL: "1hfoo" })))
        )
      )
      expect(badDuration).toMatchObject({ _tag: "Failure" })
      if (Exit.isFailure(badDuration)) {
        expect(JSON.stringify(badDuration.cause)).toContain("INVALID_DURATION")
      }
      const badPort = yield* Effect.exit(
        Effect.provide(
          program,
          RedisCache.layerConfig().pipe(Layer.provide(withConfig({ ...environment, REDIS_PORT: "not-a-port" })))
        )
      )
      expect(Exit.isFailure(badPort)).toBe(true)
      // REDIS_URL, with the password in it.
      const viaUrl = yield* program.pipe(
        Effect.provide(
          RedisCache.layerConfig().pipe(
            Layer.provide(withConfig({ REDIS_URL: `redis://:env-password@127.0.0.1:${s.port}`, CACHE_PREFIX: "env2:" }))
          )
        )
      )
      expect(viaUrl).toEqual(CacheResult.hit(Option.none()))
    })
  )

  it.scopedLive(
    "layerConfig without any Redis location, or with an empty CACHE_PREFIX, fails naming the variables",
    () =>
      Effect.gen(function* () {
        const nowhere = yield* Effect.exit(Layer.build(RedisCache.layerConfig().pipe(Layer.provide(withConfig({})))))
        expect(Exit.isFailure(nowhere)).toBe(true)
        if (Exit.isFailure(nowhere)) {
          const text = Cause.pretty(nowhere.cause)
          for (const variable of ["REDIS_URL", "REDIS_HOST", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS"]) {
            expect(text).toContain(variable)
          }
        }
        const blankPrefix = yield* Effect.exit(
          Layer.build(
            RedisCache.layerConfig().pipe(
              Layer.provide(withConfig({ REDIS_URL: "redis://127.0.0.1:1", CACHE_PREFIX: "" }))
            )
          )
        )
        expect(Exit.isFailure(blankPrefix)).toBe(true)
        if (Exit.isFailure(blankPrefix)) expect(Cause.pretty(blankPrefix.cause)).toContain("CACHE_PREFIX is empty")
      })
  )

  it.scopedLive("layerFromClient uses a client the user owns and leaves it open", () =>
    Effect.gen(function* () {
      const { url } = yield* anyServer
      const redis = new Redis(url, { lazyConnect: true })
      yield* Effect.addFinalizer(() => Effect.promise(() => redis.quit()))
      const prefix = uniquePrefix("owned")
      yield* Effect.scoped(
        Layer.build(RedisCache.layerFromClient(redis, { prefix })).pipe(
          Effect.flatMap((context) =>
            Effect.gen(function* () {
              const cache = yield* Cache.Cache
              yield* cache.set("k", "v")
              expect(yield* cache.get("k")).toEqual(CacheResult.hit("v"))
              yield* cache.clear()
            }).pipe(Effect.provide(context))
          )
        )
      )
      expect(redis.status).toBe("ready")
      expect(yield* Effect.promise(() => redis.ping())).toBe("PONG")
    })
  )
})
