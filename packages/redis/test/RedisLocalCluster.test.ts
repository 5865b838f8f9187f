/**
 * The local tier on a 3-master Redis Cluster (a replica each), across real processes: this test is process A (and
 * `redis-cli`'s stand-in, writing on each master directly), the reader is process B, with a tier of its own. Every
 * change under the prefix reaches B within 100 ms, on every master, after one of B's connections was killed, after a
 * slot moved to another master, and after a master failed over to its replica (planned, or killed); B never serves a
 * value Redis no longer holds once it knows of the failover, and its tier is used again afterwards.
 */
import { type ClusterNode, call, clusterNodes, startCluster, text, uniquePrefix, until } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { heldLocally, reader, trackedOn } from "./localProcess.js"

const local = await startCluster({ replicas: true })
afterAll(() => local.stop())

const nodesEnv = { CLUSTER_NODES: local.nodes.map(({ host, port }) => `${host}:${port}`).join(",") }
const tier = { capacity: 1000, timeToLive: "1 minute" } as const
const options = { commandTimeout: "500 millis", connectTimeout: "5 seconds" } as const

/** The Cluster as the first node that answers sees it (a test before may have killed one). */
const view = Effect.promise(async () => {
  for (const port of local.ports) {
    const nodes = await clusterNodes(port).catch(() => undefined)
    if (nodes !== undefined) return nodes
  }
  throw new Error("no node answers")
})

const mastersOf = (nodes: ReadonlyArray<ClusterNode>) =>
  nodes.filter((node) => node.role === "master" && node.slots.length > 0)

const slotOf = (port: number, key: string) =>
  Effect.promise(async () => Number(await call(port, "CLUSTER", "KEYSLOT", key)))

const serves = (node: ClusterNode, slot: number) => node.slots.some(([from, to]) => slot >= from && slot <= to)

/** A key under `prefix` (its name without the prefix) for each master, in the masters' order. */
const keysOnEveryMaster = (prefix: string, masters: ReadonlyArray<ClusterNode>) =>
  Effect.gen(function* () {
    const found = new Map<string, string>()
    for (let i = 0; found.size < masters.length && i < 10_000; i++) {
      const slot = yield* slotOf(masters[0]?.port ?? 0, `${prefix}k${i}`)
      const owner = masters.find((master) => serves(master, slot))
      if (owner !== undefined && !found.has(owner.id)) found.set(owner.id, `k${i}`)
    }
    return masters.map((master) => {
      const key = found.get(master.id)
      if (key === undefined) throw new Error(`no key on ${master.port}`)
      return key
    })
  })

/** Every node agrees on `check` of its view (the Cluster settled after a change). */
const settled = (what: string, ports: ReadonlyArray<number>, check: (nodes: ReadonlyArray<ClusterNode>) => boolean) =>
  Effect.promise(() =>
    until(
      what,
      async () => {
        const views = await Promise.all(ports.map(clusterNodes))
        const states = await Promise.all(ports.map((port) => text(port, "CLUSTER", "INFO")))
        return views.every(check) && states.every((state) => state.includes("cluster_state:ok"))
      },
      30_000
    )
  )

const set = (port: number, key: string, value: string) => Effect.promise(() => call(port, "SET", key, value))

