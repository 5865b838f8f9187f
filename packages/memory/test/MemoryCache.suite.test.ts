import { CacheSuite } from "@cachet/testing"
import * as TestClock from "effect/TestClock"
import { MemoryCache } from "../src/index.js"

CacheSuite.run("MemoryCache", MemoryCache.layer(), { advance: (d) => TestClock.adjust(d) })

// The same contract with a local tier in front: every answer as without one.
CacheSuite.run(
  "MemoryCache with a local tier",
  MemoryCache.layer({ local: { capacity: 1000, timeToLive: "1 minute" } }),
  { advance: (d) => TestClock.adjust(d), sharedValues: true }
)
