/**
 * TLS on a real `redis-server --tls-port` with a certificate authority and a server certificate made here by
 * openssl: a value goes round over `rediss://` and over the `tls` option; a client that trusts another authority, or
 * that speaks plain text to the TLS port, fails typed within the connect timeout, naming the server and hinting at
 * the way out; ioredis prints nothing.
 */
import { Cache, CacheResult } from "@cachet/core"
import { externalUrl, tlsServer } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { attempt } from "./capture.js"

const timeouts = { connectTimeout: "2 seconds", commandTimeout: "1 second" } as const

const roundTrip = Effect.gen(function* () {
  const cache = yield* Cache.Cache
  yield* cache.set("greeting", "over tls")
  return yield* cache.get("greeting")
})

describe.skipIf(externalUrl !== undefined)("TLS", () => {
  it.scopedLive("a value goes round over rediss:// and over the tls option", () =>
    Effect.gen(function* () {
      const s = yield* tlsServer
      const layers = [
        RedisCache.layer({ url: `rediss://127.0.0.1:${s.tlsPort}`, tls: { ca: s.ca }, ...timeouts }),
        RedisCache.layer({ host: "localhost", port: s.tlsPort, tls: { ca: s.ca }, ...timeouts }),
        RedisCache.layer({ url: `redis://127.0.0.1:${s.tlsPort}/1`, tls: { ca: s.ca }, ...timeouts })
      ]
      for (const layer of layers) {
        const { exit, printed } = yield* attempt(layer, (context) => Effect.provide(roundTrip, context))
        expect(exit).toEqual(Exit.succeed(CacheResult.hit("over tls")))
        expect(printed).toEqual([])
      }
    })
  )

  it.scopedLive("a certificate of an authority the client does not trust: typed, within the connect timeout", () =>
    Effect.gen(function* () {
      const s = yield* tlsServer
      for (const layer of [
        RedisCache.layer({ url: `rediss://127.0.0.1:${s.tlsPort}`, tls: { ca: s.otherCa }, ...timeouts }),
        // No `ca`: the system's authorities, which never signed this certificate either.
        RedisCache.layer({ url: `rediss://127.0.0.1:${s.tlsPort}`, ...timeouts })
      ]) {
        const { error, printed } = yield* attempt(layer)
        expect(error).toMatchObject({ _tag: "CacheUnavailableError" })
        expect(error?.message).toContain(`127.0.0.1:${s.tlsPort}`)
        expect(error?.message).toContain("not trusted: give its authority in tls.ca")
        expect(printed).toEqual([])
      }
    })
  )

  it.scopedLive("plain text to the TLS port, and TLS to the plain port: typed, within the connect timeout", () =>
    Effect.gen(function* () {
      const s = yield* tlsServer
      for (const [layer, port, hint] of [
        [RedisCache.layer({ url: `redis://127.0.0.1:${s.tlsPort}`, ...timeouts }), s.tlsPort, "use rediss:// or tls"],
        [
          RedisCache.layer({ url: `rediss://127.0.0.1:${s.plainPort}`, tls: { ca: s.ca }, ...timeouts }),
          s.plainPort,
          "use redis:// without tls"
        ]
      ] as const) {
        const { error, printed } = yield* attempt(layer)
        expect(["CacheUnavailableError", "CacheTimeoutError"]).toContain(error?._tag)
        // The message names the server and hints at the way out.
        expect(error?.message).toContain(`127.0.0.1:${port}`)
        expect(error?.message).toContain(hint)
        expect(printed).toEqual([])
      }
    })
  )
})
