/**
 * The Cluster side of the only two modules that touch ioredis (the other is `client.ts`). A multi-key command is
 * split by hash slot, one command per slot, all sent at once: MGET answers are put back in the caller's order,
 * MULTI/EXEC is atomic within each slot (never across slots), UNLINK counts are summed. SCAN runs on every master,
 * listed afresh for every scan so that a failover is followed.
 */

/// <reference path="./cluster-key-slot.d.ts" />
import type { Entry } from "@cachet/core/Backend"
import type { CacheError } from "@cachet/core/CacheError"
import calculateSlot from "cluster-key-slot"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Cluster, type ClusterOptions, type Redis } from "ioredis"
import {
  type Address,
  acquireDriver,
  type Client,
  type CommonSettings,
  evalShaFirst,
  fromRedis,
  type NodeOptions,
  nodeOptions,
  reconnectDelay,
  scannerOf,
  singleKey,
  transaction
} from "./client.js"
import { UnexpectedReply } from "./errors.js"

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
    if (group === undefined) groups.set(slot, { indices: [index], items: [item] })
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
 * Every promise settled, then the values, or the first failure in the order given. Writes wait for all their slots
 * so that a failure is reported only once nothing of the call is still in flight.
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
 * The `Client` of an ioredis Cluster.
 */
export const fromCluster = (cluster: Cluster): Client => ({
  ...singleKey(cluster, evalShaFirst(cluster)),
  mget: (keys) => {
    const groups = bySlot(keys, itself)
    const values = new Array<string | null>(keys.length).fill(null)
    return Promise.all(
      groups.map((group) =>
        cluster.mget(group.items).then((reply) => {
          if (reply.length !== group.items.length) {
            throw new UnexpectedReply("MGET answered with a different number of values than keys asked")
          }
          reply.forEach((value, i) => {
            const index = group.indices[i]
            if (index !== undefined) values[index] = value
          })
        })
      )
    ).then(() => values)
  },
  setMany: (entries) =>
    settleAll(bySlot(entries, keyOfEntry).map((group) => transaction(cluster, group.items))).then(() => undefined),
  unlink: (keys) => settleAll(bySlot(keys, itself).map((group) => cluster.unlink(group.items))).then(sum),
  scanners: () => {
    const masters = cluster.nodes("master")
    // No master known (not connected yet, or reconnecting): SCAN through the Cluster itself fails typed, where an
    // empty list would make `clear` answer 0 as if there were nothing to delete.
    return masters.length === 0 ? [scannerOf(cluster)] : masters.map(scannerOf)
  },
  // A command can wait between redirections and retries (TRYAGAIN, CLUSTERDOWN) without a command timer of its own
  // running: the backend bounds each call as a whole instead.
  commandTimeout: undefined
})

type Options = Omit<ClusterOptions, "redisOptions"> & { readonly redisOptions: NodeOptions }

const clusterOptions = (settings: ClusterSettings): Options => {
  const options: Options = {
    lazyConnect: true,
    // Commands fail at once while the Cluster is not connected instead of queueing without bound. The startup check
    // goes through `connect()`, which needs no queue.
    enableOfflineQueue: false,
    // CLUSTER INFO before the first command: a Cluster whose state is `fail` does not count as started.
    enableReadyCheck: true,
    enableAutoPipelining: settings.autoPipelining,
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
 * A Cluster connection, checked by connecting (CLUSTER SLOTS, CLUSTER INFO) and PING on every master.
 */
export const acquire = (settings: ClusterSettings): Effect.Effect<Client, CacheError, Scope.Scope> =>
  acquireDriver(
    {
      create: () =>
        new Cluster(
          settings.nodes.map(({ host, port }) => ({ host, port })),
          clusterOptions(settings)
        ),
      errorEvents: ["error", "node error"],
      start: (cluster) => cluster.connect().then(() => Promise.all(cluster.nodes("master").map((node) => node.ping()))),
      client: fromCluster
    },
    settings
  )

/**
 * The `Client` of an ioredis client a user owns, standalone or Cluster (which never batches: see `fromRedis`).
 */
export const fromUserClient = (driver: Redis | Cluster, batching: boolean): Client =>
  driver instanceof Cluster ? fromCluster(driver) : fromRedis(driver, batching)
