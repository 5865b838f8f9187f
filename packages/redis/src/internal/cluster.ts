/**
 * A Redis Cluster's `Client` and its connection. A multi-key command is split by hash slot, one command per slot,
 * all sent at once: GET answers are put back in the caller's order, MULTI/EXEC is atomic within each slot (never
 * across slots), UNLINK counts are summed. SCAN runs on every master, listed afresh for every scan so that a
 * failover is followed. Each slot's command goes through the circuit breaker of the master serving it. With batching,
 * concurrent `get`, `getWithTimeToLive` and `set` calls on keys of one slot are coalesced as on a standalone server,
 * one script call per slot and kind.
 */

/// <reference path="./cluster-key-slot.d.ts" />
import type { Entry } from "@cachet/core/Backend"
import { type CacheError, CacheTimeoutError, type Operation } from "@cachet/core/CacheError"
import type { CircuitBreaker } from "@cachet/core/CircuitBreaker"
import calculateSlot from "cluster-key-slot"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Cluster, type ClusterOptions } from "ioredis"
import * as Batch from "./batch.js"
import * as Batched from "./batched.js"
import { type Call, tracker } from "./clusterCalls.js"
import * as Coherence from "./coherence.js"
import {
  bufferOrNull,
  type Client,
  readEach,
  type Scanner,
  scannerOf,
  singleKey,
  stringOrNull,
  transaction,
  valuesOrFirstError
} from "./commands.js"
import {
  type Address,
  acquireDriver,
  addressText,
  type CommonSettings,
  type NodeOptions,
  nodeOptions,
  reconnectDelay
} from "./connection.js"
import { CircuitOpen, fromDriver } from "./errors.js"
import * as Scripts from "./scripts.js"

/**
 * Where the Cluster is and how to ride out its reconfigurations. Durations are whole milliseconds.
 */
export interface ClusterSettings extends CommonSettings {
  readonly nodes: ReadonlyArray<Address>
  readonly maxRedirections: number
  readonly retryDelayOnFailover: number
  readonly retryDelayOnTryAgain: number
  readonly retryDelayOnClusterDown: number
}

interface Group<A> {
  readonly slot: number
  /** Where each item stands in the caller's array. */
  readonly indices: Array<number>
  readonly items: Array<A>
}

/** The items grouped by the hash slot of their key, groups in order of first appearance. */
const bySlot = <A>(items: ReadonlyArray<A>, keyOf: (item: A) => string): ReadonlyArray<Group<A>> => {
  const groups = new Map<number, Group<A>>()
  items.forEach((item, index) => {
    const slot = calculateSlot(keyOf(item))
    const group = groups.get(slot)
    if (group === undefined) groups.set(slot, { slot, indices: [index], items: [item] })
    else {
      group.indices.push(index)
      group.items.push(item)
    }
  })
  return Array.from(groups.values())
}

const itself = (key: string): string => key
const keyOfEntry = (entry: Entry): string => entry.key

/**
 * Every promise settled, then the values, or the first failure in the order given. A call is answered only once
 * nothing of it is still in flight, so that each slot's outcome reaches its master's circuit breaker first.
 */
const settleAll = <A>(promises: ReadonlyArray<Promise<A>>): Promise<Array<A>> =>
  Promise.allSettled(promises).then((results) =>
    results.map((result) => {
      if (result.status === "rejected") throw result.reason
      return result.value
    })
  )

const sum = (counts: ReadonlyArray<number>): number => counts.reduce((total, n) => total + n, 0)

/**
 * How a Cluster client bounds and guards its calls.
 */
export interface Guards {
  /** Milliseconds for one call, redirections and retries included. */
  readonly commandTimeout: number
  /** The circuit breaker of a master, by `host:port`. */
  readonly circuits: (server: string) => CircuitBreaker
  /** Whether concurrent single-key commands on one slot are batched. */
  readonly batching: boolean
}

/**
 * The `Client` of an ioredis Cluster. Each call is bounded by the command timeout as a whole, and none of its
 * commands is written once it is answered. Each slot's command goes through the circuit breaker of the master
 * serving the slot: a multi-key call whose slots span masters fails with `CircuitOpen` if one of them is open,
 * after the slots of the other masters have run (a `setMany` writes those).
 */
