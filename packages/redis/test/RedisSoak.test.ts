/**
 * A soak: 64 fibers in a tight loop of mixed operations (`setMany` among them) on one cache, while the server suffers
 * a fault every 20 seconds, in turn a crash (kill -9) and restart, `CLIENT KILL` of every connection, and a SIGSTOP
 * longer than the command timeout. Every operation runs under a watchdog far longer than the command timeout; the
 * soak fails on any watchdog hit, any defect, any unhandled rejection, a throughput that does not come back after a
 * fault, a heap that grows, or connections that pile up.
 *
 * `CACHET_SOAK_SECONDS` sets its length (default 120: six faults). It runs in a project of its own, after every other
 * test file (see `vitest.soak.config.ts`).
 */

import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import type { CacheError } from "@cachet/core/CacheError"
import { admin, externalUrl, type Server, server } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { Redis } from "ioredis"

const seconds = (() => {
  const raw = process.env.CACHET_SOAK_SECONDS
  const parsed = raw === undefined || raw === "" ? 120 : Number(raw)
  return Number.isFinite(parsed) && parsed >= 15 ? parsed : 120
})()

const fibers = 64
const commandTimeout = 500
/** Far longer than any answer may take: the command timeout, plus a breaker's cooldown, many times over. */
const watchdog = 10_000
/** How long throughput may take to come back after a fault before the soak fails (it is about 2 s here). */
const recoveryBound = 10_000
const faultEvery = 20_000
const firstFault = 10_000
/** Recovered: a 500 ms window with at least this share of the throughput before the fault. */
const recoveredShare = 0.5
const bucket = 100
const connectionName = "cachet-soak"
const keys = 1000

type FaultKind = "kill -9 and restart" | "CLIENT KILL" | "SIGSTOP"
const faultKinds: ReadonlyArray<FaultKind> = ["kill -9 and restart", "CLIENT KILL", "SIGSTOP"]

interface FaultReport {
  readonly kind: FaultKind
  /** Milliseconds since the start: the fault began, and ended (server back, connection killed, process resumed). */
  readonly at: number
  readonly endedAt: number
  /** Successes per second in the 5 s before the fault. */
  readonly before: number
  /** Milliseconds from the end of the fault to throughput back at `recoveredShare` of `before`. */
  readonly recovery: number | undefined
  readonly heapMiB: number
  readonly connections: number
  /** Failures other than an open circuit between the fault and the recovery, by tag and code. */
  readonly failures: Record<string, number>
}

const sleep = (ms: number) => Effect.sleep(ms)

// A collection forced before each measure, so that a heap figure says what is still reachable.
setFlagsFromString("--expose-gc")
const gc: unknown = runInNewContext("gc")

const heapMiB = (): number => {
  if (typeof gc === "function") gc()
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10
}

/** Connections the cache holds, counted from an admin connection (which reconnects after a restart). */
const connections = (redis: Redis) =>
  Effect.tryPromise(() => redis.call("CLIENT", "LIST")).pipe(
    Effect.map(
      (list) =>
        String(list)
          .split("\n")
          .filter((line) => line.includes(`name=${connectionName} `)).length
    ),
    Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 }),
    Effect.orDie
  )

const serverPid = (redis: Redis) =>
  Effect.tryPromise(() => redis.call("INFO", "server")).pipe(
    Effect.map((info) => {
      const match = /process_id:(\d+)/.exec(String(info))
      if (match?.[1] === undefined) throw new Error("INFO server has no process_id")
      return Number(match[1])
    }),
    Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 }),
    Effect.orDie
  )

