/**
 * No password reaches a failure, a log line or the console: malformed URLs and addresses are refused typed without
 * echoing them, and refused logins (wrong password, wrong ACL user, wrong sentinel password) fail typed with the
 * password nowhere in the `Exit`, its causes, what was logged, or what was printed.
 */
import type { CacheError } from "@cachet/core/CacheError"
import { call, externalUrl, freePort, sentinel, server } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { attempt } from "./capture.js"

const secret = "s3cret-Pa55word-7731"
const fast = { connectTimeout: "2 seconds", commandTimeout: "500 millis" } as const

/** The layer fails with `expected`, and the secret appears nowhere. */
const failsWithoutSecret = <A, E>(layer: Layer.Layer<A, E>, expected: Partial<CacheError>) =>
  Effect.gen(function* () {
    const { exit, error, everything } = yield* attempt(layer)
    expect(Exit.isFailure(exit)).toBe(true)
    expect(error).toMatchObject(expected)
    expect(everything).not.toContain(secret)
    expect(everything).not.toContain(encodeURIComponent(secret))
  })

const invalidArgument = { _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT" } as const

const malformedUrls = [
  `redis://:${secret}@127.0.0.1:99999`,
  `redis://user:${secret}@127.0.0.1:0`,
  `redis://:${secret}@127.0.0.1:port`,
  `http://:${secret}@127.0.0.1:6380`,
  `mongodb://admin:${secret}@127.0.0.1:27017/db`,
  `${secret}`,
  `:${secret}@127.0.0.1:6380`,
  `redis//:${secret}@127.0.0.1`,
  `redis://:${secret}@`,
  `redis://:${secret}@[::1`,
  `redis://:${secret}@127.0.0.1:6380/not-a-db`,
  `redis://:${secret}@127.0.0.1:6380/-1`,
  `redis://:${secret}%zz@127.0.0.1:6380`,
  `redis://127.0.0.1:6380?password=${secret}`,
  `redis://127.0.0.1:6380#${secret}`,
  `rediss://:${secret}@127.0.0.1:65536`,
  `redis://:${secret}@ white space:6380`
]

describe("secrets in malformed options", () => {
  it.live.each(malformedUrls)("url %# is refused as CacheInvalidInputError without echoing it", (url) =>
    Effect.gen(function* () {
      yield* failsWithoutSecret(RedisCache.layer({ url, ...fast }), invalidArgument)
      yield* failsWithoutSecret(RedisCache.layer({ url: Redacted.make(url), ...fast }), invalidArgument)
    })
  )

  it.live("a url of another scheme is refused as such", () =>
    Effect.gen(function* () {
      for (const url of ["http://127.0.0.1:6380", "mongodb://127.0.0.1:27017", "127.0.0.1:6380", "garbage"]) {
        const { error } = yield* attempt(RedisCache.layer({ url, ...fast }))
        expect(error).toMatchObject(invalidArgument)
        expect(error?.message).toContain("redis://")
      }
    })
  )

  it.live("host, port and db out of range are refused", () =>
    Effect.gen(function* () {
      const shapes: ReadonlyArray<RedisCache.RedisCacheOptions> = [
        { port: 99999 },
        { port: 0 },
        { port: 1.5 },
        { host: "" },
        { db: -1 },
        { db: 0.5 },
        { host: "127.0.0.1", port: 70000, password: Redacted.make(secret) }
      ]
      for (const shape of shapes) {
        yield* failsWithoutSecret(RedisCache.layer({ ...shape, ...fast }), invalidArgument)
      }
    })
  )

  it.live("sentinel and cluster addresses with passwords are refused without echoing them", () =>
    Effect.gen(function* () {
      const addresses = [
        `redis://:${secret}@127.0.0.1:26379`,
        `redis://user:${secret}@127.0.0.1:7000`,
        `http://:${secret}@127.0.0.1:7000`,
        `127.0.0.1:${secret}`,
        `redis://127.0.0.1:7000?password=${secret}`,
        `${secret}@127.0.0.1:7000`
      ]
      for (const address of addresses) {
        yield* failsWithoutSecret(
          RedisCache.layer({ sentinel: { sentinels: [address], name: "cachet" }, ...fast }),
          invalidArgument
        )
        yield* failsWithoutSecret(RedisCache.layer({ cluster: { nodes: [address] }, ...fast }), invalidArgument)
      }
    })
  )

  it.live("layerConfig: a malformed REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES holding a password", () =>
    Effect.gen(function* () {
      const environments: ReadonlyArray<Record<string, string>> = [
        { REDIS_URL: `redis://:${secret}@127.0.0.1:99999` },
        { REDIS_URL: `http://user:${secret}@127.0.0.1:6380` },
        { REDIS_SENTINELS: `redis://:${secret}@127.0.0.1:26379`, REDIS_SENTINEL_NAME: "cachet" },
        { REDIS_CLUSTER_NODES: `127.0.0.1:7000,redis://:${secret}@127.0.0.1:7001` }
      ]
      for (const environment of environments) {
        const provider = Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(environment))))
        yield* failsWithoutSecret(RedisCache.layerConfig().pipe(Layer.provide(provider)), invalidArgument)
      }
    })
  )
})

