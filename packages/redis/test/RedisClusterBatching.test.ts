/**
 * Batching on a Cluster: concurrent single-key gets and sets on keys of one hash slot go to the slot's master as one
 * script call per 16 keys, counted on each master (INFO commandstats); keys of different slots never share one; a
 * batch of large values is split by the size bound; and commands keep their call order.
 */
import { call, clusterNodes, startCluster, text } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

// One Cluster for the file; its tests run one by one, so the statistics each reads are its own.
const local = await startCluster({ replicas: false })
afterAll(() => local.stop())

const masters = local.ports

const concurrently = <A, E>(effects: ReadonlyArray<Effect.Effect<A, E>>) =>
  Effect.all(effects, { concurrency: "unbounded" })

const backendOn = (options: Partial<RedisCache.RedisCacheOptions> = {}) =>
  RedisCache.makeBackend({ cluster: { nodes: local.nodes }, commandTimeout: "2 seconds", ...options })

/** Script calls (EVAL, EVAL_RO, and their SHA forms) and GETs, MGETs and SETs (those inside scripts too), per master. */
const counts = Effect.promise(() =>
  Promise.all(
    masters.map(async (port) => {
      const info = await text(port, "INFO", "commandstats")
      const calls = (command: string) =>
        Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(info)?.[1] ?? "0")
      return {
        port,
        scripts: calls("eval") + calls("eval_ro") + calls("evalsha") + calls("evalsha_ro"),
        get: calls("get"),
        mget: calls("mget"),
        set: calls("set")
      }
    })
  )
)

const resetStats = Effect.promise(() => Promise.all(masters.map((port) => call(port, "CONFIG", "RESETSTAT"))))

/** The port of the master serving `key`'s slot. */
const ownerOfKey = (key: string) =>
  Effect.promise(async () => {
    const slot = Number(await call(masters[0] ?? 0, "CLUSTER", "KEYSLOT", key))
    const nodes = await clusterNodes(masters[0] ?? 0)
    const owner = nodes.find(
      (node) => node.role === "master" && node.slots.some(([from, to]) => slot >= from && slot <= to)
    )
    if (owner === undefined) throw new Error(`no master for slot ${slot}`)
    return owner.port
  })

/** Three hash tags whose slots are served by three different masters. */
const tagsOnEveryMaster = (prefix: string) =>
  Effect.gen(function* () {
    const byMaster = new Map<number, string>()
    for (let i = 0; byMaster.size < masters.length; i++) {
      const tag = `${prefix}{t${i}}`
      const owner = yield* ownerOfKey(tag)
      if (!byMaster.has(owner)) byMaster.set(owner, tag)
    }
    return byMaster
  })