describe.skipIf(externalUrl !== undefined)("RedisCache soak", () => {
  it.scopedLive(
    `${fibers} fibers of mixed operations, a fault every ${faultEvery / 1000} s, for ${seconds} s`,
    () =>
      Effect.gen(function* () {
        const rejections: Array<unknown> = []
        const onRejection = (reason: unknown) => {
          rejections.push(reason)
        }
        yield* Effect.acquireRelease(
          Effect.sync(() => process.on("unhandledRejection", onRejection)),
          () => Effect.sync(() => process.off("unhandledRejection", onRejection))
        )
        const s: Server = yield* server()
        const redis = yield* admin(s.url)
        const cache = yield* RedisCache.make({
          url: s.url,
          prefix: "soak:",
          connectionName,
          commandTimeout: `${commandTimeout} millis`,
          connectTimeout: "2 seconds"
        })

        const start = performance.now()
        const elapsed = () => performance.now() - start
        const successes = new Array<number>(Math.ceil((seconds * 1000 + 60_000) / bucket)).fill(0)
        const counts = { operations: 0, successes: 0, failures: 0, watchdogHits: 0, defects: 0 }
        const failureTags = new Map<string, number>()
        const defects: Array<string> = []
        // Failures other than an open circuit, with when they happened: what each fault looked like to a caller.
        const failureLog: Array<{ readonly at: number; readonly tag: string }> = []
        let stop = false

        const operation = (worker: number, i: number): Effect.Effect<unknown, CacheError> => {
          const key = `k${(worker * 131 + i * 17) % keys}`
          switch ((worker + i) % 10) {
            case 0:
            case 1:
            case 2:
              return cache.get(key)
            case 3:
              return cache.set(key, `v${i}`, { timeToLive: "60 seconds" })
            case 4:
            case 5:
              return cache.setMany(
                Array.from({ length: 8 }, (_, j) => [`k${(worker * 131 + i * 17 + j) % keys}`, `m${i}`] as const),
                { timeToLive: "60 seconds" }
              )
            case 6:
              return cache.getMany(Array.from({ length: 8 }, (_, j) => `k${(worker * 131 + i + j) % keys}`))
            case 7:
              return cache.increment(`n${worker % 16}`)
            case 8:
              return cache.has(key)
            default:
              return cache.delete(key)
          }
        }

        const worker = (w: number) =>
          Effect.gen(function* () {
            for (let i = 0; !stop; i++) {
              const exit = yield* Effect.exit(
                Effect.timeoutFailCause(operation(w, i), {
                  duration: watchdog,
                  onTimeout: () => Cause.die("watchdog")
                })
              )
              counts.operations++
              if (Exit.isSuccess(exit)) {
                counts.successes++
                const slot = Math.floor(elapsed() / bucket)
                successes[slot] = (successes[slot] ?? 0) + 1
                continue
              }
              counts.failures++
              const failure = Cause.failureOption(exit.cause)
              if (Option.isSome(failure)) {
                const tag = `${failure.value._tag} ${"code" in failure.value ? failure.value.code : ""}`
                failureTags.set(tag, (failureTags.get(tag) ?? 0) + 1)
                if (tag !== "CacheUnavailableError CIRCUIT_OPEN" && failureLog.length < 100_000) {
                  failureLog.push({ at: elapsed(), tag })
                }
              } else if (Cause.isDie(exit.cause) && Cause.pretty(exit.cause).includes("watchdog")) {
                counts.watchdogHits++
              } else {
                counts.defects++
                if (defects.length < 5) defects.push(Cause.pretty(exit.cause))
              }
            }
          })

        const rate = (from: number, to: number): number => {
          let sum = 0
          const first = Math.max(0, Math.floor(from / bucket))
          const last = Math.floor(to / bucket)
          for (let b = first; b < last; b++) sum += successes[b] ?? 0
          return to > from ? (sum * 1000) / (to - from) : 0
        }

        /** Milliseconds from `endedAt` until a 500 ms window reaches `target` successes per second. */
        const recoveryAfter = (endedAt: number, target: number) =>
          Effect.gen(function* () {
            for (;;) {
              const now = elapsed()
              for (let t = endedAt; t + 500 <= now; t += bucket) {
                if (rate(t, t + 500) >= target) return Math.max(0, t - endedAt)
              }
              if (now - endedAt > recoveryBound + 500) return undefined
              yield* sleep(100)
            }
          })

        const workers = yield* Effect.fork(
          Effect.all(
            Array.from({ length: fibers }, (_, w) => worker(w)),
            { concurrency: "unbounded", discard: true }
          )
        )

        const reports: Array<FaultReport> = []
        yield* sleep(firstFault - 5000)
        const heapBefore = heapMiB()
        const connectionsBefore = yield* connections(redis)
        for (let k = 0; firstFault + k * faultEvery + 10_000 <= seconds * 1000; k++) {
          const kind = faultKinds[k % faultKinds.length] ?? "CLIENT KILL"
          const at = firstFault + k * faultEvery
          yield* sleep(Math.max(0, at - elapsed()))
          const faultStart = elapsed()
          const before = rate(faultStart - 5000, faultStart)
          if (kind === "kill -9 and restart") {
            yield* Effect.promise(() => s.kill())
            yield* sleep(1000)
            yield* Effect.promise(() => s.restart())
          } else if (kind === "CLIENT KILL") {
            yield* Effect.tryPromise(() => redis.call("CLIENT", "KILL", "TYPE", "normal")).pipe(Effect.orDie)
          } else {
            const pid = yield* serverPid(redis)
            process.kill(pid, "SIGSTOP")
            yield* sleep(3000)
            process.kill(pid, "SIGCONT")
          }
          const endedAt = elapsed()
          const recovery = yield* recoveryAfter(endedAt, before * recoveredShare)
          reports.push({
            kind,
            at: Math.round(faultStart),
            endedAt: Math.round(endedAt),
            before: Math.round(before),
            recovery: recovery === undefined ? undefined : Math.round(recovery),
            heapMiB: heapMiB(),
            connections: yield* connections(redis),
            failures: Object.fromEntries(
              failureLog
                .filter((f) => f.at >= faultStart && f.at < endedAt + (recovery ?? recoveryBound))
                .reduce((m, f) => m.set(f.tag, (m.get(f.tag) ?? 0) + 1), new Map<string, number>())
            )
          })
        }
        yield* sleep(Math.max(0, seconds * 1000 - elapsed()))
        stop = true
        yield* Fiber.join(workers).pipe(
          Effect.timeoutFailCause({ duration: watchdog * 2, onTimeout: () => Cause.die("workers did not stop") })
        )
        const total = elapsed()
        // Let late replies and rejections arrive, and the heap settle, before the last look.
        yield* sleep(500)
        const heapAfter = heapMiB()
        const connectionsAfter = yield* connections(redis)

        const summary = {
          seconds: Math.round(total / 1000),
          fibers,
          operationsPerSecond: Math.round((counts.operations * 1000) / total),
          successesPerSecond: Math.round((counts.successes * 1000) / total),
          ...counts,
          failures: Object.fromEntries(failureTags),
          unhandledRejections: rejections.length,
          heapMiB: {
            before: heapBefore,
            after: heapAfter,
            forcedGc: typeof gc === "function"
          },
          connections: { before: connectionsBefore, after: connectionsAfter },
          faults: reports
        }
        console.log(`soak summary ${JSON.stringify(summary, null, 2)}`)

        expect(defects).toEqual([])
        expect(counts.watchdogHits).toBe(0)
        expect(rejections).toEqual([])
        expect(counts.successes).toBeGreaterThan(0)
        for (const report of reports) {
          expect(report.before).toBeGreaterThan(0)
          expect(report, `throughput back within ${recoveryBound} ms`).toMatchObject({ recovery: expect.any(Number) })
          expect(report.connections).toBeLessThanOrEqual(1)
        }
        expect(connectionsBefore).toBe(1)
        expect(connectionsAfter).toBe(1)
        // Flat: bounded growth over minutes of faults, where a leak per failed command (millions here) would not be.
        expect(heapAfter - heapBefore).toBeLessThan(64)
        // The cache still answers after the soak.
        yield* cache.set("final", "v")
        expect(yield* cache.get("final")).toMatchObject({ _tag: "CacheHit", value: "v" })
      }),
    seconds * 1000 + 120_000
  )
})