describe("the local tier on a Cluster, across processes", () => {
  it.scopedLive("tracking: writes on every master (by A, on the master directly, DEL) reach B within 100 ms", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("tier-cluster")
      const masters = mastersOf(yield* view)
      expect(masters).toHaveLength(3)
      const keys = yield* keysOnEveryMaster(prefix, masters)
      const a = yield* RedisCache.make({ cluster: { nodes: local.nodes }, prefix, ...options, local: tier })
      const b = yield* reader({ ...nodesEnv, PREFIX: prefix })
      for (const [i, key] of keys.entries()) {
        const master = masters[i]
        if (master === undefined) throw new Error("no master")
        yield* a.set(key, "a1")
        expect(yield* b.get(key)).toBe('hit "a1"')
        yield* a.set(key, "a2")
        yield* b.until(key, 'hit "a2"')
        // Behind the cache's back, on the master that holds the key.
        yield* set(master.port, `${prefix}${key}`, '"cli"')
        yield* b.until(key, 'hit "cli"')
        yield* Effect.promise(() => call(master.port, "DEL", `${prefix}${key}`))
        yield* b.until(key, "miss")
        yield* a.set(key, "a3")
        yield* b.until(key, 'hit "a3"')
        yield* a.delete(key)
        yield* b.until(key, "miss")
      }
    })
  )

  for (const [what, type] of [
    ["subscriber", "pubsub"],
    ["data connection", "normal"]
  ] as const) {
    it.scopedLive(`CLIENT KILL of B's ${what} on a master: B reads Redis until it is back, then its tier works`, () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix("tier-cluster-kill-client")
        const masters = mastersOf(yield* view)
        const keys = yield* keysOnEveryMaster(prefix, masters)
        const master = masters[2]
        const key = keys[2] ?? ""
        if (master === undefined) throw new Error("no master")
        const full = `${prefix}${key}`
        const b = yield* reader({ ...nodesEnv, PREFIX: prefix })
        yield* set(master.port, full, '"old"')
        expect(yield* b.get(key)).toBe('hit "old"')
        yield* Effect.promise(() => call(master.port, "CLIENT", "KILL", "TYPE", type))
        // A change nobody reports while the connection is down.
        yield* set(master.port, full, '"new"')
        yield* b.until(key, 'hit "new"', 50)
        // Back: subscribed and tracked again, so B's tier holds the key and a later change arrives as before.
        yield* heldLocally(master.port, b, key)
        yield* set(master.port, full, '"newer"')
        yield* b.until(key, 'hit "newer"')
      })
    )
  }

  it.scopedLive("bus: A's writes and deletes on every master reach B within 100 ms", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("tier-cluster-bus")
      const keys = yield* keysOnEveryMaster(prefix, mastersOf(yield* view))
      const bus = { ...tier, invalidation: "bus" } as const
      const a = yield* RedisCache.make({ cluster: { nodes: local.nodes }, prefix, ...options, local: bus })
      const b = yield* reader({ ...nodesEnv, PREFIX: prefix, INVALIDATION: "bus" })
      for (const key of keys) {
        yield* a.set(key, "a1")
        expect(yield* b.get(key)).toBe('hit "a1"')
        yield* a.set(key, "a2")
        yield* b.until(key, 'hit "a2"')
        yield* a.delete(key)
        yield* b.until(key, "miss")
      }
      yield* a.set(keys[0] ?? "", "c")
      yield* b.get(keys[0] ?? "")
      yield* a.clear()
      yield* b.until(keys[0] ?? "", "miss")
    })
  )

  it.scopedLive("a slot moved to another master: a write of its key still reaches B", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("tier-reshard")
      const masters = mastersOf(yield* view)
      const [key = ""] = yield* keysOnEveryMaster(prefix, masters)
      const [source, target] = masters
      if (source === undefined || target === undefined) throw new Error("two masters expected")
      const full = `${prefix}${key}`
      const slot = yield* slotOf(source.port, full)
      const a = yield* RedisCache.make({ cluster: { nodes: local.nodes }, prefix, ...options, local: tier })
      const b = yield* reader({ ...nodesEnv, PREFIX: prefix })
      yield* a.set(key, "before")
      expect(yield* b.get(key)).toBe('hit "before"')

      // Resharding as `redis-cli --cluster reshard` does it, for one slot.
      yield* Effect.promise(async () => {
        await call(target.port, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", source.id)
        await call(source.port, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", target.id)
        const inSlot = await call(source.port, "CLUSTER", "GETKEYSINSLOT", String(slot), "1000")
        const moving = Array.isArray(inSlot) ? inSlot.filter((one): one is string => typeof one === "string") : []
        if (moving.length > 0) {
          await call(source.port, "MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", ...moving)
        }
        for (const master of masters) await call(master.port, "CLUSTER", "SETSLOT", String(slot), "NODE", target.id)
      })
      yield* settled("every node sees the slot on its new master", local.ports, (nodes) =>
        nodes.some((node) => node.id === target.id && serves(node, slot))
      )
      expect(yield* Effect.promise(() => call(target.port, "GET", full))).toBe('"before"')

      // Moved away from B's pair on the source, the key is read again from the target and held in B's tier, where
      // B's pair on the target reports its changes.
      yield* b.until(key, 'hit "before"', 2000)
      yield* heldLocally(target.port, b, key)
      yield* a.set(key, "after")
      yield* b.until(key, 'hit "after"')
      yield* set(target.port, full, '"cli"')
      yield* b.until(key, 'hit "cli"')
      yield* Effect.promise(() => call(target.port, "DEL", full))
      yield* b.until(key, "miss")
    })
  )

  it.scopedLive("a failed-over master: B never serves what Redis no longer holds, and its tier works again", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("tier-failover")
      const nodes = yield* view
      const masters = mastersOf(nodes)
      const keys = yield* keysOnEveryMaster(prefix, masters)
      const master = masters[0]
      const replica = nodes.find((node) => node.masterId === master?.id)
      if (master === undefined || replica === undefined) throw new Error("no master with a replica")
      const key = keys[0] ?? ""
      const full = `${prefix}${key}`
      const a = yield* RedisCache.make({ cluster: { nodes: local.nodes }, prefix, ...options, local: tier })
      const b = yield* reader({ ...nodesEnv, PREFIX: prefix })
      for (const one of keys) yield* a.set(one, "before")
      for (const one of keys) expect(yield* b.get(one)).toBe('hit "before"')

      yield* Effect.promise(() => call(replica.port, "CLUSTER", "FAILOVER"))
      yield* settled("the replica is master", local.ports, (view) =>
        view.some((node) => node.id === replica.id && node.role === "master" && node.slots.length > 0)
      )
      // Written on the new master, behind the cache's back: the old value is gone from Redis.
      yield* set(replica.port, full, '"after"')
      yield* b.until(key, 'hit "after"', 3000)
      for (let i = 0; i < 20; i++) expect(yield* b.get(key)).toBe('hit "after"')

      // B's tier works again, on the new master as on the others.
      yield* set(replica.port, full, '"again"')
      yield* b.until(key, 'hit "again"', 2000)
      yield* a.set(key, "by A")
      yield* b.until(key, 'hit "by A"')
      // A's and B's pairs left the demoted master for the new one.
      yield* trackedOn([master.port, replica.port], [0, 2])
      yield* heldLocally(replica.port, b, key)
      yield* set(replica.port, full, '"cli again"')
      yield* b.until(key, 'hit "cli again"')
      for (const one of keys.slice(1)) {
        yield* a.set(one, "later")
        yield* b.until(one, 'hit "later"')
      }
    })
  )
  it.scopedLive(
    "a killed master, replaced by its replica: B serves what the new master holds, then its tier works",
    () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix("tier-kill")
        // A failover before this test may still be spreading: every node must know each master's replica first.
        yield* settled("every master has its replica", local.ports, (view) =>
          mastersOf(view).every((master) => view.some((node) => node.masterId === master.id))
        )
        const nodes = yield* view
        const masters = mastersOf(nodes)
        const keys = yield* keysOnEveryMaster(prefix, masters)
        const master = masters[1]
        const replica = nodes.find((node) => node.masterId === master?.id)
        if (master === undefined || replica === undefined) throw new Error("no master with a replica")
        const key = keys[1] ?? ""
        const full = `${prefix}${key}`
        const survivors = local.ports.filter((port) => port !== master.port)
        const a = yield* RedisCache.make({ cluster: { nodes: local.nodes }, prefix, ...options, local: tier })
        const b = yield* reader({ ...nodesEnv, PREFIX: prefix })
        for (const one of keys) yield* a.set(one, "before")
        for (const one of keys) expect(yield* b.get(one)).toBe('hit "before"')

        yield* Effect.promise(() => local.kill(master.port))
        yield* settled("the replica took over", survivors, (view) =>
          view.some((node) => node.id === replica.id && node.role === "master" && node.slots.length > 0)
        )
        yield* set(replica.port, full, '"after"')
        yield* b.until(key, 'hit "after"', 10_000)
        for (let i = 0; i < 20; i++) expect(yield* b.get(key)).toBe('hit "after"')

        // B's tier works again: a pair on the new master, and changes there arrive within 100 ms.
        yield* a.set(key, "by A")
        yield* trackedOn([replica.port], [2])
        yield* b.until(key, 'hit "by A"')
        yield* heldLocally(replica.port, b, key)
        yield* set(replica.port, full, '"cli"')
        yield* b.until(key, 'hit "cli"')
        for (const one of keys) {
          yield* a.set(one, "later")
          yield* b.until(one, 'hit "later"')
        }
      })
  )
})
