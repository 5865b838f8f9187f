/**
 * Faults on a Redis Cluster of our own (three masters without replicas; a master that loses its slots or stops
 * does not take the others' down: `cluster-require-full-coverage no`). A command Cachet has answered never runs
 * afterwards, and one master's failures open the circuit for that master's keys only.
 */
import * as CacheResult from "@cachet/core/CacheResult"
import { bounded, call, clusterNodes, paused, startCluster, uniquePrefix, until } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"

const local = await startCluster({ replicas: false, args: ["--cluster-require-full-coverage", "no"] })
afterAll(() => local.stop())

const first = local.ports[0] ?? 0

/** The slot of `key`, as the server computes it. */
const slotOf = (key: string) => Effect.promise(() => call(first, "CLUSTER", "KEYSLOT", key)).pipe(Effect.map(Number))

/** The port of the master serving `slot`, as every node sees it. */
const ownerOf = (slot: number) =>
  Effect.promise(async () => {
    const owner = (await clusterNodes(first)).find(
      (node) => node.role === "master" && node.slots.some(([from, to]) => slot >= from && slot <= to)
    )
    if (owner === undefined) throw new Error(`no master for slot ${slot}`)
    return owner.port
  })

/** Whether every node sees `slot` served by `port`. */
const servedEverywhere = (slot: number, port: number) =>
  until("every node sees the slot served again", async () => {
    const views = await Promise.all(local.ports.map(clusterNodes))
    return views.every((view) =>
      view.some((node) => node.port === port && node.slots.some(([from, to]) => slot >= from && slot <= to))
    )
  })

describe("RedisCache on a Cluster, under faults", () => {
  it.scopedLive("a write that timed out while its slot had no master never lands over a newer one", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("stale")
      // ioredis retries CLUSTERDOWN after `retryDelayOnClusterDown`: longer than the command timeout here, so that
      // a retry, if there were one, could only come after Cachet answered.
      const cache = yield* RedisCache.make({
        cluster: { nodes: local.nodes, retryDelayOnClusterDown: "1 second" },
        prefix,
        commandTimeout: "300 millis",
        circuitBreaker: false
      })
      const slot = yield* slotOf(`${prefix}k`)
      const owner = yield* ownerOf(slot)
      yield* cache.set("k", "before")
      // No node serves the slot: every command on it is answered CLUSTERDOWN until it is added back.
      yield* Effect.acquireRelease(
        Effect.forEach(local.ports, (port) => Effect.promise(() => call(port, "CLUSTER", "DELSLOTS", String(slot)))),
        () =>
          Effect.promise(async () => {
            await call(owner, "CLUSTER", "ADDSLOTS", String(slot)).catch(() => undefined)
            await servedEverywhere(slot, owner)
          })
      )
      const stale = yield* Effect.flip(bounded(cache.set("k", "stale"), "5 seconds"))
      expect(stale).toMatchObject({ _tag: "CacheTimeoutError" })
      yield* Effect.promise(() => call(owner, "CLUSTER", "ADDSLOTS", String(slot)))
      yield* bounded(cache.set("k", "acknowledged").pipe(Effect.retry(Schedule.spaced("50 millis"))), "10 seconds")
      // Longer than ioredis would go on retrying the stale write.
      yield* Effect.sleep("2500 millis")
      expect(yield* cache.get("k")).toEqual(CacheResult.hit("acknowledged"))
    })
  )

  it.scopedLive("one master stopped: the others' keys keep working, its own fail fast, then it is used again", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("breaker")
      const cache = yield* RedisCache.make({
        cluster: { nodes: local.nodes },
        prefix,
        commandTimeout: "300 millis",
        // A cooldown longer than the traffic below: the spanning call then meets the circuit open, never its probe.
        circuitBreaker: { failureThreshold: 3, cooldown: "4 seconds" }
      })
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`)
      const owners = yield* Effect.forEach(keys, (key) => Effect.flatMap(slotOf(`${prefix}${key}`), ownerOf))
      const stopped = first
      const theirs = keys.filter((_, i) => owners[i] === stopped)
      const healthy = keys.filter((_, i) => owners[i] !== stopped)
      expect(theirs.length).toBeGreaterThan(5)
      yield* cache.setMany(keys.map((key) => [key, "before"] as const))

      const resume = yield* paused(stopped)
      // Its keys time out until the threshold, then fail at once.
      const first10 = yield* Effect.forEach(theirs.slice(0, 8), (key) =>
        Effect.flip(bounded(cache.get(key), "5 seconds"))
      )
      // Under a loaded machine one more timeout may come first (seen once in many runs, not explained yet): the
      // circuit then opens on the next, and stays open.
      const opened = first10.findIndex((error) => error.code === "CIRCUIT_OPEN")
      expect(opened).toBeGreaterThanOrEqual(3)
      expect(opened).toBeLessThanOrEqual(4)
      expect(first10.slice(0, opened).map((error) => error._tag)).toEqual(Array(opened).fill("CacheTimeoutError"))
      expect(first10.slice(opened).map((error) => error.code)).toEqual(Array(8 - opened).fill("CIRCUIT_OPEN"))

      // Traffic on every key from four fibers for two seconds: the healthy masters' keys keep being served.
      const outcomes: Array<{ readonly healthy: boolean; readonly exit: Exit.Exit<unknown, unknown> }> = []
      let running = true
      const worker = (w: number) =>
        Effect.gen(function* () {
          for (let i = 0; running; i++) {
            const key = keys[(w * 17 + i) % keys.length] ?? "k0"
            const operation = i % 2 === 0 ? cache.get(key) : cache.set(key, `w${w}-${i}`)
            outcomes.push({ healthy: healthy.includes(key), exit: yield* bounded(Effect.exit(operation), "5 seconds") })
            yield* Effect.sleep("2 millis")
          }
        })
      const fibers = yield* Effect.forEach([0, 1, 2, 3], (w) => Effect.fork(worker(w)))
      yield* Effect.sleep("2 seconds")
      running = false
      yield* Fiber.joinAll(fibers)
      const onHealthy = outcomes.filter((outcome) => outcome.healthy)
      expect(onHealthy.length).toBeGreaterThan(100)
      expect(onHealthy.filter((outcome) => Exit.isSuccess(outcome.exit)).length).toBeGreaterThanOrEqual(
        onHealthy.length * 0.99
      )
      const onStopped = outcomes.filter((outcome) => !outcome.healthy)
      expect(onStopped.every((outcome) => Exit.isFailure(outcome.exit))).toBe(true)

      // A multi-key call spanning masters: the stopped master's slots fail fast, the others' run (and are written).
      const spanning = yield* Effect.flip(bounded(cache.setMany(keys.map((key) => [key, "spanning"] as const))))
      expect(spanning).toMatchObject({ _tag: "CacheUnavailableError", code: "CIRCUIT_OPEN" })
      expect(yield* cache.getMany(healthy)).toEqual(healthy.map(() => CacheResult.hit("spanning")))

      // Resumed, the master is probed after the cooldown and its keys are served again by the same cache.
      resume()
      yield* bounded(cache.getMany(theirs).pipe(Effect.retry(Schedule.spaced("100 millis"))), "20 seconds")
      expect(yield* cache.get(theirs[0] ?? "k0")).toMatchObject({ _tag: "CacheHit" })
    })
  )
})
