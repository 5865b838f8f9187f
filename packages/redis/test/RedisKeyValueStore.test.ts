import { externalUrl, startServer, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { KeyValueStoreSuite } from "@cachet/testing"
import { afterAll } from "@effect/vitest"

const own = externalUrl === undefined ? await startServer() : undefined
afterAll(() => own?.stop())

KeyValueStoreSuite.run(
  "CacheKeyValueStore on RedisCache",
  RedisCache.layer({ url: externalUrl ?? own?.url ?? "", prefix: uniquePrefix("kv") })
)