export const fromCluster = (cluster: Cluster, guards: Guards): Client => {
  const calls = tracker(cluster)
  const { commandTimeout, circuits, batching } = guards

  const serverOfSlot = (slot: number): string => cluster.slots[slot]?.[0] ?? "unknown"

  /**
   * `send` through the circuit of `server`, which learns its outcome by the end of `call` at the latest (as an error
   * of `operation`, the backend's name for the command).
   */
  const through = <A>(call: Call, server: string, operation: Operation, send: () => Promise<A>): Promise<A> => {
    const circuit = circuits(server)
    if (!circuit.allow()) return Promise.reject(new CircuitOpen())
    let reported = false
    const report = (error: CacheError | undefined) => {
      if (reported) return
      reported = true
      if (error === undefined) circuit.onSuccess()
      else circuit.onFailure(error)
    }
    call.onTimeout.push(() => report(new CacheTimeoutError({ operation, code: "COMMAND_TIMEOUT" })))
    return send().then(
      (value) => {
        report(undefined)
        return value
      },
      (error: unknown) => {
        report(fromDriver(error, operation, undefined))
        throw error
      }
    )
  }

  const onKey =
    <Args extends ReadonlyArray<unknown>, A>(
      operation: Operation,
      command: (key: string, ...args: Args) => Promise<A>
    ) =>
    (key: string, ...args: Args): Promise<A> =>
      calls.bounded(commandTimeout, (call) =>
        through(call, serverOfSlot(calculateSlot(key)), operation, () => command(key, ...args))
      )

  const perSlot = <A, R>(
    operation: Operation,
    items: ReadonlyArray<A>,
    keyOf: (item: A) => string,
    command: (group: Group<A>) => Promise<R>
  ): Promise<Array<R>> =>
    calls.bounded(commandTimeout, (call) =>
      settleAll(
        bySlot(items, keyOf).map((group) => through(call, serverOfSlot(group.slot), operation, () => command(group)))
      )
    )

  const runScript = Scripts.evalShaFirst(cluster, calls.later)
  const commands = singleKey(cluster, runScript)

  // GET of every key, MGET and EXISTS per slot (the read-only script where they disagree: `readEach`): the values
  // in the caller's order, or the error of the first key (in that order) that failed, as on a standalone server.
  const getMany =
    <V>(replies: Scripts.Replies, value: (reply: unknown) => V | null) =>
    (keys: ReadonlyArray<string>): Promise<Array<V | null>> => {
      const answers = new Array<unknown>(keys.length).fill(null)
      return perSlot("getMany", keys, itself, (group) =>
        readEach(cluster, runScript, group.items, replies, calls.later()).then((reply) => {
          reply.forEach((answer, i) => {
            const index = group.indices[i]
            if (index !== undefined) answers[index] = answer
          })
        })
      ).then(() => valuesOrFirstError(answers, value))
    }

  const plain: Client = {
    get: onKey("get", commands.get),
    getWithTimeToLive: onKey("get", commands.getWithTimeToLive),
    set: onKey("set", commands.set),
    setKeepingTimeToLive: onKey("set", commands.setKeepingTimeToLive),
    getAndExpire: onKey("get", commands.getAndExpire),
    setIfAbsent: onKey("add", commands.setIfAbsent),
    deleteIfEquals: onKey("deleteIfEquals", commands.deleteIfEquals),
    exists: onKey("has", commands.exists),
    pttl: onKey("timeToLive", commands.pttl),
    pexpire: onKey("expire", commands.pexpire),
    persist: onKey("persist", commands.persist),
    incrementBy: onKey("increment", commands.incrementBy),
    // A tag's index and epoch share a hash slot (a `{...}` hash tag in their names): the index's slot is both keys'.
    tagAdd: onKey("tagAdd", commands.tagAdd),
    tagTake: onKey("tagTake", commands.tagTake),
    ping: () => calls.bounded(commandTimeout, () => cluster.ping()),
    getMany: getMany("text", stringOrNull),
    bytes: {
      get: onKey("get", commands.bytes.get),
      getWithTimeToLive: onKey("get", commands.bytes.getWithTimeToLive),
      getAndExpire: onKey("get", commands.bytes.getAndExpire),
      getMany: getMany("bytes", bufferOrNull)
    },
    setMany: (entries) =>
      perSlot("setMany", entries, keyOfEntry, (group) => transaction(cluster, group.items)).then(() => undefined),
    unlink: (keys) => perSlot("delete", keys, itself, (group) => cluster.unlink(group.items)).then(sum),
    scanners: () => {
      const masters = cluster.nodes("master")
      // No master known (not connected yet, or reconnecting): SCAN through the Cluster itself fails typed, where an
      // empty list would make `clear` answer 0 as if there were nothing to delete.
      if (masters.length === 0) {
        const scan = scannerOf(cluster)
        return [(cursor, pattern, count) => calls.bounded(commandTimeout, () => scan(cursor, pattern, count))]
      }
      return masters.map((node) => {
        const scan = scannerOf(node)
        const server = `${node.options.host}:${node.options.port}`
        return (cursor, pattern, count) =>
          calls.bounded(commandTimeout, (call) => through(call, server, "scan", () => scan(cursor, pattern, count)))
      })
    },
    // Every call above is bounded here, redirections and retries included (the node connections' own command
    // timers restart with each MULTI/EXEC a Cluster re-sends).
    commandTimeout,
    coherence: Coherence.make(Coherence.cluster(cluster), cluster.options.redisOptions?.connectTimeout ?? 10_000)
  }
  if (!batching) return plain

  // One batcher per slot, made on first use (a script call's keys must share a slot), all sharing their turns. A
  // command outside the batches sends every open one first, so that commands reach the servers in call order as
  // without batching.
  const batches = Batch.group(Batched.maxItems, Batched.maxSize)
  const sendSource = Scripts.sendingSource(cluster)
  const slots = new Map<number, Batched.Batched>()
  const batchedOf = (key: string): Batched.Batched => {
    const slot = calculateSlot(key)
    let found = slots.get(slot)
    if (found === undefined) {
      found = Batched.make(batches.batcher(), plain, (script, keys, args, replies) =>
        calls.bounded(commandTimeout, (call) =>
          through(call, serverOfSlot(slot), script.readOnly ? "get" : "set", () =>
            sendSource(script, keys, args, replies)
          )
        )
      )
      slots.set(slot, found)
    }
    return found
  }
  const afterBatches =
    <A extends ReadonlyArray<unknown>, R>(command: (...args: A) => R) =>
    (...args: A): R => {
      batches.flush()
      return command(...args)
    }

  return {
    get: (key) => batchedOf(key).get(key),
    getWithTimeToLive: (key) => batchedOf(key).getWithTimeToLive(key),
    set: (key, value, timeToLive) => batchedOf(key).set(key, value, timeToLive),
    bytes: {
      get: (key) => batchedOf(key).bytes.get(key),
      getWithTimeToLive: (key) => batchedOf(key).bytes.getWithTimeToLive(key),
      getAndExpire: afterBatches(plain.bytes.getAndExpire),
      getMany: afterBatches(plain.bytes.getMany)
    },
    setIfAbsent: afterBatches(plain.setIfAbsent),
    setKeepingTimeToLive: afterBatches(plain.setKeepingTimeToLive),
    getAndExpire: afterBatches(plain.getAndExpire),
    tagAdd: afterBatches(plain.tagAdd),
    tagTake: afterBatches(plain.tagTake),
    deleteIfEquals: afterBatches(plain.deleteIfEquals),
    exists: afterBatches(plain.exists),
    pttl: afterBatches(plain.pttl),
    pexpire: afterBatches(plain.pexpire),
    persist: afterBatches(plain.persist),
    incrementBy: afterBatches(plain.incrementBy),
    ping: afterBatches(plain.ping),
    getMany: afterBatches(plain.getMany),
    setMany: afterBatches(plain.setMany),
    unlink: afterBatches(plain.unlink),
    scanners: () => plain.scanners().map((scan): Scanner => afterBatches(scan)),
    commandTimeout,
    coherence: plain.coherence,
    endpoint: plain.endpoint
  }
}

