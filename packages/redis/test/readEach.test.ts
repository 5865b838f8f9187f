/**
 * `readEach`, the read of `getMany`: MGET and EXISTS in one round trip, and the atomic script only where the two
 * disagree. A write between the two commands is forced by holding EXISTS back until another client has written.
 */
import { admin, anyServer, uniquePrefix } from "@cachet/dev"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import { getEach, type MultiRead, readEach } from "../src/internal/commands.js"
import * as Scripts from "../src/internal/scripts.js"

const connection = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 0 })),
    (redis) => Effect.promise(() => redis.quit())
  )

/** `redis` as `readEach` sees it, with `between` run after MGET is sent and before EXISTS is. */
const withWriteBetween = (redis: Redis, between: () => Promise<unknown>): MultiRead => ({
  mget: (keys) => redis.mget(keys),
  mgetBuffer: (keys) => redis.mgetBuffer(keys),
  exists: (keys) => between().then(() => redis.exists(keys))
})

describe("readEach", () => {
  it.scopedLive("answers MGET's values when EXISTS agrees, and the script's when a key is of another type", () =>
    Effect.gen(function* () {
      const { url } = yield* anyServer
      const redis = yield* connection(url)
      const other = yield* admin(url)
      const prefix = uniquePrefix("readEach")
      const [a, b, c] = [`${prefix}a`, `${prefix}b`, `${prefix}c`]
      yield* Effect.promise(() => redis.mset(a, "1", b, "2"))
      let scripts = 0
      const runScript: Scripts.ScriptRunner = (script, keys, args, replies) => {
        scripts++
        return Scripts.evalShaFirst(redis)(script, keys, args, replies)
      }
      const read = (on: MultiRead, keys: ReadonlyArray<string>) =>
        Effect.promise(() => readEach(on, runScript, keys, "text", Scripts.atOnce))

      expect(yield* read(redis, [a, c, b, a])).toEqual(["1", null, "2", "1"])
      expect(scripts).toBe(0)

      yield* Effect.promise(() => other.rpush(c, "x"))
      const answers = yield* read(redis, [a, c, b])
      expect(scripts).toBe(1)
      expect(answers[0]).toBe("1")
      expect(answers[1]).toBeInstanceOf(Error)
      expect(String(answers[1])).toContain("WRONGTYPE")
      expect(answers[2]).toBe("2")
      yield* Effect.promise(() => other.unlink(c))

      // A key deleted, or one written, between MGET and EXISTS: the counts disagree, and the script reads again.
      expect(
        yield* read(
          withWriteBetween(redis, () => other.unlink(b)),
          [a, b]
        )
      ).toEqual(["1", null])
      expect(scripts).toBe(2)
      expect(
        yield* read(
          withWriteBetween(redis, () => other.set(c, "3")),
          [a, c]
        )
      ).toEqual(["1", "3"])
      expect(scripts).toBe(3)

      const bytes = yield* Effect.promise(() => readEach(redis, runScript, [a, b], "bytes", Scripts.atOnce))
      expect(bytes).toEqual([Buffer.from("1"), null])
      yield* Effect.promise(() => other.unlink(a, c))
    })
  )

  it.effect("the script goes out through the call's follow-up, and MGET's reply is checked", () =>
    Effect.gen(function* () {
      const fake = (values: ReadonlyArray<string | null>, existing: number): MultiRead => ({
        mget: () => Promise.resolve([...values]),
        mgetBuffer: () => Promise.resolve([]),
        exists: () => Promise.resolve(existing)
      })
      const script: Scripts.ScriptRunner = () => Promise.resolve(["from the script", null])
      const closed: Scripts.FollowUp = () => Promise.reject(new Error("the call timed out"))
      const run = (on: MultiRead, followUp: Scripts.FollowUp, keys = ["a", "b"]) =>
        Effect.flip(Effect.tryPromise(() => readEach(on, script, keys, "text", followUp)))

      expect(
        yield* Effect.promise(() => readEach(fake(["x", null], 2), script, ["a", "b"], "text", Scripts.atOnce))
      ).toEqual(["from the script", null])
      expect(String((yield* run(fake(["x", null], 2), closed)).error)).toContain("the call timed out")
      expect(String((yield* run(fake(["x"], 1), Scripts.atOnce)).error)).toContain("MGET answered")
      expect(yield* Effect.promise(() => getEach(script, ["a", "b"]))).toEqual(["from the script", null])
    })
  )
})
