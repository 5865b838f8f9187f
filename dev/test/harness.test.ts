import { admin, bounded, freePort, server, silentServer, startServer, uniquePrefix } from "@cachet/dev"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Redis } from "ioredis"

const pingOnce = (port: number, timeout = 1000): Promise<unknown> => {
  const redis = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    commandTimeout: timeout
  })
  redis.on("error", () => {})
  return redis
    .connect()
    .then(() => redis.ping())
    .finally(() => redis.disconnect())
}

describe("the harness", () => {
  it.scopedLive(
    "a server of our own answers, comes back empty after a kill and a restart, and stops with its scope",
    () =>
      Effect.gen(function* () {
        const s = yield* server()
        expect(s.port).not.toBe(6379)
        const redis = yield* admin(s.url)
        yield* Effect.promise(() => redis.set("k", "v"))
        yield* Effect.promise(() => s.kill())
        expect(yield* Effect.exit(Effect.tryPromise(() => pingOnce(s.port)))).toMatchObject({ _tag: "Failure" })
        yield* Effect.promise(() => s.restart())
        expect(yield* Effect.promise(() => pingOnce(s.port))).toBe("PONG")
        expect(yield* Effect.promise(() => redis.get("k"))).toBeNull()
      })
  )

  it("startServer's stop ends the server; free ports and prefixes are never shared", async () => {
    const s = await startServer()
    expect(await pingOnce(s.port)).toBe("PONG")
    await s.stop()
    await expect(pingOnce(s.port)).rejects.toBeDefined()
    const ports = await Promise.all([freePort(), freePort(), freePort()])
    expect(ports).not.toContain(6379)
    expect(uniquePrefix("a")).not.toBe(uniquePrefix("a"))
  })

  it.scopedLive("a silent server accepts and never answers; bounded turns a hang into a defect", () =>
    Effect.gen(function* () {
      const { port } = yield* silentServer
      const exit = yield* Effect.exit(
        bounded(
          Effect.promise(() => new Promise<never>(() => {})),
          "100 millis"
        )
      )
      expect(Exit.isFailure(exit) && exit.cause._tag).toBe("Die")
      const ping = yield* Effect.exit(Effect.tryPromise(() => pingOnce(port, 200)))
      expect(ping._tag).toBe("Failure")
    })
  )
})
