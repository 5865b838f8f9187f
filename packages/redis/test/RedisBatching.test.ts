/**
 * Batching: concurrent single-key gets, getOrSet reads and sets of one turn go to the server as one script call per
 * 16 keys. Counted on the server (INFO commandstats), and checked to change no answer: each key keeps its own value
 * and its own error, commands keep their call order, and a batch is bounded in time like any command. These tests
 * reconfigure their servers (RESETSTAT, maxmemory, SCRIPT FLUSH, a replica), so each has servers of its own.
 */
import * as Cache from "@cachet/core/Cache"
import type { CacheError } from "@cachet/core/CacheError"
import { admin, bounded, server, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Schedule from "effect/Schedule"
import type { Redis } from "ioredis"
import { answer, answerOf, sequence, waitsOut } from "./operations.js"

/** How many times the server ran `command`, from INFO commandstats. */
const calls = (redis: Redis, command: string): Effect.Effect<number> =>
  Effect.map(
    Effect.promise(() => redis.info("commandstats")),
    (info) => Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(info)?.[1] ?? "0")
  )

/** Script calls (a batch's first run on a connection is an EVAL, later ones EVALSHA, or their _RO forms for reads),
 * and GETs, MGETs and SETs, including those run inside scripts. */
const counts = (redis: Redis) =>
  Effect.all({
    scripts: Effect.map(
      Effect.all(["eval", "evalsha", "eval_ro", "evalsha_ro"].map((command) => calls(redis, command))),
      (n) => n.reduce((a, b) => a + b, 0)
    ),
    get: calls(redis, "get"),
    mget: calls(redis, "mget"),
    set: calls(redis, "set")
  })

const concurrently = <A, E>(effects: ReadonlyArray<Effect.Effect<A, E>>) =>
  Effect.all(effects, { concurrency: "unbounded" })

const setup = (options: Partial<RedisCache.RedisCacheOptions> = {}) =>
  Effect.gen(function* () {
    const s = yield* server()
    const backend = yield* RedisCache.makeBackend({ url: s.url, ...options })
    const redis = yield* admin(s.url)
    return { s, backend, redis }
  })

