/**
 * The conformance suite through a Sentinel group of our own (a master, its replica and one sentinel): every
 * command reaches the master the sentinel names, as a deployment behind Sentinel uses it.
 */

import { startSentinel, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { CacheSuite } from "@cachet/testing"
import { afterAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestServices from "effect/TestServices"

// One group for the whole suite: every test builds its own connection from the layer and works in its own
// namespace, so they can share it.
const group = await startSentinel()
afterAll(() => group.stop())

const sentinel = { sentinels: group.sentinels, name: group.name }

CacheSuite.run("RedisCache through Sentinel", RedisCache.layer({ sentinel, prefix: uniquePrefix("sentinel-suite") }), {
  advance: (duration) => TestServices.provideLive(Effect.sleep(duration)),
  withPrefix: (prefix) => RedisCache.layer({ sentinel, prefix })
})