describe("RedisCache batching on a Cluster", () => {
  it.scopedLive("concurrent gets and sets of one slot go to its master as one script call per 16 keys", () =>
    Effect.gen(function* () {
      const backend = yield* backendOn()
      const tags = yield* tagsOnEveryMaster("batch:")
      // 17 keys per slot, the slots one after the other: the first key of the turn goes alone, then each slot's
      // keys fill a batch of 16, and a slot's 17th is a batch of one at the end of the turn, sent as the plain command.
      const keys = [...tags.values()].flatMap((tag) => Array.from({ length: 17 }, (_, i) => `${tag}:${i}`))

      yield* resetStats
      yield* concurrently(keys.map((key) => backend.set(key, `v-${key}`, undefined)))
      expect(yield* counts).toEqual(masters.map((port) => ({ port, scripts: 1, get: 0, mget: 0, set: 17 })))

      yield* resetStats
      expect(yield* concurrently(keys.map((key) => backend.get(key)))).toEqual(keys.map((key) => `v-${key}`))
      // Per master: one GET alone, the other 16 keys in one script call (one MGET, every key present).
      expect(yield* counts).toEqual(masters.map((port) => ({ port, scripts: 1, get: 1, mget: 1, set: 0 })))

      // Once each first, so that every master has the single-key script (no NOSCRIPT in the count).
      yield* Effect.forEach(keys, (key) => backend.getWithTimeToLive(key))
      yield* resetStats
      const withTimeToLive = yield* concurrently(keys.map((key) => backend.getWithTimeToLive(key)))
      expect(withTimeToLive).toEqual(keys.map((key) => ({ value: `v-${key}`, timeToLive: -1 })))
      // One key of each slot is the single-key GET+PTTL script, the other 16 one batch script.
      expect((yield* counts).map((master) => master.scripts)).toEqual(masters.map(() => 2))

      // Keys of different slots never share a batch: a key alone in its slot is a plain GET.
      yield* resetStats
      const spread = Array.from({ length: 32 }, (_, i) => `batch:spread-${i}`)
      const slots = new Set(
        yield* Effect.forEach(spread, (key) => Effect.promise(() => call(masters[0] ?? 0, "CLUSTER", "KEYSLOT", key)))
      )
      yield* concurrently(spread.map((key) => backend.get(key)))
      const sum = (yield* counts).reduce((total, master) => total + master.get, 0)
      // Every key absent: a batched one is asked again by GET inside the script, so every key is one GET, and only
      // the keys that shared a slot with another went into a script.
      expect(sum).toBe(32)
      const scripts = (yield* counts).reduce((total, master) => total + master.scripts, 0)
      expect(scripts).toBeLessThanOrEqual(32 - slots.size)
    })
  )

  it.scopedLive("with batching: false every get on a Cluster is a GET of its own", () =>
    Effect.gen(function* () {
      const backend = yield* backendOn({ batching: false })
      const tags = yield* tagsOnEveryMaster("unbatched:")
      const keys = [...tags.values()].flatMap((tag) => Array.from({ length: 10 }, (_, i) => `${tag}:${i}`))
      yield* resetStats
      yield* concurrently(keys.map((key) => backend.get(key)))
      expect(yield* counts).toEqual(masters.map((port) => ({ port, scripts: 0, get: 10, mget: 0, set: 0 })))
    })
  )

  it.scopedLive("a batch of large values is split by the size bound", () =>
    Effect.gen(function* () {
      const backend = yield* backendOn()
      const value = "x".repeat(200_000)
      const keys = Array.from({ length: 16 }, (_, i) => `{large}:${i}`)
      const owner = yield* ownerOfKey("{large}")
      yield* resetStats
      yield* concurrently(keys.map((key) => backend.set(key, `${key}${value}`, undefined)))
      // The first alone; then five values of 200 KB make a batch of about 1 MB, and the sixth starts the next one:
      // 5, 5 and 5, three script calls where there would otherwise be one of 3 MB.
      const onOwner = (yield* counts).find((master) => master.port === owner)
      expect(onOwner).toEqual({ port: owner, scripts: 3, get: 0, mget: 0, set: 16 })
      expect(yield* concurrently(keys.map((key) => backend.get(key)))).toEqual(keys.map((key) => `${key}${value}`))
    })
  )

  it.scopedLive("a command outside the batches sends them first: commands keep their call order", () =>
    Effect.gen(function* () {
      const backend = yield* backendOn()
      const keys = Array.from({ length: 4 }, (_, i) => `{order}:${i}`)
      const answers = yield* concurrently([
        ...keys.map((key) => backend.set(key, "v", undefined)),
        backend.delete(keys.slice(1)),
        backend.get(keys[1] ?? ""),
        backend.set(keys[2] ?? "", "again", undefined)
      ])
      // The sets of keys 1 to 3 were batched when the delete came: it sent them first, so it deleted all three, and
      // the get (itself batched, after the delete) finds key 1 gone.
      expect(answers.slice(4)).toEqual([3, undefined, undefined])
      expect(yield* concurrently(keys.map((key) => backend.get(key)))).toEqual(["v", undefined, "again", undefined])
    })
  )
})
