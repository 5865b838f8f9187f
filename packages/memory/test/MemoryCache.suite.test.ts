import { CacheSuite } from "@cachet/testing"
import * as TestClock from "effect/TestClock"
import { MemoryCache } from "../src/index.js"

CacheSuite.run("MemoryCache", MemoryCache.layer(), { advance: (d) => TestClock.adjust(d) })
