/**
 * Redis servers for tests: each one a `redis-server` of our own on a free loopback port, without persistence,
 * stopped when its scope closes (and, as a last resort, when the process exits). Setting `REDIS_URL` points the
 * tests that only need *a* server at an existing one instead; they then work under unique prefixes and never touch
 * other data. Tests never use 127.0.0.1:6379 and never FLUSHDB or FLUSHALL.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"

/** An existing server to use instead of starting one, from `REDIS_URL`. */
export const externalUrl: string | undefined = process.env.REDIS_URL === "" ? undefined : process.env.REDIS_URL

const running = new Set<ChildProcess>()
process.on("exit", () => {
  for (const child of running) child.kill("SIGTERM")
})

/** A free TCP port on 127.0.0.1, asked of the kernel. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port === 0 || port === 6379 ? reject(new Error("no usable port")) : resolve(port)))
    })
  })

/** Whether something on `port` answers PING with PONG. */
const answers = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" })
    let data = ""
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once("error", () => done(false))
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.on("data", (chunk) => {
      data += chunk.toString("utf8")
      // A server with a password answers NOAUTH: it is up all the same.
      if (data.includes("\r\n")) done(data.startsWith("+PONG") || data.startsWith("-NOAUTH"))
    })
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface Server {
  readonly port: number
  readonly url: string
  /** Kill the server at once (SIGKILL), as a crash would. */
  readonly kill: () => Promise<void>
  /** Start a fresh, empty server on the same port (after `kill`). */
  readonly restart: () => Promise<void>
}

/**
 * Start `redis-server` on `port` with extra arguments, and a configuration file first when given (Sentinel needs
 * one it can rewrite). Resolves once it answers PING.
 */
export const launch = async (
  port: number,
  args: ReadonlyArray<string>,
  configFile?: string | undefined
): Promise<ChildProcess> => {
  // Through a small shell watchdog: if this process dies without running its exit handler (SIGKILL, a CI
  // timeout), the server goes too instead of lingering on its port. SIGTERM to the shell stops the server at once.
  const watchdog = [
    'redis-server "$@" & server=$!',
    "trap 'kill -9 $server 2>/dev/null; wait $server; exit 0' TERM INT",
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 1 & wait $!; done`,
    "kill -9 $server 2>/dev/null; wait $server"
  ].join("\n")
  const child = spawn(
    "sh",
    [
      "-c",
      watchdog,
      "sh",
      ...(configFile === undefined ? [] : [configFile]),
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "no",
      "--loglevel",
      "warning",
      ...args
    ],
    { stdio: "ignore" }
  )
  running.add(child)
  let exited = false
  child.once("exit", () => {
    exited = true
    running.delete(child)
  })
  for (let i = 0; i < 250; i++) {
    if (exited) throw new Error(`redis-server on port ${port} exited at startup`)
    if (await answers(port)) return child
    await sleep(20)
  }
  await stop(child)
  throw new Error(`redis-server on port ${port} did not answer within 5 seconds`)
}

/** Stop a server started by `launch` (SIGTERM to its watchdog, which kills it at once). */
export const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/** Start a server with extra `redis-server` arguments (e.g. `["--requirepass", "x"]`). */
export const startServer = async (
  args: ReadonlyArray<string> = []
): Promise<Server & { readonly stop: () => Promise<void> }> => {
  const port = await freePort()
  let child: ChildProcess | undefined = await launch(port, args)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: async () => {
      if (child !== undefined) await stop(child)
      child = undefined
    },
    restart: async () => {
      if (child !== undefined) await stop(child)
      child = await launch(port, args)
    },
    stop: async () => {
      if (child !== undefined) await stop(child)
      child = undefined
    }
  }
}

/** A server of our own for the scope. */
export const server = (args: ReadonlyArray<string> = []): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startServer(args)),
    (s) => Effect.promise(() => s.stop())
  )

/** The server to run ordinary tests on: `REDIS_URL` when set, otherwise one of our own for the scope. */
export const anyServer: Effect.Effect<{ readonly url: string }, never, Scope.Scope> =
  externalUrl === undefined ? server() : Effect.succeed({ url: externalUrl })

/** `effect`, or a defect that fails the test if it has not ended within `limit`: nothing may hang. */
export const bounded = <A, E, R>(effect: Effect.Effect<A, E, R>, limit: Duration.DurationInput = "3 seconds") =>
  Effect.timeoutFailCause(effect, {
    duration: limit,
    onTimeout: () => Cause.die(new Error("operation did not end in time"))
  })

/** A prefix no other test (or other user of a shared server) has. */
export const uniquePrefix = (name: string): string => `cachet-test:${name}:${randomBytes(4).toString("hex")}:`

/** A plain ioredis client for arranging data behind the cache's back, closed with the scope. */
export const admin = (url: string): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })
      redis.on("error", () => {})
      return redis
    }),
    (redis) => Effect.sync(() => redis.disconnect())
  )

/** `redis-cli -p <port> <args...>`: its standard output. */
export const redisCli = (port: number, ...args: ReadonlyArray<string>): Effect.Effect<string> =>
  Effect.async<string>((resume) => {
    execFile("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-raw", ...args], (error, stdout) => {
      resume(error === null ? Effect.succeed(stdout) : Effect.die(error))
    })
  })

/** A TCP server that accepts connections and never answers, closed with the scope. */
export const silentServer: Effect.Effect<{ readonly port: number }, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly server: net.Server; readonly sockets: Set<net.Socket> }>((resume) => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on("error", () => {})
      socket.on("close", () => sockets.delete(socket))
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ port, server, sockets }))
    })
  }),
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resume(Effect.void))
    })
)
