/**
 * RedisCache on a Redis Cluster of our own (three masters): the conformance suite, and what is particular to a
 * Cluster: multi-key operations split by hash slot, SCAN on every master, configuration from the environment,
 * startup against nothing. The failover tests live in RedisFailover.test.ts, on a Cluster with replicas.
 */
import * as Cache from "@cachet/core/Cache"
import * as CacheResult from "@cachet/core/CacheResult"
import * as CircuitBreaker from "@cachet/core/CircuitBreaker"
import {
  bounded,
  call,
  clusterNodes,
  freePort,
  server,
  silentServer,
  startCluster,
  text,
  uniquePrefix
} from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { CacheSuite } from "@cachet/testing"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { Cluster } from "ioredis"
import * as internalBackend from "../src/internal/backend.js"
import { fromCluster } from "../src/internal/cluster.js"
import { clusterCommands } from "./aclCommands.js"

// One Cluster for the file: every test works under prefixes of its own, and the tests of a file run one by one,
// so that the command statistics one of them reads are its own.
const local = await startCluster({ replicas: false })
afterAll(() => local.stop())

const masters = local.ports
const fast = { commandTimeout: "2 seconds", connectTimeout: "5 seconds" } as const

/** A cache on the Cluster. */
const clusterCache = (prefix: string) => RedisCache.make({ cluster: { nodes: local.nodes }, prefix, ...fast })

/** A plain ioredis Cluster client for arranging and inspecting data behind the cache's back. */
const admin = Effect.acquireRelease(
  Effect.sync(() => {
    const client = new Cluster(local.nodes.slice())
    client.on("error", () => {})
    return client
  }),
  (client) => Effect.sync(() => client.disconnect())
)

/** The slot of `key`, as the server computes it. */
const slotOf = (key: string) =>
  Effect.promise(() => call(masters[0] ?? 0, "CLUSTER", "KEYSLOT", key)).pipe(Effect.map(Number))

/** The port of the master serving `slot`. */
const ownerOf = Effect.promise(() => clusterNodes(masters[0] ?? 0)).pipe(
  Effect.map((nodes) => (slot: number) => {
    const owner = nodes.find(
      (node) => node.role === "master" && node.slots.some(([from, to]) => slot >= from && slot <= to)
    )
    if (owner === undefined) throw new Error(`no master for slot ${slot}`)
    return owner.port
  })
)

