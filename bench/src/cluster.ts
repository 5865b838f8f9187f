/**
 * Redis Cluster get-hit with 64 in flight, Cachet with and without batching, beside raw ioredis, on a Cluster of
 * its own (three masters). Twice: keys spread over the slots (the bench's 10,000 keys), where concurrent keys
 * rarely share a slot and so a batch; and the same keys under 16 hash tags (`{t3}:k:00042`), as an application that
 * groups its keys by tenant or user does, where they often do.
 */
import type { Cache } from "@cachet/core"
import { startCluster } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { Cluster } from "ioredis"
import { KEY_COUNT, keys, ORDER_MASK, order, values } from "./data.js"
import { type Peer, runWorkload, type Settings, type WorkloadResult } from "./measure.js"
import { inFlight, inFlightEffect } from "./workloads.js"

const TAGS = 16

const tagged = keys.map((key, i) => `{t${i % TAGS}}:${key}`)

const peers = (
  keyList: ReadonlyArray<string>,
  batched: Cache.Cache.Service,
  unbatched: Cache.Cache.Service,
  raw: Cluster,
  prefix: string
): ReadonlyArray<Peer> => {
  const keyAt = (i: number): string => keyList[order[i & ORDER_MASK] ?? 0] ?? ""
  const cachet =
    (label: string, cache: Cache.Cache.Service): Peer["run"] =>
    (ops) => {
      let misses = 0
      return Effect.runPromise(
        inFlightEffect(ops, (i) =>
          Effect.map(cache.get(keyAt(i)), (result) => {
            if (result._tag !== "CacheHit") misses++
          })
        )
      ).then(() => (misses === 0 ? undefined : Promise.reject(new Error(`${label}: ${misses} get-hits missed`))))
    }
  return [
    {
      name: "ioredis Cluster",
      run: (ops) =>
        inFlight(ops, (i) =>
          raw.get(prefix + keyAt(i)).then((value) => {
            if (value === null) throw new Error("ioredis Cluster: a get-hit missed")
            JSON.parse(value)
          })
        )
    },
    { name: "Cachet Cluster, batching", run: cachet("batching", batched) },
    { name: "Cachet Cluster, batching: false", run: cachet("no batching", unbatched) }
  ]
}

export const clusterGetInFlight = async (
  settings: Settings,
  log: (line: string) => void
): Promise<ReadonlyArray<WorkloadResult>> => {
  const local = await startCluster({ replicas: false })
  const scope = Effect.runSync(Scope.make())
  const raw = new Cluster(local.nodes.slice())
  try {
    log(`Redis Cluster of our own on ports ${local.ports.join(", ")}`)
    const prefix = "cachet-bench:"
    const make = (batching: boolean) =>
      Effect.runPromise(Scope.extend(RedisCache.make({ cluster: { nodes: local.nodes }, prefix, batching }), scope))
    const batched = await make(true)
    const unbatched = await make(false)
    for (const list of [keys, tagged]) {
      for (let start = 0; start < KEY_COUNT; start += 1000) {
        const entries = list.slice(start, start + 1000).map((key, j) => [key, values[start + j]] as const)
        await Effect.runPromise(batched.setMany(entries))
      }
    }
    const results: Array<WorkloadResult> = []
    for (const [title, list] of [
      ["Redis Cluster get-hit, 64 in flight, keys spread over the slots", keys],
      [`Redis Cluster get-hit, 64 in flight, keys under ${TAGS} hash tags`, tagged]
    ] as const) {
      log(`workload: ${title}`)
      results.push(await runWorkload(title, peers(list, batched, unbatched, raw, prefix), settings, log))
    }
    return results
  } finally {
    raw.disconnect()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await local.stop()
    log("Redis Cluster stopped")
  }
}
