/**
 * A small repro for `node --cpu-prof`: one Cachet workload, on its own, for a few seconds.
 *
 *   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/src/profile.ts memory-get
 *
 * Cachet loads from `dist`, as users run it (sources through tsx keep function names, which costs per closure).
 *
 * Cases: memory-get, memory-get-bare, memory-set, redis-get-sequential, redis-get-64, redis-get-64-bare,
 * redis-getmany. Summarise the profile with `node bench/src/selfTime.mjs <file>.cpuprofile`.
 */

import { startServer } from "@cachet/dev"
import { MemoryCache } from "@cachet/memory"
import { RedisCache } from "@cachet/redis"
import * as Effect from "effect/Effect"
import { batchOf, keyAt, keys, valueAt, values } from "./data.js"
import { inFlightEffect } from "./workloads.js"

const name = process.argv[2] ?? "memory-get"
const seconds = Number(process.argv[3] ?? "4")
const options = { timeToLive: 3_600_000 }

const main = async () => {
  const redisCase = name.startsWith("redis")
  const server = redisCase ? await startServer() : undefined
  try {
    const bare = name.endsWith("-bare")
    const program = Effect.gen(function* () {
      const cache = redisCase
        ? yield* RedisCache.make({ url: server?.url, prefix: "profile:", metrics: !bare, spans: !bare })
        : yield* MemoryCache.make({ capacity: 100_000, metrics: !bare, spans: !bare })
      yield* cache.setMany(
        keys.map((key, i) => [key, values[i]] as const),
        options
      )
      const until = Date.now() + seconds * 1000
      let ops = 0
      while (Date.now() < until) {
        for (let j = 0; j < 1000; j++, ops++) {
          const i = ops
          if (name === "redis-get-64" || name === "redis-get-64-bare") {
            yield* inFlightEffect(1024, (k) => cache.get(keyAt(i * 1024 + k)))
          } else if (name === "redis-getmany") {
            yield* cache.getMany(batchOf("", i, 100))
          } else if (name === "memory-set") {
            yield* cache.set(keyAt(i), valueAt(i), options)
          } else {
            yield* cache.get(keyAt(i))
          }
        }
      }
      return ops
    })
    const ops = await Effect.runPromise(Effect.scoped(program))
    process.stderr.write(`${name}: ${ops} iterations in ${seconds} s\n`)
  } finally {
    await server?.stop()
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
