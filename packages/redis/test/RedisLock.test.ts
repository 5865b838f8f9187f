/**
 * The cross-process lock of `getOrSet` with real processes: child processes (not fibers), each with its own
 * connection and its own single-flight, contending for one key on one server.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { admin, anyServer, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "lockChild.ts")

interface Child {
  readonly pid: number
  /** Resolves when the child has printed `line` (at once if it already has). */
  readonly saw: (line: string) => Effect.Effect<void>
  readonly go: Effect.Effect<void>
  /** The answers it printed before exiting with 0. */
  readonly answers: Effect.Effect<ReadonlyArray<string>>
  readonly kill: Effect.Effect<void>
}

const bound = Duration.seconds(30)

/** A child process running `fixtures/lockChild.ts`, killed with the scope. */
const child = (env: Record<string, string>): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, ["--conditions=@cachet/source", "--import", "tsx", childScript], {
          env: { ...process.env, ...env },
          stdio: ["pipe", "pipe", "pipe"]
        })
      ),
      (process: ChildProcess) => Effect.sync(() => process.kill("SIGKILL"))
    ),
    (proc): Child => {
      const lines: Array<string> = []
      const listeners = new Set<() => void>()
      let stderr = ""
      let buffered = ""
      proc.stdout?.setEncoding("utf8")
      proc.stdout?.on("data", (chunk: string) => {
        buffered += chunk
        const parts = buffered.split("\n")
        buffered = parts.pop() ?? ""
        lines.push(...parts)
        for (const listener of listeners) listener()
      })
      proc.stderr?.setEncoding("utf8")
      proc.stderr?.on("data", (chunk: string) => {
        stderr += chunk
      })
      const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)))
      const saw = (line: string) =>
        Effect.async<void>((resume) => {
          const check = () => {
            if (lines.includes(line)) {
              listeners.delete(check)
              resume(Effect.void)
            }
          }
          listeners.add(check)
          check()
          return Effect.sync(() => listeners.delete(check))
        }).pipe(
          Effect.timeoutFail({ duration: bound, onTimeout: () => new Error(`child never said ${line}: ${stderr}`) }),
          Effect.orDie
        )
      const answers = Effect.flatMap(
        Effect.promise(() => exited).pipe(
          Effect.timeoutFail({ duration: bound, onTimeout: () => "hang" }),
          Effect.orDie
        ),
        (code) => {
          const last = lines.at(-1)
          if (code !== 0 || last === undefined) return Effect.dieMessage(`child exited ${code}: ${stderr}`)
          const parsed: unknown = JSON.parse(last)
          const list = typeof parsed === "object" && parsed !== null ? Reflect.get(parsed, "answers") : undefined
          return Array.isArray(list) && list.every((item) => typeof item === "string")
            ? Effect.succeed(list)
            : Effect.dieMessage(`child answered ${last}`)
        }
      )
      return {
        pid: proc.pid ?? -1,
        saw,
        go: Effect.sync(() => proc.stdin?.write("go\n")),
        answers,
        kill: Effect.sync(() => proc.kill("SIGKILL"))
      }
    }
  )

describe("getOrSet with lock across processes", () => {
  it.scopedLive("4 processes × 25 concurrent callers of one missing key run the lookup exactly once (lock: true)", () =>
    Effect.gen(function* () {
      const { url } = yield* anyServer
      const prefix = uniquePrefix("lock")
      const cache = yield* RedisCache.make({ url, prefix })
      yield* Effect.addFinalizer(() => Effect.ignore(cache.clear()))
      const children = yield* Effect.all(
        Array.from({ length: 4 }, () =>
          child({ REDIS_URL: url, PREFIX: prefix, CALLERS: "25", LOOKUP_MILLIS: "300", LOCK_MILLIS: "" })
        )
      )
      yield* Effect.forEach(children, (c) => c.saw("ready"))
      yield* Effect.forEach(children, (c) => c.go)
      const answers = (yield* Effect.forEach(children, (c) => c.answers)).flat()
      expect(answers).toHaveLength(100)
      expect(new Set(answers).size).toBe(1)
      const redis = yield* admin(url)
      expect(yield* Effect.promise(() => redis.get(`${prefix}lookups`))).toBe("1")
      // The holder released its lock.
      expect(yield* Effect.promise(() => redis.exists(`${prefix}shared\u0000lock`))).toBe(0)
    })
  )

  it.scopedLive(
    "a holder killed in the middle of its lookup: a waiting process takes over after the lock expires",
    () =>
      Effect.gen(function* () {
        const { url } = yield* anyServer
        const prefix = uniquePrefix("lock-kill")
        const cache = yield* RedisCache.make({ url, prefix })
        yield* Effect.addFinalizer(() => Effect.ignore(cache.clear()))
        const redis = yield* admin(url)
        const lookups = Effect.promise(() => redis.get(`${prefix}lookups`))
        const lockKey = `${prefix}shared\u0000lock`
        const common = { REDIS_URL: url, PREFIX: prefix, CALLERS: "5", LOOKUP_MILLIS: "50", LOCK_MILLIS: "1500" }
        const holder = yield* child({ ...common, HANG: "1" })
        const waiter = yield* child(common)
        yield* Effect.all([holder.saw("ready"), waiter.saw("ready")])
        yield* holder.go
        yield* holder.saw("lookup")
        yield* waiter.go
        yield* Effect.sleep("300 millis")
        expect(yield* lookups).toBe("1")
        yield* holder.kill
        // The dead holder's lock is still there: the waiter has to wait for its expiry.
        expect(yield* Effect.promise(() => redis.pttl(lockKey))).toBeGreaterThan(0)
        const answers = yield* waiter.answers
        expect(answers).toEqual(Array.from({ length: 5 }, () => `value of ${waiter.pid}`))
        expect(yield* lookups).toBe("2")
        expect(yield* Effect.promise(() => redis.exists(lockKey))).toBe(0)
      })
  )
})
