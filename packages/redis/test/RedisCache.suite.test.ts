import { externalUrl, startServer, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { CacheSuite } from "@cachet/testing"
import { afterAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestServices from "effect/TestServices"

// One server for the whole suite: every test builds its own connection from the layer and works in its own
// namespace, so they can share it.
const own = externalUrl === undefined ? await startServer() : undefined
afterAll(() => own?.stop())

const url = externalUrl ?? own?.url ?? ""

CacheSuite.run("RedisCache", RedisCache.layer({ url, prefix: uniquePrefix("suite") }), {
  advance: (duration) => TestServices.provideLive(Effect.sleep(duration)),
  withPrefix: (prefix) => RedisCache.layer({ url, prefix })
})

// The same contract through a local tier kept coherent by tracking: every answer as without one.
const local = { capacity: 1000, timeToLive: "1 minute" } as const
CacheSuite.run("RedisCache with a local tier", RedisCache.layer({ url, prefix: uniquePrefix("suite-local"), local }), {
  advance: (duration) => TestServices.provideLive(Effect.sleep(duration)),
  withPrefix: (prefix) => RedisCache.layer({ url, prefix, local }),
  sharedValues: true
})
