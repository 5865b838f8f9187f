import { MemoryCache } from "@cachet/memory"
import { describe } from "@effect/vitest"
import { keyValueStoreContract } from "./keyValueStoreContract.js"

describe("CacheKeyValueStore on MemoryCache", () => {
  keyValueStoreContract(MemoryCache.layer())
})
