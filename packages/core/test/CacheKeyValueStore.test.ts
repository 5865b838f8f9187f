import { KeyValueStoreSuite } from "@cachet/core/testing"
import { MemoryCache } from "@cachet/memory"

KeyValueStoreSuite.run("CacheKeyValueStore on MemoryCache", MemoryCache.layer())
