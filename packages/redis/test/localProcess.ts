/**
 * A second process with a local tier (`fixtures/localReader.ts`), asked for keys one line at a time.
 */
import { type ChildProcess, spawn } from "node:child_process"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { call, until } from "@cachet/dev"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "localReader.ts")

export interface Reader {
  /** The other process's answer for `key`: `hit <json>`, `miss` or `error <code>`. */
  readonly get: (key: string) => Effect.Effect<string>
  /** Ask until the answer is `expected`, for at most `limit` ms: how long it took. */
  readonly until: (key: string, expected: string, limit?: number) => Effect.Effect<number>
}

/** Start the other process with `env` (where to connect, `PREFIX`, `INVALIDATION`), killed with the scope. */
export const reader = (env: Record<string, string>): Effect.Effect<Reader, never, Scope.Scope> =>
  Effect.gen(function* () {
    const proc = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, ["--conditions=@cachet/source", "--import", "tsx", script], {
          env: { ...process.env, ...env },
          stdio: ["pipe", "pipe", "pipe"]
        })
      ),
      (child: ChildProcess) => Effect.sync(() => child.kill("SIGKILL"))
    )
    const waiting: Array<(line: string) => void> = []
    let buffered = ""
    let stderr = ""
    proc.stdout?.setEncoding("utf8")
    proc.stdout?.on("data", (chunk: string) => {
      buffered += chunk
      const parts = buffered.split("\n")
      buffered = parts.pop() ?? ""
      for (const line of parts) waiting.shift()?.(line)
    })
    proc.stderr?.setEncoding("utf8")
    proc.stderr?.on("data", (chunk: string) => {
      stderr += chunk
    })
    const next = Effect.async<string>((resume) => {
      waiting.push((line) => resume(Effect.succeed(line)))
    }).pipe(
      Effect.timeoutFail({
        duration: "20 seconds",
        onTimeout: () => new Error(`no answer from the reader: ${stderr}`)
      }),
      Effect.orDie
    )
    const ready = yield* next
    if (ready !== "ready") return yield* Effect.dieMessage(`reader said ${ready}: ${stderr}`)
    const get = (key: string) =>
      Effect.suspend(() => {
        const answer = next
        proc.stdin?.write(`get ${key}\n`)
        return answer
      })
    const until = (key: string, expected: string, limit = 100) =>
      Effect.gen(function* () {
        const start = performance.now()
        for (;;) {
          const answer = yield* get(key)
          if (answer === expected) return performance.now() - start
          if (performance.now() - start > limit) {
            return yield* Effect.dieMessage(`${key}: still "${answer}" after ${limit} ms, expected "${expected}"`)
          }
          yield* Effect.sleep("2 millis")
        }
      })
    return { get, until }
  })

/** How many connections of the server on `port` have tracking on (CLIENT LIST: `redir=` names their subscriber). */
const trackedConnections = async (port: number): Promise<number> =>
  String(await call(port, "CLIENT", "LIST"))
    .split("\n")
    .filter((line) => /redir=\d+/.test(line)).length

/** Wait until the servers on `ports` have `counts` tracked connections, for at most 10 seconds. */
export const trackedOn = (ports: ReadonlyArray<number>, counts: ReadonlyArray<number>): Effect.Effect<void> =>
  Effect.promise(() =>
    until(
      `tracked connections ${counts.join(", ")} on ${ports.join(", ")}`,
      async () => (await Promise.all(ports.map(trackedConnections))).every((count, i) => count === counts[i]),
      10_000
    )
  )

const commandCalls = async (port: number): Promise<number> => {
  let total = 0
  for (const match of String(await call(port, "INFO", "commandstats")).matchAll(/calls=(\d+)/g))
    total += Number(match[1])
  return total
}

/**
 * Wait until `reader` answers 100 gets of `key` from its tier: the server on `port` (the key's) sees fewer than 20
 * commands meanwhile (the INFO calls themselves and heartbeat PINGs), for at most 10 seconds.
 */
export const heldLocally = (port: number, reader: Reader, key: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    const start = performance.now()
    for (;;) {
      const before = yield* Effect.promise(() => commandCalls(port))
      for (let i = 0; i < 100; i++) yield* reader.get(key)
      const sent = (yield* Effect.promise(() => commandCalls(port))) - before
      if (sent < 20) return
      if (performance.now() - start > 10_000) {
        return yield* Effect.dieMessage(`${key}: still read from the server (${sent} commands for 100 gets)`)
      }
      yield* Effect.sleep("100 millis")
    }
  })
