/**
 * A 20 KB JSON document set and read back, plain JSON against `Codec.compressed` (gzip, brotli), on memory and on
 * Redis: the time per operation, and the bytes each stores (memory weighs its entries; Redis answers STRLEN and
 * MEMORY USAGE). 100 keys, overwritten in turn, so a run stays within a few megabytes.
 */
import { Cache, Codec } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { RedisCache } from "@cachet/redis"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import type { Peer } from "./measure.js"
import { TTL_MS } from "./peers.js"

const KEYS = 100

/** About 20 KB of JSON, shaped like an API response. */
export const document = {
  users: Array.from({ length: 160 }, (_, id) => ({
    id,
    name: `User ${id}`,
    email: `user${id}@example.com`,
    active: id % 3 !== 0,
    roles: id % 5 === 0 ? ["admin", "editor"] : ["reader"],
    createdAt: new Date(Date.UTC(2024, 0, 1 + id)).toISOString()
  }))
}

export const documentBytes = Buffer.byteLength(JSON.stringify(document))

const keyAt = (i: number): string => `doc:${i % KEYS}`

const codecs: ReadonlyArray<readonly [name: string, codec: Codec.Codec]> = [
  ["JSON", Codec.json],
  ["gzip", Codec.compressed(Codec.json, { algorithm: "gzip" })],
  ["brotli", Codec.compressed(Codec.json, { algorithm: "brotli" })]
]

interface Target {
  readonly name: string
  readonly cache: Cache.Cache.Service
  /** Bytes stored for one document: what memory weighs it, or Redis's STRLEN and MEMORY USAGE. */
  readonly stored: () => Promise<string>
}

export interface Documents {
  readonly set: ReadonlyArray<Peer>
  readonly get: ReadonlyArray<Peer>
  /** Rows of `| peer | bytes stored |`. */
  readonly sizes: () => Promise<ReadonlyArray<string>>
  readonly close: () => Promise<void>
}

export const makeDocuments = async (redisUrl: string): Promise<Documents> => {
  const scope = Effect.runSync(Scope.make())
  const inScope = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Scope.extend(effect, scope))
  const admin = new Redis(redisUrl)
  const targets: Array<Target> = []
  for (const [name, codec] of codecs) {
    const backend = await inScope(MemoryCache.makeBackend())
    const memory = await inScope(Cache.make(backend, { codec, prefix: "doc:" }))
    targets.push({
      name: `Cachet memory, ${name}`,
      cache: memory,
      stored: () =>
        Effect.runPromise(backend.get("doc:doc:0")).then((value) =>
          value === undefined ? "missing" : `${typeof value === "string" ? 2 * value.length : value.byteLength}`
        )
    })
    const prefix = `cachet-bench:doc-${name}:`
    const redis = await inScope(RedisCache.make({ url: redisUrl, prefix, codec }))
    targets.push({
      name: `Cachet Redis, ${name}`,
      cache: redis,
      stored: async () =>
        `${await admin.strlen(`${prefix}doc:0`)} (MEMORY USAGE ${String(await admin.memory("USAGE", `${prefix}doc:0`))})`
    })
  }
  for (const { cache } of targets) {
    await Effect.runPromise(
      Effect.forEach(
        Array.from({ length: KEYS }, (_, i) => i),
        (i) => cache.set(keyAt(i), document, { timeToLive: TTL_MS })
      )
    )
  }
  const sequential = (ops: number, op: (i: number) => Effect.Effect<unknown, unknown>) =>
    Effect.runPromise(
      Effect.gen(function* () {
        for (let i = 0; i < ops; i++) yield* op(i)
      })
    )
  return {
    set: targets.map(({ name, cache }) => ({
      name,
      run: (ops) => sequential(ops, (i) => cache.set(keyAt(i), document, { timeToLive: TTL_MS }))
    })),
    get: targets.map(({ name, cache }) => ({
      name,
      run: (ops) =>
        sequential(ops, (i) =>
          Effect.flatMap(cache.get(keyAt(i)), (result) =>
            result._tag === "CacheHit" ? Effect.void : Effect.die(new Error(`${name}: a get-hit missed`))
          )
        )
    })),
    sizes: () => Promise.all(targets.map(async ({ name, stored }) => `| ${name} | ${await stored()} |`)),
    close: async () => {
      admin.disconnect()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}