type Options = Omit<ClusterOptions, "redisOptions"> & { readonly redisOptions: NodeOptions }

const clusterOptions = (settings: ClusterSettings): Options => {
  const options: Options = {
    lazyConnect: true,
    // Commands fail at once while the Cluster is not connected instead of queueing without bound. The startup check
    // goes through `connect()`, which needs no queue.
    enableOfflineQueue: false,
    // CLUSTER INFO before the first command: a Cluster whose state is `fail` does not count as started.
    enableReadyCheck: true,
    // Auto-pipelined commands leave in a pipeline of a later turn, shared by several calls, which ioredis re-sends
    // whole: the guard of `tracker` could not tell whose they are.
    enableAutoPipelining: false,
    maxRedirections: settings.maxRedirections,
    // ioredis resends a command whose connection closed, even after it was written: an INCRBY or SET NX could then
    // apply twice. Off unless asked for; TRYAGAIN and CLUSTERDOWN mean the command did not run, so those are retried.
    retryDelayOnFailover: settings.retryDelayOnFailover,
    retryDelayOnTryAgain: settings.retryDelayOnTryAgain,
    retryDelayOnClusterDown: settings.retryDelayOnClusterDown,
    // Like a standalone connection, the Cluster reconnects (from its startup nodes) for as long as it lives.
    clusterRetryStrategy: reconnectDelay,
    redisOptions: nodeOptions(settings)
  }
  if (settings.tls !== undefined && settings.tls !== false) {
    // Certificates name hosts: keep the startup nodes' names instead of resolving them to addresses.
    options.dnsLookup = (address, callback) => callback(null, address)
  }
  return options
}

/**
 * A Cluster connection, checked by connecting (CLUSTER SLOTS, CLUSTER INFO) and PING on every master (unless its
 * startup is lazy).
 */
export const acquire = (
  settings: ClusterSettings,
  circuits: Guards["circuits"]
): Effect.Effect<Client, CacheError, Scope.Scope> =>
  acquireDriver(
    {
      create: () =>
        new Cluster(
          settings.nodes.map(({ host, port }) => ({ host, port })),
          clusterOptions(settings)
        ),
      where: {
        server: `Cluster nodes ${settings.nodes.map(addressText).join(", ")}`,
        tls: settings.tls !== undefined && settings.tls !== false
      },
      errorEvents: ["error", "node error"],
      start: (cluster) => cluster.connect().then(() => Promise.all(cluster.nodes("master").map((node) => node.ping()))),
      client: (cluster) =>
        fromCluster(cluster, { commandTimeout: settings.commandTimeout, circuits, batching: settings.batching })
    },
    settings
  )
