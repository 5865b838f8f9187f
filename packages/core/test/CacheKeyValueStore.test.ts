import { MemoryCache } from "@cachet/memory"
import { KeyValueStoreSuite } from "@cachet/testing"

KeyValueStoreSuite.run("CacheKeyValueStore on MemoryCache", MemoryCache.layer())