describe("RedisCache batching", () => {
  it.scopedLive("concurrent gets, reads with time-to-live and sets go out as one script call per 16 keys", () =>
    Effect.gen(function* () {
      const { backend, redis } = yield* setup()
      const keys = Array.from({ length: 48 }, (_, i) => `k${i}`)
      // Every other key present, one with a time-to-live.
      yield* Effect.promise(() => redis.mset(...keys.filter((_, i) => i % 2 === 0).flatMap((k) => [k, `v-${k}`])))
      yield* Effect.promise(() => redis.pexpire("k0", 60_000))
      yield* Effect.promise(() => redis.config("RESETSTAT"))

      expect(yield* concurrently(keys.map((k) => backend.get(k)))).toEqual(
        keys.map((k, i) => (i % 2 === 0 ? `v-${k}` : undefined))
      )
      // The first of the turn goes out at once as a GET, the other 47 in batches of 16, 16 and 15: an MGET each, and
      // a GET of each key it answered nil for (every other one).
      expect(yield* counts(redis)).toEqual({ scripts: 3, get: 25, mget: 3, set: 0 })

      // Alone, a command is sent as itself.
      expect(yield* backend.get("k2")).toBe("v-k2")
      expect(yield* counts(redis)).toEqual({ scripts: 3, get: 26, mget: 3, set: 0 })

      const withTimeToLive = yield* concurrently(keys.slice(0, 20).map((k) => backend.getWithTimeToLive(k)))
      expect(withTimeToLive[0]?.value).toBe("v-k0")
      expect(withTimeToLive[0]?.timeToLive).toBeGreaterThan(59_000)
      expect(withTimeToLive.slice(1)).toEqual(
        keys.slice(1, 20).map((k, i) => (i % 2 === 1 ? { value: `v-${k}`, timeToLive: -1 } : undefined))
      )
      // The first alone (the single-key GET+PTTL script), the other 19 in two batches.
      expect(yield* counts(redis)).toEqual({ scripts: 6, get: 46, mget: 3, set: 0 })

      yield* concurrently(keys.slice(0, 20).map((k, i) => backend.set(k, `w-${k}`, i < 10 ? 60_000 : undefined)))
      expect(yield* counts(redis)).toEqual({ scripts: 8, get: 46, mget: 3, set: 20 })
      expect(yield* Effect.promise(() => redis.mget(keys.slice(0, 20)))).toEqual(keys.slice(0, 20).map((k) => `w-${k}`))
      const ttls = yield* Effect.promise(() => Promise.all(keys.slice(0, 20).map((k) => redis.pttl(k))))
      expect(ttls.map((ttl) => (ttl > 59_000 ? "expires" : ttl))).toEqual([
        ...Array(10).fill("expires"),
        ...Array(10).fill(-1)
      ])
    })
  )

  it.scopedLive("with batching: false every get is a GET of its own", () =>
    Effect.gen(function* () {
      const { backend, redis } = yield* setup({ batching: false })
      yield* Effect.promise(() => redis.config("RESETSTAT"))
      yield* concurrently(Array.from({ length: 20 }, (_, i) => backend.get(`k${i}`)))
      expect(yield* counts(redis)).toEqual({ scripts: 0, get: 20, mget: 0, set: 0 })
    })
  )

  it.scopedLive("a batch of large values is split by the size bound (about 1 MiB)", () =>
    Effect.gen(function* () {
      const { backend, redis } = yield* setup()
      const value = "x".repeat(200_000)
      const keys = Array.from({ length: 16 }, (_, i) => `large-${i}`)
      yield* Effect.promise(() => redis.config("RESETSTAT"))
      yield* concurrently(keys.map((k) => backend.set(k, `${k}${value}`, undefined)))
      // The first alone; then five values of 200 KB make a batch of about 1 MB and the sixth starts the next one.
      expect(yield* counts(redis)).toEqual({ scripts: 3, get: 0, mget: 0, set: 16 })
      expect(yield* concurrently(keys.map((k) => backend.get(k)))).toEqual(keys.map((k) => `${k}${value}`))
    })
  )

  it.scopedLive("in a batch, each key keeps its own answer and its own error", () =>
    Effect.gen(function* () {
      const { backend, redis } = yield* setup()
      yield* Effect.promise(() => redis.rpush("list", "a", "b"))
      yield* Effect.promise(() => redis.mset("a", "1", "b", "2"))
      const reads = ["a", "list", "missing", "b"]
      const wrongType = { error: "CacheCommandError:WRONG_TYPE" }
      expect(yield* concurrently(reads.map((k) => answerOf(backend.get(k))))).toEqual([
        { ok: "1" },
        wrongType,
        { ok: undefined },
        { ok: "2" }
      ])
      expect(yield* concurrently(reads.map((k) => answerOf(backend.getWithTimeToLive(k))))).toEqual([
        { ok: { value: "1", timeToLive: -1 } },
        wrongType,
        { ok: undefined },
        { ok: { value: "2", timeToLive: -1 } }
      ])

      // getOrSet on a key of another type fails, and writes nothing over it, when it shares a batch with others.
      const cache = yield* Cache.make(backend, { prefix: "" })
      const lookups: Array<string> = []
      const read = (key: string) =>
        answerOf(
          cache.getOrSet(
            key,
            Effect.sync(() => {
              lookups.push(key)
              return `looked-up-${key}`
            }),
            { timeToLive: "1 minute", staleWhileRevalidate: "1 minute" }
          )
        )
      expect(yield* concurrently(["list", "fresh", "a"].map(read))).toEqual([
        wrongType,
        { ok: "looked-up-fresh" },
        { ok: 1 }
      ])
      expect(lookups).toEqual(["fresh"])
      expect(yield* Effect.promise(() => redis.lrange("list", 0, -1))).toEqual(["a", "b"])

      // A full server: every write of a batch fails OUT_OF_MEMORY; a batch of reads still answers.
      yield* Effect.promise(() => redis.config("SET", "maxmemory-policy", "noeviction"))
      yield* Effect.promise(() => redis.config("SET", "maxmemory", "1"))
      const writes = yield* concurrently(["a", "c", "d"].map((k) => answerOf(backend.set(k, "x", 60_000))))
      expect(writes).toEqual(Array(3).fill({ error: "CacheCommandError:OUT_OF_MEMORY" }))
      expect(yield* concurrently(["a", "b", "c"].map((k) => backend.get(k)))).toEqual(["1", "2", undefined])
      yield* Effect.promise(() => redis.config("SET", "maxmemory", "0"))
    })
  )

  it.scopedLive("commands reach the server in the order they were issued, batched or not", () =>
    Effect.gen(function* () {
      const { backend } = yield* setup()
      const answers = yield* concurrently<unknown, CacheError>([
        backend.set("k", "1", undefined),
        backend.has("k"),
        backend.get("k"),
        backend.get("other"),
        backend.increment("n", 5n),
        backend.set("k", "2", undefined),
        backend.set("other", "o", undefined),
        backend.get("k"),
        backend.timeToLive("k"),
        backend.delete(["k"]),
        backend.get("k"),
        backend.getMany(["k", "other"]),
        backend.get("n")
      ])
      expect(answers).toEqual([
        undefined,
        true,
        "1",
        undefined,
        5n,
        undefined,
        undefined,
        "2",
        -1,
        1,
        undefined,
        [undefined, "o"],
        "5"
      ])
    })
  )

  it.scopedLive("random concurrent operations answer what the same operations one at a time answer", () =>
    Effect.gen(function* () {
      const { s, redis } = yield* setup()
      const batched = yield* RedisCache.makeBackend({ url: s.url })
      const plain = yield* RedisCache.makeBackend({ url: s.url, batching: false })
      // The differential test's operations, without the very short time-to-lives that could expire between the two
      // runs, and without scans: a scan's SCAN goes out a few Stream steps after its fiber starts, so even without
      // batching a concurrent command may overtake it. "ab" starts as a list, so that its reads fail WRONGTYPE until
      // a write replaces it. A getMany of "ab" is left out too: a key of another type makes getMany read again by
      // script once its MGET and EXISTS are answered (`readEach`), so it may see the commands issued after it (the
      // README says so); `readEach.test.ts` and the differential test cover it.
      const sequences = sequence.map((operations) =>
        operations.filter(
          (o) =>
            !waitsOut(o) &&
            o._tag !== "scan" &&
            !((o._tag === "getMany" || o._tag === "getManyBytes") && o.keys.includes("ab"))
        )
      )
      let round = 0
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(sequences, (operations) => {
            round++
            const batchedPrefix = uniquePrefix(`batched-${round}`)
            const plainPrefix = uniquePrefix(`plain-${round}`)
            return Effect.runPromise(
              Effect.gen(function* () {
                yield* Effect.promise(() =>
                  Promise.all([redis.rpush(`${batchedPrefix}ab`, "x"), redis.rpush(`${plainPrefix}ab`, "x")])
                )
                const together = yield* concurrently(operations.map((o) => answer(batched, batchedPrefix, o)))
                const oneByOne = yield* Effect.forEach(operations, (o) => answer(plain, plainPrefix, o))
                expect(together).toEqual(oneByOne)
              })
            )
          }),
          { numRuns: 100 }
        )
      )
    })
  )

  it.scopedLive("a batch loads its script again after SCRIPT FLUSH", () =>
    Effect.gen(function* () {
      const { backend, redis } = yield* setup()
      yield* Effect.promise(() => redis.mset("a", "1", "b", "2"))
      expect(yield* concurrently([backend.get("a"), backend.get("b")])).toEqual(["1", "2"])
      yield* Effect.promise(() => redis.script("FLUSH"))
      expect(yield* concurrently([backend.get("b"), backend.get("a"), backend.get("c")])).toEqual(["2", "1", undefined])
      yield* concurrently([backend.set("a", "3", undefined), backend.set("c", "4", undefined)])
      yield* Effect.promise(() => redis.script("FLUSH"))
      yield* concurrently([backend.set("a", "5", undefined), backend.set("c", "6", undefined)])
      expect(yield* Effect.promise(() => redis.mget("a", "c"))).toEqual(["5", "6"])
    })
  )

  it.scopedLive("a paused server: every caller in a batch fails COMMAND_TIMEOUT in time, then the layer recovers", () =>
    Effect.gen(function* () {
      const { backend, redis } = yield* setup({ commandTimeout: "200 millis", circuitBreaker: false })
      yield* Effect.promise(() => redis.mset("a", "1", "b", "2"))
      yield* Effect.promise(() => redis.call("CLIENT", "PAUSE", "1000", "ALL"))
      const timedOut = yield* bounded(
        concurrently([backend.get("a"), backend.get("b"), backend.set("c", "3", undefined)].map(answerOf))
      )
      expect(timedOut).toEqual(Array(3).fill({ error: "CacheTimeoutError:COMMAND_TIMEOUT" }))
      yield* Effect.promise(() => redis.call("CLIENT", "UNPAUSE"))
      expect(yield* bounded(concurrently([backend.get("a"), backend.get("b"), backend.get("c")]))).toEqual([
        "1",
        "2",
        "3"
      ])
    })
  )

  it.scopedLive("writes batched to a replica fail READONLY and make the connection reconnect", () =>
    Effect.gen(function* () {
      const master = yield* server()
      const replica = yield* server(["--replicaof", "127.0.0.1", String(master.port)])
      const onReplica = yield* admin(replica.url)
      const backend = yield* RedisCache.makeBackend({
        url: replica.url,
        connectionName: "batching-readonly",
        circuitBreaker: false
      })
      const connectionId = Effect.map(
        Effect.promise(() => onReplica.client("LIST")),
        (list) => /id=(\d+) .*name=batching-readonly/.exec(String(list))?.[1]
      )
      const before = yield* connectionId
      expect(before).toBeDefined()
      const writes = yield* concurrently(["a", "b", "c"].map((k) => answerOf(backend.set(k, "x", undefined))))
      // The first READONLY makes the connection reconnect at once (no grace period for replies still in flight), so
      // the writes behind it fail READONLY or CONNECTION_CLOSED: retryable either way, and none was written.
      expect(writes[0]).toEqual({ error: "CacheUnavailableError:READONLY" })
      const retryable = ["CacheUnavailableError:READONLY", "CacheUnavailableError:CONNECTION_CLOSED"]
      for (const write of writes) expect("error" in write && retryable.includes(write.error)).toBe(true)
      // Reconnected: a new connection of the same name, which reads on the replica again.
      const after = yield* bounded(
        Effect.retry(
          Effect.filterOrFail(connectionId, (id) => id !== undefined && id !== before),
          Schedule.spaced(Duration.millis(50))
        )
      )
      expect(after).not.toBe(before)
      const reads = yield* bounded(
        Effect.retry(concurrently([backend.get("a"), backend.get("b")]), Schedule.spaced(Duration.millis(50)))
      )
      expect(reads).toEqual([undefined, undefined])
    })
  )
})
