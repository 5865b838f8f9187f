/**
 * Delete N keys by pattern with N foreign keys present: Cachet's `deletePattern`, a raw SCAN + UNLINK loop on
 * the same keys, and bentocache's `clear` of a store holding N keys. Each run first writes the N keys (untimed),
 * then times the deletion alone, then checks that exactly the N keys went: the server lost N keys, none of the
 * pattern's is left, and every foreign key is still there.
 */
import type { Cache } from "@cachet/core"
import { BentoCache, bentostore } from "bentocache"
import { redisDriver } from "bentocache/drivers/redis"
import * as Effect from "effect/Effect"
import type { Redis } from "ioredis"
import type { PeerResult, WorkloadResult } from "./measure.js"

const CHUNK = 1000
const filler = JSON.stringify({ id: 0, name: "user-0", email: "user0@example.com", active: true, tags: ["x"] })

const write = async (redis: Redis, prefix: string, n: number): Promise<void> => {
  for (let start = 0; start < n; start += CHUNK) {
    const args: Array<string> = []
    for (let i = start; i < Math.min(n, start + CHUNK); i++) args.push(`${prefix}${i}`, filler)
    await redis.mset(args)
  }
}

const countMatching = async (redis: Redis, pattern: string): Promise<number> => {
  let cursor = "0"
  let count = 0
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", CHUNK)
    count += keys.length
    cursor = next
  } while (cursor !== "0")
  return count
}

const rawDelete = async (redis: Redis, pattern: string): Promise<number> => {
  let cursor = "0"
  let deleted = 0
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", CHUNK)
    if (keys.length > 0) deleted += await redis.unlink(keys)
    cursor = next
  } while (cursor !== "0")
  return deleted
}

interface Deleter {
  readonly name: string
  /** Where its keys go and the pattern that matches exactly them. */
  readonly prefix: string
  readonly pattern: string
  readonly run: () => Promise<number | undefined>
}

export const runDeletePattern = async (
  admin: Redis,
  bentoConnection: Redis,
  cachet: Cache.Cache.Service,
  n: number,
  repetitions: number,
  log: (line: string) => void
): Promise<WorkloadResult> => {
  // Foreign keys: inside Cachet's prefix, outside the pattern; and bentocache's keys are outside both.
  await write(admin, "del:kept:", n)
  const bento = new BentoCache({
    default: "redis",
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: bentoConnection, prefix: "bdel" })) }
  })
  const deleters: ReadonlyArray<Deleter> = [
    {
      name: "raw SCAN + UNLINK loop",
      prefix: "del:doomed:",
      pattern: "del:doomed:*",
      run: () => rawDelete(admin, "del:doomed:*")
    },
    {
      name: "Cachet Redis deletePattern",
      prefix: "del:doomed:",
      pattern: "del:doomed:*",
      run: () => Effect.runPromise(cachet.deletePattern("doomed:*"))
    },
    {
      name: "bentocache clear",
      prefix: "bdel:",
      pattern: "bdel:*",
      run: () => bento.clear().then(() => undefined)
    }
  ]
  const rates: Array<Array<number>> = deleters.map(() => [])
  for (let r = 0; r < repetitions; r++) {
    for (let j = 0; j < deleters.length; j++) {
      const index = (j + r) % deleters.length
      const deleter = deleters[index]
      if (deleter === undefined) continue
      await write(admin, deleter.prefix, n)
      const size = await admin.dbsize()
      const start = performance.now()
      const answered = await deleter.run()
      const elapsed = performance.now() - start
      const gone = size - (await admin.dbsize())
      const left = await countMatching(admin, deleter.pattern)
      const kept = await countMatching(admin, "del:kept:*")
      if (gone !== n || left !== 0 || kept !== n || (answered !== undefined && answered !== n)) {
        throw new Error(
          `${deleter.name}: ${gone} keys went (expected ${n}), ${left} left, ${kept} of ${n} foreign keys kept, answered ${answered}`
        )
      }
      rates[index]?.push((n / elapsed) * 1000)
    }
  }
  await bento.disconnect()
  await rawDelete(admin, "del:kept:*")
  log("  delete by pattern: done (each run checked: exactly the pattern's keys went)")
  const peers: ReadonlyArray<PeerResult> = deleters.map((d, i) => ({ name: d.name, ops: n, rates: rates[i] ?? [] }))
  return {
    name: `delete ${n.toLocaleString("en-US")} keys by pattern, ${n.toLocaleString("en-US")} foreign keys present`,
    peers
  }
}
