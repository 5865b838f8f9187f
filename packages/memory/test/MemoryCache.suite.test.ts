import { CacheSuite } from "@cachet/core/testing"
import * as TestClock from "effect/TestClock"
import { MemoryCache } from "../src/index.js"

CacheSuite.run("MemoryCache", MemoryCache.layer(), { advance: (d) => TestClock.adjust(d) })
