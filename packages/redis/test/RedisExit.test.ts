/**
 * A program that releases its cache layer exits at once, whatever state the connection was in: child processes run
 * `fixtures/exitChild.ts`, which builds and releases a layer and then just returns; any timer or socket the layer
 * left behind would keep the child alive after it said `ended`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { call, cluster, externalUrl, freePort, redisCli, sentinel, server, silentServer } from "@cachet/dev"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "exitChild.ts")

// Generous for a loaded machine, and still well under the 2 seconds a leftover ioredis disconnect timer holds.
const exitBound = 1500

interface Child {
  /** Resolves once the child has printed `line`. */
  readonly saw: (line: string) => Effect.Effect<void>
  /** What it said after `ended`, how long after saying it it exited, and its exit code. */
  readonly ended: Effect.Effect<{ readonly outcome: string; readonly lingered: number; readonly code: number | null }>
}

const bound = Duration.seconds(30)

/** A child process running `fixtures/exitChild.ts` with `env`, killed with the scope. */
const child = (env: Record<string, string>): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, ["--conditions=@cachet/source", "--import", "tsx", childScript], {
          env: { ...process.env, REDIS_URL: "", ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      (proc: ChildProcess) => Effect.sync(() => proc.kill("SIGKILL"))
    ),
    (proc): Child => {
      const lines: Array<{ readonly text: string; readonly at: number }> = []
      const listeners = new Set<() => void>()
      let stderr = ""
      let buffered = ""
      proc.stdout?.setEncoding("utf8")
      proc.stdout?.on("data", (chunk: string) => {
        buffered += chunk
        const parts = buffered.split("\n")
        buffered = parts.pop() ?? ""
        const at = performance.now()
        for (const text of parts) lines.push({ text, at })
        for (const listener of listeners) listener()
      })
      proc.stderr?.setEncoding("utf8")
      proc.stderr?.on("data", (chunk: string) => {
        stderr += chunk
      })
      const exited = new Promise<{ readonly code: number | null; readonly at: number }>((resolve) =>
        proc.once("exit", (code) => resolve({ code, at: performance.now() }))
      )
      const saw = (line: string) =>
        Effect.async<void>((resume) => {
          const check = () => {
            if (lines.some((l) => l.text === line)) {
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
      const ended = Effect.promise(() => exited).pipe(
        Effect.timeoutFail({ duration: bound, onTimeout: () => new Error(`child never exited: ${stderr}`) }),
        Effect.orDie,
        Effect.flatMap(({ code, at }) => {
          const last = lines.find((l) => l.text.startsWith("ended "))
          return last === undefined
            ? Effect.dieMessage(`child exited ${code} without ending: ${stderr}`)
            : Effect.succeed({ outcome: last.text.slice("ended ".length), lingered: at - last.at, code })
        })
      )
      return { saw, ended }
    }
  )

const exitsPromptly = (
  result: { readonly outcome: string; readonly lingered: number; readonly code: number | null },
  outcome: string
) => {
  expect(result.outcome).toBe(outcome)
  expect(result.code).toBe(0)
  expect(result.lingered).toBeLessThan(exitBound)
}

/** The pid of the `redis-server` on `port` itself (the harness runs it under a watchdog shell). */
const serverPid = (port: number) =>
  Effect.map(redisCli(port, "INFO", "server"), (info) => Number(/process_id:(\d+)/.exec(info)?.[1]))

describe.skipIf(externalUrl !== undefined)("releasing the layer leaves nothing that keeps the process alive", () => {
  it.scopedLive("a healthy server", () =>
    Effect.gen(function* () {
      const s = yield* server()
      exitsPromptly(yield* (yield* child({ REDIS_URL: s.url })).ended, "success")
    })
  )

  it.scopedLive("with a local tier (tracking and bus): a healthy server, and a server killed mid-run", () =>
    Effect.gen(function* () {
      for (const LOCAL of ["tracking", "bus"]) {
        const s = yield* server()
        exitsPromptly(yield* (yield* child({ REDIS_URL: s.url, LOCAL })).ended, "success")
        const c = yield* child({ REDIS_URL: s.url, AWAIT_DOWN: "1", LOCAL })
        yield* c.saw("ready")
        yield* Effect.promise(() => s.kill())
        exitsPromptly(yield* c.ended, "success")
      }
    })
  )

  it.scopedLive("a refused port", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      exitsPromptly(yield* (yield* child({ REDIS_URL: `redis://127.0.0.1:${port}` })).ended, "CacheUnavailableError")
    })
  )

  it.scopedLive("a server killed mid-run", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const c = yield* child({ REDIS_URL: s.url, AWAIT_DOWN: "1" })
      yield* c.saw("ready")
      yield* Effect.promise(() => s.kill())
      exitsPromptly(yield* c.ended, "success")
    })
  )

  it.scopedLive("a paused server (SIGSTOP)", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const pid = yield* serverPid(s.port)
      const c = yield* child({ REDIS_URL: s.url, AWAIT_DOWN: "1" })
      yield* c.saw("ready")
      yield* Effect.acquireRelease(
        Effect.sync(() => process.kill(pid, "SIGSTOP")),
        () => Effect.sync(() => process.kill(pid, "SIGCONT"))
      )
      exitsPromptly(yield* c.ended, "success")
    })
  )

  it.scopedLive("layerFromClient on a client the program quits itself", () =>
    Effect.gen(function* () {
      const s = yield* server()
      exitsPromptly(yield* (yield* child({ REDIS_URL: s.url, FROM_CLIENT: "1" })).ended, "success")
    })
  )

  it.scopedLive("lazy startup: a healthy server, a refused port, a server that never answers", () =>
    Effect.gen(function* () {
      const s = yield* server()
      exitsPromptly(yield* (yield* child({ REDIS_URL: s.url, STARTUP: "lazy" })).ended, "success")
      const port = yield* Effect.promise(() => freePort())
      exitsPromptly(
        yield* (yield* child({ REDIS_URL: `redis://127.0.0.1:${port}`, STARTUP: "lazy" })).ended,
        "CacheUnavailableError"
      )
      const silent = yield* silentServer
      exitsPromptly(
        yield* (yield* child({ REDIS_URL: `redis://127.0.0.1:${silent.port}`, STARTUP: "lazy" })).ended,
        "CacheUnavailableError"
      )
    })
  )

  it.scopedLive("lazy startup: Sentinel healthy, a Cluster healthy, and Cluster nodes that refuse", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      const sentinels = group.sentinels.map(({ host, port }) => `${host}:${port}`).join(",")
      exitsPromptly(
        yield* (yield* child({ SENTINELS: sentinels, SENTINEL_NAME: group.name, STARTUP: "lazy" })).ended,
        "success"
      )
      const c = yield* cluster({ replicas: false })
      const nodes = c.nodes.map(({ host, port }) => `${host}:${port}`).join(",")
      exitsPromptly(yield* (yield* child({ CLUSTER_NODES: nodes, STARTUP: "lazy" })).ended, "success")
      const port = yield* Effect.promise(() => freePort())
      exitsPromptly(
        yield* (yield* child({ CLUSTER_NODES: `127.0.0.1:${port}`, STARTUP: "lazy" })).ended,
        "CacheUnavailableError"
      )
    })
  )

  it.scopedLive("Sentinel: sentinels that refuse, with the default and the lazy startup", () =>
    Effect.gen(function* () {
      const ports = [yield* Effect.promise(() => freePort()), yield* Effect.promise(() => freePort())]
      const sentinels = ports.map((port) => `127.0.0.1:${port}`).join(",")
      exitsPromptly(
        yield* (yield* child({ SENTINELS: sentinels, SENTINEL_NAME: "cache" })).ended,
        "CacheUnavailableError"
      )
      exitsPromptly(
        yield* (yield* child({ SENTINELS: sentinels, SENTINEL_NAME: "cache", STARTUP: "lazy" })).ended,
        "CacheUnavailableError"
      )
    })
  )

  it.scopedLive("Sentinel: healthy, and the master killed mid-run", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      const sentinels = group.sentinels.map(({ host, port }) => `${host}:${port}`).join(",")
      exitsPromptly(yield* (yield* child({ SENTINELS: sentinels, SENTINEL_NAME: group.name })).ended, "success")
      const running = yield* child({ SENTINELS: sentinels, SENTINEL_NAME: group.name, AWAIT_DOWN: "1" })
      yield* running.saw("ready")
      yield* Effect.promise(() => call(group.ports[0], "SHUTDOWN", "NOSAVE").catch(() => undefined))
      exitsPromptly(yield* running.ended, "success")
    })
  )

  it.scopedLive("Cluster: healthy, a node killed mid-run, and nodes that refuse", () =>
    Effect.gen(function* () {
      const c = yield* cluster({ replicas: false })
      const nodes = c.nodes.map(({ host, port }) => `${host}:${port}`).join(",")
      exitsPromptly(yield* (yield* child({ CLUSTER_NODES: nodes })).ended, "success")
      exitsPromptly(yield* (yield* child({ CLUSTER_NODES: nodes, LOCAL: "tracking" })).ended, "success")
      const port = yield* Effect.promise(() => freePort())
      exitsPromptly(yield* (yield* child({ CLUSTER_NODES: `127.0.0.1:${port}` })).ended, "CacheUnavailableError")
      const running = yield* child({ CLUSTER_NODES: nodes, AWAIT_DOWN: "1" })
      yield* running.saw("ready")
      // The child pings through the Cluster; with every master gone the ping fails.
      yield* Effect.forEach(c.ports, (p) => Effect.promise(() => c.kill(p)))
      exitsPromptly(yield* running.ended, "success")
    })
  )
})