describe.skipIf(externalUrl !== undefined)("secrets in refused logins", () => {
  it.scopedLive("a wrong password (in the url, as an option, with a user name) against requirepass", () =>
    Effect.gen(function* () {
      const s = yield* server(["--requirepass", "the-right-one-5521"])
      const shapes: ReadonlyArray<RedisCache.RedisCacheOptions> = [
        { url: `redis://:${secret}@127.0.0.1:${s.port}` },
        { url: `redis://default:${secret}@127.0.0.1:${s.port}/0` },
        { url: Redacted.make(`redis://:${secret}@127.0.0.1:${s.port}`) },
        { url: s.url, password: Redacted.make(secret) },
        { host: "127.0.0.1", port: s.port, username: "default", password: Redacted.make(secret) }
      ]
      for (const shape of shapes) {
        yield* failsWithoutSecret(RedisCache.layer({ ...shape, ...fast }), {
          _tag: "CacheUnavailableError",
          code: "AUTH_FAILED"
        })
      }
      // The url's password is the one used: the right one connects.
      const { exit } = yield* attempt(
        RedisCache.layer({ url: `redis://:the-right-one-5521@127.0.0.1:${s.port}/2`, ...fast })
      )
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )

  it.scopedLive("an ACL user with a wrong password, and an unknown user", () =>
    Effect.gen(function* () {
      const s = yield* server()
      yield* Effect.promise(() => call(s.port, "ACL", "SETUSER", "app", "on", ">app-right-8812", "~*", "+@all"))
      for (const url of [`redis://app:${secret}@127.0.0.1:${s.port}`, `redis://ghost:${secret}@127.0.0.1:${s.port}`]) {
        yield* failsWithoutSecret(RedisCache.layer({ url, ...fast }), {
          _tag: "CacheUnavailableError",
          code: "AUTH_FAILED"
        })
      }
      const { exit } = yield* attempt(
        RedisCache.layer({ url: `redis://app:app-right-8812@127.0.0.1:${s.port}`, ...fast })
      )
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )

  it.scopedLive("a wrong sentinel password, and a wrong master password through Sentinel", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      const [sentinelAddress] = group.sentinels
      if (sentinelAddress === undefined) return yield* Effect.dieMessage("no sentinel")
      const [masterPort] = group.ports
      // The master and the sentinel both want passwords from now on (the replica follows the master's).
      yield* Effect.promise(() => call(masterPort, "CONFIG", "SET", "requirepass", "master-right-3391"))
      yield* Effect.promise(() => call(sentinelAddress.port, "ACL", "SETUSER", "default", "on", ">sentinel-right-7741"))
      const sentinels = [`${sentinelAddress.host}:${sentinelAddress.port}`]
      const unavailable = { _tag: "CacheUnavailableError" } as const
      yield* failsWithoutSecret(
        RedisCache.layer({
          sentinel: { sentinels, name: group.name, sentinelPassword: Redacted.make(secret) },
          password: Redacted.make("master-right-3391"),
          ...fast
        }),
        unavailable
      )
      yield* failsWithoutSecret(
        RedisCache.layer({
          sentinel: {
            sentinels,
            name: group.name,
            sentinelUsername: "default",
            sentinelPassword: Redacted.make("sentinel-right-7741")
          },
          password: Redacted.make(secret),
          ...fast
        }),
        { _tag: "CacheUnavailableError", code: "AUTH_FAILED" }
      )
      const { exit } = yield* attempt(
        RedisCache.layer({
          sentinel: { sentinels, name: group.name, sentinelPassword: Redacted.make("sentinel-right-7741") },
          password: Redacted.make("master-right-3391"),
          ...fast
        })
      )
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )

  it.scopedLive("a refused port: no secret in the failure", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      yield* failsWithoutSecret(RedisCache.layer({ url: `redis://u:${secret}@127.0.0.1:${port}`, ...fast }), {
        _tag: "CacheUnavailableError",
        code: "CONNECTION_REFUSED"
      })
    })
  )
})
