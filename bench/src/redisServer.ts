/**
 * A redis-server of the bench's own on a free loopback port, without persistence. Never 6379, never another
 * process's server: the bench may then write as much as it likes under its own prefixes.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as net from "node:net"

export interface RedisServer {
  readonly port: number
  readonly url: string
  readonly stop: () => Promise<void>
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port === 0 || port === 6379 ? reject(new Error("no usable port")) : resolve(port)))
    })
  })

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
      if (data.includes("\r\n")) done(data.startsWith("+PONG"))
    })
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/** Start the server; it also dies if this process dies without cleaning up (a watchdog shell polls our pid). */
export const startRedis = async (): Promise<RedisServer> => {
  const port = await freePort()
  const watchdog = [
    'redis-server "$@" & server=$!',
    "trap 'kill -9 $server 2>/dev/null; wait $server; exit 0' TERM INT",
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 1 & wait $!; done`,
    "kill -9 $server 2>/dev/null; wait $server"
  ].join("\n")
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
  const child = spawn("sh", ["-c", watchdog, "sh", ...args, "--protected-mode", "no", "--loglevel", "warning"], {
    stdio: "ignore"
  })
  const onExit = () => child.kill("SIGTERM")
  process.once("exit", onExit)
  let exited = false
  child.once("exit", () => {
    exited = true
  })
  for (let i = 0; i < 250; i++) {
    if (exited) throw new Error(`redis-server on port ${port} exited at startup`)
    if (await answers(port)) {
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        stop: async () => {
          process.removeListener("exit", onExit)
          await stopChild(child)
        }
      }
    }
    await sleep(20)
  }
  await stopChild(child)
  throw new Error(`redis-server on port ${port} did not answer within 5 seconds`)
}