/** The keys matching `pattern` on one master, by SCAN on that master alone. */
const keysOn = (port: number, pattern: string) =>
  Effect.promise(async () => {
    const keys: Array<string> = []
    let cursor = "0"
    do {
      const reply = await call(port, "SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
      if (!Array.isArray(reply) || typeof reply[0] !== "string" || !Array.isArray(reply[1])) {
        throw new Error("SCAN answered with an unexpected shape")
      }
      cursor = reply[0]
      for (const key of reply[1]) if (typeof key === "string") keys.push(key)
    } while (cursor !== "0")
    return keys.sort()
  })

/** MGET calls served so far, summed over the masters. */
const mgetCalls = Effect.promise(async () => {
  let calls = 0
  for (const port of masters) {
    const match = /cmdstat_mget:calls=(\d+)/.exec(await text(port, "INFO", "commandstats"))
    calls += match === null ? 0 : Number(match[1])
  }
  return calls
})

describe("RedisCache on a Cluster", () => {
  it.scopedLive("getMany across slots: answers in the caller's order, one MGET per distinct slot", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("mget")
      const cache = yield* clusterCache(prefix)
      // 60 plain keys (spread over slots and masters) and 20 keys that share 4 hash tags, so that the distinct slots
      // number fewer than the keys and more than the masters.
      const names = [
        ...Array.from({ length: 60 }, (_, i) => `plain-${i}`),
        ...Array.from({ length: 20 }, (_, i) => `{tag-${i % 4}}:${i}`)
      ]
      yield* cache.setMany(names.filter((_, i) => i % 3 !== 0).map((name) => [name, { name }] as const))
      const slots = new Set(yield* Effect.forEach(names, (name) => slotOf(`${prefix}${name}`)))
      const owner = yield* ownerOf
      expect(new Set([...slots].map(owner)).size).toBe(masters.length)
      expect(slots.size).toBeGreaterThan(masters.length)
      expect(slots.size).toBeLessThan(names.length)

      const before = yield* mgetCalls
      const results = yield* cache.getMany(names)
      const after = yield* mgetCalls
      expect(after - before).toBe(slots.size)
      expect(results).toEqual(names.map((name, i) => (i % 3 === 0 ? CacheResult.miss : CacheResult.hit({ name }))))
      // One slot: one MGET.
      const tagged = names.filter((name) => name.startsWith("{tag-1}"))
      const beforeTagged = yield* mgetCalls
      yield* cache.getMany(tagged)
      expect((yield* mgetCalls) - beforeTagged).toBe(1)
    })
  )

  it.scopedLive("setMany across slots writes every entry; a full master fails its slots and only those", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("setmany")
      const backend = yield* RedisCache.makeBackend({ cluster: { nodes: local.nodes }, ...fast })
      const owner = yield* ownerOf
      const entries = Array.from({ length: 90 }, (_, i) => ({
        key: `${prefix}${i}`,
        value: String(i),
        timeToLive: i % 2 === 0 ? 60_000 : undefined
      }))
      const keys = entries.map((entry) => entry.key)
      yield* backend.setMany(entries)
      expect(yield* backend.getMany(keys)).toEqual(entries.map((entry) => entry.value))
      const owners = yield* Effect.forEach(keys, (key) => Effect.map(slotOf(key), owner))
      for (const port of masters) {
        expect(yield* keysOn(port, `${prefix}*`)).toEqual(keys.filter((_, i) => owners[i] === port).sort())
      }
      yield* backend.delete(keys)

      // One master refuses writes (maxmemory 1 byte, no eviction): its slots' transactions abort with OOM at queue
      // time, so nothing of them is written; the other masters' slots are written. Atomic per slot, not across.
      const full = masters[0] ?? 0
      yield* Effect.acquireRelease(
        Effect.promise(async () => {
          await call(full, "CONFIG", "SET", "maxmemory-policy", "noeviction")
          await call(full, "CONFIG", "SET", "maxmemory", "1")
        }),
        () => Effect.promise(() => call(full, "CONFIG", "SET", "maxmemory", "0"))
      )
      expect(yield* Effect.flip(backend.setMany(entries))).toMatchObject({
        _tag: "CacheCommandError",
        code: "OUT_OF_MEMORY"
      })
      expect(yield* keysOn(full, `${prefix}*`)).toEqual([])
      for (const port of masters.filter((port) => port !== full)) {
        expect(yield* keysOn(port, `${prefix}*`)).toEqual(keys.filter((_, i) => owners[i] === port).sort())
      }
      // Hash tags put entries in one slot: then it is all or nothing.
      const tagged = Array.from({ length: 10 }, (_, i) => ({
        key: `{${prefix}}${i}`,
        value: "v",
        timeToLive: undefined
      }))
      const taggedOwner = owner(yield* slotOf(`{${prefix}}0`))
      const exit = yield* Effect.exit(backend.setMany(tagged))
      const written = yield* backend.getMany(tagged.map((entry) => entry.key))
      expect(written.filter((value) => value !== undefined).length).toBe(taggedOwner === full ? 0 : tagged.length)
      expect(exit._tag).toBe(taggedOwner === full ? "Failure" : "Success")
      yield* backend.delete([...keys, ...tagged.map((entry) => entry.key)])
    })
  )

  it.scopedLive("clear and deletePattern delete exactly this cache's keys, on every master", () =>
    Effect.gen(function* () {
      const tag = uniquePrefix("clear")
      const client = yield* admin
      // Foreign keys on every master, many of which the unescaped pattern `<tag>app[1]:*` would match.
      const foreign = Array.from({ length: 300 }, (_, i) =>
        i % 4 === 0
          ? `${tag}app1:${i}`
          : i % 4 === 1
            ? `${tag}other:${i}`
            : i % 4 === 2
              ? `${tag}app[1]x:${i}`
              : `${tag}app[1:${i}`
      )
      yield* Effect.promise(() => Promise.all(foreign.map((key) => client.set(key, "foreign"))))
      const everyMaster = Effect.forEach(masters, (port) => keysOn(port, `${tag}*`))
      const foreignOnly = yield* everyMaster
      expect(foreignOnly.every((keys) => keys.length > 0)).toBe(true)

      const cache = yield* clusterCache(`${tag}app[1]:`)
      const ours = Array.from({ length: 120 }, (_, i) => `k${i}`)
      yield* cache.setMany(ours.map((key) => [key, key] as const))
      yield* cache.namespace("ns").setMany(ours.slice(0, 30).map((key) => [key, 1] as const))
      const withOurs = yield* everyMaster
      expect(withOurs.map((keys, i) => keys.length > (foreignOnly[i]?.length ?? 0))).toEqual(masters.map(() => true))

      // k1, k10..k19, k100..k119
      expect(yield* cache.deletePattern("k1*")).toBe(1 + 10 + 20)
      expect(yield* cache.namespace("ns").clear()).toBe(30)
      const left = yield* Stream.runCollect(cache.keys()).pipe(Effect.map((keys) => [...keys].sort()))
      expect(left).toEqual(ours.filter((key) => !key.startsWith("k1")).sort())
      expect(yield* cache.clear()).toBe(left.length)
      expect(yield* cache.clear()).toBe(0)
      expect(yield* everyMaster).toEqual(foreignOnly)
    })
  )

  it.scopedLive("getMany fails WRONG_TYPE, as get does, for a key of another type in any slot", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("wrongtype")
      const cache = yield* clusterCache(prefix)
      const client = yield* admin
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
      yield* cache.setMany(keys.map((key) => [key, key] as const))
      const wrongType = { _tag: "CacheCommandError", code: "WRONG_TYPE" }
      for (const list of ["k3", "k17", "k29"]) {
        yield* cache.delete(list)
        yield* Effect.promise(() => client.rpush(`${prefix}${list}`, "x"))
        expect(yield* Effect.flip(cache.get(list))).toMatchObject(wrongType)
        expect(yield* Effect.flip(cache.getMany(keys))).toMatchObject(wrongType)
        expect(yield* Effect.flip(cache.getMany(["missing", list]))).toMatchObject(wrongType)
        yield* cache.delete(list)
        yield* cache.set(list, list)
      }
      expect(yield* cache.getMany(keys)).toEqual(keys.map((key) => CacheResult.hit(key)))
      yield* cache.clear()
    })
  )

  it.scopedLive("scripts run again after SCRIPT FLUSH on every master", () =>
    Effect.gen(function* () {
      const cache = yield* RedisCache.make({
        cluster: { nodes: local.nodes },
        prefix: uniquePrefix("scripts"),
        ...fast
      })
      const counters = Array.from({ length: 12 }, (_, i) => `counter-${i}`)
      yield* Effect.forEach(counters, (key) => cache.increment(key, 2n ** 60n))
      yield* Effect.forEach(masters, (port) => Effect.promise(() => call(port, "SCRIPT", "FLUSH")))
      expect(yield* Effect.forEach(counters, (key) => cache.increment(key))).toEqual(counters.map(() => 2n ** 60n + 1n))
      yield* cache.clear()
    })
  )

  it.scopedLive("an ACL user limited to ~<prefix>* and the documented commands can run every operation", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("acl")
      const user = `cachet-${prefix.split(":")[2]}`
      yield* Effect.acquireRelease(
        Effect.forEach(masters, (port) =>
          Effect.promise(() =>
            call(
              port,
              "ACL",
              "SETUSER",
              user,
              "on",
              ">acl-password-1",
              "resetkeys",
              `~${prefix}*`,
              "resetchannels",
              "-@all",
              ...clusterCommands.map((c) => `+${c}`)
            )
          )
        ),
        () => Effect.forEach(masters, (port) => Effect.promise(() => call(port, "ACL", "DELUSER", user)))
      )
      const cache = yield* RedisCache.make({
        cluster: { nodes: local.nodes },
        username: user,
        password: Redacted.make("acl-password-1"),
        prefix,
        ...fast
      })
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
      yield* cache.setMany(
        keys.map((key) => [key, key] as const),
        { timeToLive: "1 minute" }
      )
      expect(yield* cache.getMany(keys)).toEqual(keys.map((key) => CacheResult.hit(key)))
      expect(yield* cache.add("added", 1)).toBe(true)
      expect(yield* cache.increment("n", 5)).toBe(5n)
      expect(yield* cache.expire("n", "1 minute")).toBe(true)
      expect(yield* cache.persist("n")).toBe(true)
      expect(yield* cache.has("n")).toBe(true)
      expect(CacheResult.isHit(yield* cache.timeToLive("k1"))).toBe(true)
      expect(yield* cache.getOrSet("lazy", Effect.succeed("computed"))).toBe("computed")
      expect(yield* cache.deletePattern("k1*")).toBe(11)
      expect((yield* Stream.runCollect(cache.keys())).length).toBe(keys.length - 11 + 3)
      expect(yield* cache.clear()).toBe(keys.length - 11 + 3)
      yield* cache.ping
      // A wrong password is refused on every node.
      const refused = yield* Effect.flip(
        RedisCache.makeBackend({
          cluster: { nodes: local.nodes },
          username: user,
          password: Redacted.make("wrong"),
          ...fast
        })
      )
      expect(refused).toMatchObject({ _tag: "CacheUnavailableError", code: "AUTH_FAILED" })
    })
  )

  it.scopedLive("layerFromClient takes a Cluster the user owns, and leaves it open", () =>
    Effect.gen(function* () {
      const client = yield* admin
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
      const values = yield* Effect.gen(function* () {
        yield* Cache.setMany(keys.map((key) => [key, key] as const))
        const values = yield* Cache.getMany(keys)
        yield* Cache.clear()
        return values
      }).pipe(Effect.provide(RedisCache.layerFromClient(client, { prefix: uniquePrefix("own"), ...fast })))
      expect(values).toEqual(keys.map((key) => CacheResult.hit(key)))
      expect(client.status).toBe("ready")
    })
  )

  it.scopedLive("layerConfig reads REDIS_CLUSTER_NODES", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("env")
      const [first, second] = local.nodes
      const environment = {
        REDIS_CLUSTER_NODES: ` ${first?.host}:${first?.port}, redis://${second?.host}:${second?.port} ,`,
        CACHE_PREFIX: prefix,
        CACHE_COMMAND_TIMEOUT: "2s"
      }
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
      const program = Effect.gen(function* () {
        yield* Cache.setMany(keys.map((key) => [key, key] as const))
        const values = yield* Cache.getMany(keys)
        yield* Cache.clear()
        return values
      })
      const values = yield* program.pipe(
        Effect.provide(
          RedisCache.layerConfig().pipe(
            Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(environment)))))
          )
        )
      )
      expect(values).toEqual(keys.map((key) => CacheResult.hit(key)))
    })
  )

  it.scopedLive("startup fails typed within connectTimeout when no node answers", () =>
    Effect.gen(function* () {
      const nobody = [
        { host: "127.0.0.1", port: yield* Effect.promise(() => freePort()) },
        { host: "127.0.0.1", port: yield* Effect.promise(() => freePort()) }
      ]
      const startup = (nodes: ReadonlyArray<RedisCache.RedisAddress>) =>
        Effect.flip(bounded(RedisCache.makeBackend({ cluster: { nodes }, connectTimeout: "1 second" }), "10 seconds"))
      expect(yield* startup(nobody)).toMatchObject({ _tag: "CacheUnavailableError" })
      // Accepts connections and never answers: the slot map never comes.
      const { port } = yield* silentServer
      expect(["CacheUnavailableError", "CacheTimeoutError"]).toContain(
        (yield* startup([{ host: "127.0.0.1", port }]))._tag
      )
      // A server without cluster support answers, but is no Cluster: refused, not retried.
      const standalone = yield* server()
      expect(yield* startup([standalone.url])).toMatchObject({ _tag: "CacheCommandError" })
      const viaLayer = yield* Effect.exit(
        bounded(
          RedisCache.layer({ cluster: { nodes: nobody }, connectTimeout: "1 second" }).pipe(Layer.build),
          "10 seconds"
        )
      )
      expect(viaLayer._tag).toBe("Failure")
    })
  )

  it.scopedLive("a Cluster with no master known fails SCAN typed instead of finding nothing", () =>
    Effect.gen(function* () {
      const unconnected = new Cluster(local.nodes.slice(), { lazyConnect: true, enableOfflineQueue: false })
      yield* Effect.addFinalizer(() => Effect.sync(() => unconnected.disconnect()))
      const backend = internalBackend.make(
        fromCluster(unconnected, { commandTimeout: 1000, circuits: () => CircuitBreaker.disabled, batching: true }),
        {
          commandTimeout: 1000,
          circuit: CircuitBreaker.disabled
        }
      )
      expect(yield* Effect.flip(Stream.runCollect(backend.scan("*")))).toMatchObject({
        _tag: "CacheUnavailableError",
        code: "NOT_CONNECTED"
      })
    })
  )

  it.effect("options that contradict a Cluster are refused before connecting", () =>
    Effect.gen(function* () {
      const nodes = local.nodes
      for (const options of [
        { cluster: { nodes }, url: "redis://127.0.0.1:1" },
        { cluster: { nodes }, db: 2 },
        { cluster: { nodes: [] } },
        { cluster: { nodes: ["redis://user:secret@127.0.0.1:7000"] } },
        { cluster: { nodes: ["127.0.0.1:99999"] } },
        { cluster: { nodes: [{ host: "", port: 7000 }] } },
        { cluster: { nodes, maxRedirections: 0 } },
        { cluster: { nodes, retryDelayOnTryAgain: Duration.infinity } },
        { cluster: { nodes }, sentinel: { sentinels: nodes, name: "m" } }
      ]) {
        const error = yield* Effect.flip(Effect.scoped(RedisCache.makeBackend(options)))
        expect(error).toMatchObject({ _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT" })
        expect(error.message).not.toContain("secret")
      }
    })
  )
})

// The suite gives every test a namespace of its own, so its tests can share the Cluster at the same time: most of
// them wait for keys to expire, and waiting side by side keeps this file short. (The tests above run alone, before.)
describe.concurrent("conformance", () => {
  CacheSuite.run(
    "RedisCache on a Cluster",
    RedisCache.layer({ cluster: { nodes: local.nodes }, prefix: uniquePrefix("cluster-suite") }),
    { advance: (duration) => TestServices.provideLive(Effect.sleep(duration)) }
  )
})
