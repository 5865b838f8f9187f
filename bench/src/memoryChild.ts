/**
 * One store, filled with N entries (key `k:<i>`, a ~100-byte value, time-to-live one hour), in a process of its
 * own started with --expose-gc: the heap after a full collection, minus the heap before, divided by N. Prints one
 * JSON line: `{ store, entries, bytesPerEntry }`.
 */
import { MemoryCache } from "@cachet/memory"
import { BentoCache, bentostore } from "bentocache"
import { memoryDriver } from "bentocache/drivers/memory"
import { createCache } from "cache-manager"
import * as EffectCache from "effect/Cache"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { LRUCache } from "lru-cache"
import { valueFor } from "./data.js"

const TTL_MS = 3_600_000

const collect = (): void => {
  const gc: unknown = Reflect.get(globalThis, "gc")
  if (typeof gc !== "function") throw new Error("run with --expose-gc")
  for (let i = 0; i < 4; i++) gc()
}

const heap = (): number => {
  collect()
  return process.memoryUsage().heapUsed
}

/** Build the store (outside the measurement), then return a function that fills it. */
const stores: Record<string, (n: number) => Promise<() => Promise<unknown>>> = {
  "Map<string, string> (JSON)": async (n) => {
    const map = new Map<string, string>()
    return async () => {
      for (let i = 0; i < n; i++) map.set(`k:${i}`, JSON.stringify(valueFor(i)))
      return map
    }
  },
  "lru-cache (objects)": async (n) => {
    const lru = new LRUCache<string, object>({ max: n })
    return async () => {
      for (let i = 0; i < n; i++) lru.set(`k:${i}`, valueFor(i), { ttl: TTL_MS })
      return lru
    }
  },
  "lru-cache (JSON strings)": async (n) => {
    const lru = new LRUCache<string, string>({ max: n })
    return async () => {
      for (let i = 0; i < n; i++) lru.set(`k:${i}`, JSON.stringify(valueFor(i)), { ttl: TTL_MS })
      return lru
    }
  },
  "Cachet memory": async (n) => {
    const cache = await Effect.runPromise(Effect.scoped(MemoryCache.make({ capacity: n })))
    const options = { timeToLive: TTL_MS }
    return () =>
      Effect.runPromise(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) yield* cache.set(`k:${i}`, valueFor(i), options)
          return cache
        })
      )
  },
  "effect/Cache": async (n) => {
    const cache = await Effect.runPromise(
      EffectCache.make({
        capacity: n,
        timeToLive: Duration.millis(TTL_MS),
        lookup: (key: string) => Effect.succeed(valueFor(Number(key.slice(2))))
      })
    )
    return () =>
      Effect.runPromise(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) yield* cache.set(`k:${i}`, valueFor(i))
          return cache
        })
      )
  },
  "bentocache L1": async (n) => {
    const bento = new BentoCache({
      default: "memory",
      stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: n })) }
    })
    return async () => {
      for (let i = 0; i < n; i++) await bento.set({ key: `k:${i}`, value: valueFor(i), ttl: TTL_MS })
      return bento
    }
  },
  "cache-manager memory": async (n) => {
    const cache = createCache()
    return async () => {
      for (let i = 0; i < n; i++) await cache.set(`k:${i}`, valueFor(i), TTL_MS)
      return cache
    }
  }
}

export const storeNames = Object.keys(stores)

const main = async () => {
  const [name = "", count = "1000000"] = process.argv.slice(2)
  const entries = Number(count)
  const make = stores[name]
  if (make === undefined) throw new Error(`unknown store ${name}`)
  const fill = await make(entries)
  const before = heap()
  const store = await fill()
  const after = heap()
  // Keep the store reachable until after the measurement.
  if (store === undefined) throw new Error("no store")
  process.stdout.write(`${JSON.stringify({ store: name, entries, bytesPerEntry: (after - before) / entries })}\n`)
}

if (process.argv[1]?.endsWith("memoryChild.ts") === true) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`)
      process.exit(1)
    }
  )
}
