/**
 * A Redis Cluster and a Sentinel group for tests: `redis-server`s of our own (started by the harness's `launch`) on
 * free loopback ports, their files in a temporary directory that goes with them. Never port 6379, never FLUSHALL.
 */

import type { ChildProcess } from "node:child_process"
import { execFile } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { freePort, launch, stop } from "./harness.js"

const host = "127.0.0.1"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One command on the server at `port`, over a connection of its own. */
export const call = async (port: number, command: string, ...args: ReadonlyArray<string>): Promise<unknown> => {
  const redis = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on("error", () => {})
  try {
    await redis.connect()
    return await redis.call(command, ...args)
  } finally {
    redis.disconnect()
  }
}

/** The text reply of `command` (INFO, CLUSTER INFO, CLUSTER NODES). */
export const text = async (port: number, command: string, ...args: ReadonlyArray<string>): Promise<string> => {
  const reply = await call(port, command, ...args)
  if (typeof reply !== "string") throw new Error(`${command} did not answer with text`)
  return reply
}

/** Poll `condition` every 50 ms until it holds, for at most `limit` milliseconds. */
export const until = async (what: string, condition: () => Promise<boolean>, limit = 15_000): Promise<void> => {
  const deadline = Date.now() + limit
  for (;;) {
    if (await condition().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limit} ms`)
    await sleep(50)
  }
}

/** `count` distinct free ports. */
export const freePorts = async (count: number): Promise<Array<number>> => {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

/** `redis-cli` with arguments, for `--cluster create`. */
const redisCli = (args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile("redis-cli", [...args], (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`redis-cli failed: ${stderr || stdout}`))
    )
  )

/** Servers and their directory, stopped and removed together. */
const group = async <A>(
  prefix: string,
  build: (dir: string, children: Array<ChildProcess>) => Promise<A>
): Promise<A & { readonly stop: () => Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const children: Array<ChildProcess> = []
  const stopAll = async () => {
    await Promise.all(children.map(stop))
    await rm(dir, { recursive: true, force: true })
  }
  try {
    return { ...(await build(dir, children)), stop: stopAll }
  } catch (error) {
    await stopAll()
    throw error
  }
}

export interface ClusterNode {
  readonly id: string
  readonly port: number
  readonly role: "master" | "replica"
  /** The id of its master, for a replica. */
  readonly masterId: string | undefined
  /** Slot ranges a master serves, inclusive. */
  readonly slots: ReadonlyArray<readonly [number, number]>
}

/** The nodes as `port` sees them (CLUSTER NODES), failed ones left out. */
export const clusterNodes = async (port: number): Promise<ReadonlyArray<ClusterNode>> => {
  const nodes: Array<ClusterNode> = []
  for (const line of (await text(port, "CLUSTER", "NODES")).split("\n")) {
    const [id, address, flags, master, , , , , ...slots] = line.trim().split(" ")
    if (id === undefined || address === undefined || flags === undefined || master === undefined) continue
    const nodePort = Number(address.split("@")[0]?.split(":")[1])
    const flagList = flags.split(",")
    if (flagList.includes("fail") || flagList.includes("fail?") || flagList.includes("noaddr")) continue
    nodes.push({
      id,
      port: nodePort,
      role: flagList.includes("master") ? "master" : "replica",
      masterId: master === "-" ? undefined : master,
      slots: slots
        .filter((range) => !range.startsWith("["))
        .map((range): readonly [number, number] => {
          const [from, to] = range.split("-").map(Number)
          return [from ?? 0, to ?? from ?? 0]
        })
    })
  }
  return nodes
}

export interface LocalCluster {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /** Every node's port, masters first. */
  readonly ports: ReadonlyArray<number>
  /** Kill one node at once (SIGKILL), as a crash would. */
  readonly kill: (port: number) => Promise<void>
}

/** The process id of the server on `port`, as it reports it. */
const pidOf = async (port: number): Promise<number> => {
  const match = /process_id:(\d+)/.exec(await text(port, "INFO", "server"))
  if (match === null) throw new Error(`no process id for port ${port}`)
  return Number(match[1])
}

/**
 * Freeze the server on `port` (SIGSTOP: its sockets stay open, nothing answers, as a stalled host) until the
 * returned function resumes it (SIGCONT).
 */
export const pause = async (port: number): Promise<() => void> => {
  const pid = await pidOf(port)
  process.kill(pid, "SIGSTOP")
  return () => {
    try {
      process.kill(pid, "SIGCONT")
    } catch {
      // Already gone (killed meanwhile): nothing to resume.
    }
  }
}

/** `pause` for the scope: the server is resumed when it closes, whatever happened. */
export const paused = (port: number): Effect.Effect<() => void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => pause(port)),
    (resume) => Effect.sync(resume)
  )

// A replica's first sync is diskless, after a 5-second wait for other replicas to join it: none will.
const noSyncDelay = ["--repl-diskless-sync-delay", "0"]

const clusterState = async (port: number): Promise<boolean> =>
  (await text(port, "CLUSTER", "INFO")).includes("cluster_state:ok")

const replicationUp = async (port: number): Promise<boolean> =>
  (await text(port, "INFO", "replication")).includes("master_link_status:up")

/**
 * Three masters (and a replica for each with `replicas: true`), slots spread by `redis-cli --cluster create`,
 * ready once every node says `cluster_state:ok` (and every replica is in sync).
 */
export const startCluster = (options: {
  readonly replicas: boolean
  /** More `redis-server` arguments for every node. */
  readonly args?: ReadonlyArray<string>
  /** The nodes' ports (3, or 6 with replicas), when a client must know them before the Cluster starts. */
  readonly ports?: ReadonlyArray<number>
}): Promise<LocalCluster & { readonly stop: () => Promise<void> }> =>
  group("cachet-cluster-", async (dir, children) => {
    const count = options.replicas ? 6 : 3
    if (options.ports !== undefined && options.ports.length !== count) throw new Error(`${count} ports expected`)
    const ports = options.ports === undefined ? await freePorts(count) : [...options.ports]
    const busPorts = (await freePorts(count * 2)).filter((port) => !ports.includes(port)).slice(0, count)
    const byPort = new Map<number, ChildProcess>()
    await Promise.all(
      ports.map(async (port, i) => {
        const child = await launch(port, [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-port",
          String(busPorts[i]),
          // Low, so that a killed master is replaced within seconds; high enough for a loaded machine.
          "--cluster-node-timeout",
          "2000",
          ...noSyncDelay,
          "--dir",
          dir,
          ...(options.args ?? [])
        ])
        children.push(child)
        byPort.set(port, child)
      })
    )
    await redisCli([
      "--cluster",
      "create",
      ...ports.map((port) => `${host}:${port}`),
      "--cluster-replicas",
      options.replicas ? "1" : "0",
      "--cluster-yes"
    ])
    // Roles travel by gossip: wait until every node sees every master with its slots and every replica as one.
    const replicas = options.replicas ? 3 : 0
    await until("every node sees the whole Cluster", async () => {
      const views = await Promise.all(ports.map(clusterNodes))
      const states = await Promise.all(ports.map(clusterState))
      return (
        states.every(Boolean) &&
        views.every(
          (view) =>
            view.filter((node) => node.role === "master" && node.slots.length > 0).length === 3 &&
            view.filter((node) => node.role === "replica").length === replicas
        )
      )
    })
    const nodes = await clusterNodes(ports[0] ?? 0)
    const replicaPorts = nodes.filter((node) => node.role === "replica").map((node) => node.port)
    await until("every replica in sync", async () =>
      (await Promise.all(replicaPorts.map(replicationUp))).every(Boolean)
    )
    const masterPorts = nodes.filter((node) => node.role === "master").map((node) => node.port)
    return {
      nodes: ports.map((port) => ({ host, port })),
      ports: [...masterPorts, ...replicaPorts],
      kill: async (port: number) => {
        const child = byPort.get(port)
        if (child !== undefined) await stop(child)
      }
    }
  })

/** A Cluster of our own for the scope. */
export const cluster = (options: { readonly replicas: boolean }): Effect.Effect<LocalCluster, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startCluster(options)),
    (c) => Effect.promise(() => c.stop())
  )

export interface LocalSentinel {
  /** The master group's name. */
  readonly name: string
  readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /** The port of the master the sentinel names now. */
  readonly master: () => Promise<number>
  /** The data nodes: the first master, then its replica. */
  readonly ports: readonly [number, number]
  /** Kill one data node at once (SIGKILL), as a crash would. */
  readonly kill: (port: number) => Promise<void>
}

const masterOf = async (sentinelPort: number, name: string): Promise<number> => {
  const reply = await call(sentinelPort, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
  if (!Array.isArray(reply) || typeof reply[1] !== "string") throw new Error("no master address")
  return Number(reply[1])
}

/**
 * A master, its replica and one sentinel watching them with short timeouts (a failover takes seconds), ready once
 * the sentinel knows the replica.
 */
export const startSentinel = (): Promise<LocalSentinel & { readonly stop: () => Promise<void> }> =>
  group("cachet-sentinel-", async (dir, children) => {
    const name = "cachet"
    const [masterPort = 0, replicaPort = 0, sentinelPort = 0] = await freePorts(3)
    // In the directory: a replica writes the RDB of its first sync there.
    const data = [...noSyncDelay, "--dir", dir]
    const master = await launch(masterPort, data)
    children.push(master)
    const replica = await launch(replicaPort, [...data, "--replicaof", host, String(masterPort)])
    children.push(replica)
    await until("replica in sync", () => replicationUp(replicaPort))
    const config = join(dir, "sentinel.conf")
    await writeFile(
      config,
      [
        `sentinel monitor ${name} ${host} ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        ""
      ].join("\n")
    )
    children.push(await launch(sentinelPort, ["--sentinel", "--dir", dir], config))
    await until("the sentinel knows the replica", async () => {
      const replicas = await call(sentinelPort, "SENTINEL", "REPLICAS", name)
      return Array.isArray(replicas) && JSON.stringify(replicas).includes(`"${replicaPort}"`)
    })
    return {
      name,
      sentinels: [{ host, port: sentinelPort }],
      master: () => masterOf(sentinelPort, name),
      ports: [masterPort, replicaPort] as const,
      kill: async (port: number) => {
        const child = port === masterPort ? master : port === replicaPort ? replica : undefined
        if (child !== undefined) await stop(child)
      }
    }
  })

/** A Sentinel group of our own for the scope. */
export const sentinel: Effect.Effect<LocalSentinel, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => startSentinel()),
  (s) => Effect.promise(() => s.stop())
)
