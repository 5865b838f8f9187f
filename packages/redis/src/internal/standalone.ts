/**
 * A connection to one server, named directly or by the sentinels of its group (`sentinel.ts`): its driver options,
 * its `Client` (with the batching of concurrent single-key commands, `batch.ts`), and its startup, which refuses a
 * Cluster node.
 */

import { type CacheError, CacheInvalidInputError } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Redis, type RedisOptions } from "ioredis"
import * as Batch from "./batch.js"
import * as Batched from "./batched.js"
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
  acquireDriver,
  addressText,
  type CommonSettings,
  nodeOptions,
  reconnectDelay,
  tlsOptions,
  type Where
} from "./connection.js"
import * as Scripts from "./scripts.js"
import * as Sentinel from "./sentinel.js"

/**
 * How to reach a standalone server, directly or through Sentinel.
 */
export interface ConnectionSettings extends CommonSettings {
  readonly host: string | undefined
  readonly port: number | undefined
  readonly db: number | undefined
  readonly sentinel: Sentinel.SentinelSettings | undefined
}

// A READONLY reply means the connection reaches a replica: a Sentinel failover demoted this server, or a DNS name
// (a managed service's primary endpoint) now points elsewhere. Reconnecting asks the sentinels (or DNS) again; the
// failed command itself is not resent.
const isReadOnly = (error: Error): boolean => error.message.startsWith("READONLY")

/**
 * The server that spans name: none behind Sentinel (the master moves with each failover) or on a Unix socket.
 */
const endpointOf = (redis: Redis): Client["endpoint"] => {
  // ioredis fills its defaults with `null`, whatever its types say.
  const { host, port, path, sentinels } = redis.options
  if ((sentinels ?? []).length > 0 || typeof path === "string") return undefined
  return typeof host === "string" && typeof port === "number" ? { address: host, port } : undefined
}

/**
 * The `Client` of a standalone ioredis connection. With `batching`, concurrent `get`, `getWithTimeToLive` and `set`
 * calls of one turn (and the byte forms of the two reads) are coalesced into one script call per kind (`batch.ts`),
 * and every other command first sends the open batch, so that commands still reach the server in call order.
 */
export const fromRedis = (redis: Redis, batching: boolean, server?: string | undefined): Client => {
  const sentinel = (redis.options.sentinels?.length ?? 0) > 0
  const coherence = Coherence.make(
    Coherence.standalone(redis, sentinel, sentinel ? Sentinel.promptSentinelClients : (subscriber) => subscriber),
    redis.options.connectTimeout ?? 10_000
  )
  const endpoint = endpointOf(redis)
  const runScript = Scripts.loadingOnce(redis)
  const commands = singleKey(redis, runScript)
  const scanners: ReadonlyArray<Scanner> = [scannerOf(redis)]
  const plain: Client = {
    ...commands,
    getMany: (keys) =>
      readEach(redis, runScript, keys, "text", Scripts.atOnce).then((answers) =>
        valuesOrFirstError(answers, stringOrNull)
      ),
    bytes: {
      ...commands.bytes,
      getMany: (keys) =>
        readEach(redis, runScript, keys, "bytes", Scripts.atOnce).then((answers) =>
          valuesOrFirstError(answers, bufferOrNull)
        )
    },
    setMany: (entries) => transaction(redis, entries),
    // ioredis copies its arguments into a new array, so handing it the caller's readonly array is safe.
    unlink: (keys) => redis.unlink(keys as Array<string>),
    scanners: () => scanners,
    commandTimeout: redis.options.commandTimeout,
    server,
    coherence,
    endpoint
  }
  if (!batching) return plain

  const batcher = Batch.make(Batched.maxItems, Batched.maxSize)
  const afterBatch =
    <A extends ReadonlyArray<unknown>, R>(command: (...args: A) => R) =>
    (...args: A): R => {
      batcher.flush()
      return command(...args)
    }
  const scannersAfterBatch: ReadonlyArray<Scanner> = scanners.map(afterBatch)

  // A write on a replica fails inside the script, where ioredis's `reconnectOnError` (which follows a Sentinel
  // failover on READONLY) never sees it: ask it here, as ioredis would for a plain command.
  const reconnectIfReadOnly = (reply: unknown): unknown => {
    const decide = redis.options.reconnectOnError
    if (Array.isArray(reply) && typeof decide === "function") {
      const readOnly = reply.find((answer) => answer instanceof Error && isReadOnly(answer))
      if (readOnly instanceof Error && decide(readOnly) && redis.status !== "reconnecting") redis.disconnect(true)
    }
    return reply
  }

  const batched = Batched.make(batcher, commands, (script, keys, args, replies) =>
    runScript(script, keys, args, replies).then(reconnectIfReadOnly)
  )

  return {
    ...batched,
    setKeepingTimeToLive: afterBatch(plain.setKeepingTimeToLive),
    getAndExpire: afterBatch(plain.getAndExpire),
    getMany: afterBatch(plain.getMany),
    bytes: {
      ...batched.bytes,
      getAndExpire: afterBatch(plain.bytes.getAndExpire),
      getMany: afterBatch(plain.bytes.getMany)
    },
    setIfAbsent: afterBatch(plain.setIfAbsent),
    setMany: afterBatch(plain.setMany),
    deleteIfEquals: afterBatch(plain.deleteIfEquals),
    unlink: afterBatch(plain.unlink),
    exists: afterBatch(plain.exists),
    pttl: afterBatch(plain.pttl),
    pexpire: afterBatch(plain.pexpire),
    persist: afterBatch(plain.persist),
    incrementBy: afterBatch(plain.incrementBy),
    tagAdd: afterBatch(plain.tagAdd),
    tagTake: afterBatch(plain.tagTake),
    scanners: () => scannersAfterBatch,
    ping: afterBatch(plain.ping),
    commandTimeout: plain.commandTimeout,
    server,
    coherence,
    endpoint
  }
}

const redisOptions = (settings: ConnectionSettings): Omit<RedisOptions, "replyMapping"> => {
  const node = nodeOptions(settings)
  const options: Omit<RedisOptions, "replyMapping"> = {
    ...node,
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing without bound; the circuit breaker and the caller's
    // retry decide what happens next.
    enableOfflineQueue: false,
    // ioredis 6.1 answers a server's maintenance notice (MOVING) by moving the connection to a new socket with no
    // event at all: what the server keeps per connection (the local tier's CLIENT TRACKING) would be gone unseen.
    // A maintenance is a reconnection here, as the tests prove one on real servers. (A Cluster's nodes never move.)
    maintNotifications: "disabled",
    enableAutoPipelining: settings.autoPipelining,
    retryStrategy: reconnectDelay,
    reconnectOnError: isReadOnly
  }
  if (settings.host !== undefined) options.host = settings.host
  if (settings.port !== undefined) options.port = settings.port
  if (settings.db !== undefined) options.db = settings.db
  return settings.sentinel === undefined
    ? options
    : { ...options, ...Sentinel.sentinelOptions(settings.sentinel, settings.commandTimeout, node.tls !== undefined) }
}

/**
 * A Cluster node answers PING like any server, then MOVED for most keys: refuse it at startup with the way out.
 * CLUSTER INFO is refused by a server without cluster support (and by an ACL user without the command), which is
 * no reason to fail.
 */
const notAClusterNode = (redis: Redis): Effect.Effect<void, CacheError> =>
  Effect.flatMap(
    Effect.promise(() =>
      redis.cluster("INFO").then(
        (reply: unknown) => typeof reply === "string" && reply.includes("cluster_state:"),
        () => false
      )
    ),
    (clusterNode) =>
      clusterNode
        ? Effect.fail(
            new CacheInvalidInputError({
              operation: "connect",
              code: "INVALID_ARGUMENT",
              reason:
                "this server is a Cluster node: use `cluster: { nodes }` (or REDIS_CLUSTER_NODES) instead of a url or host"
            })
          )
        : Effect.void
  )

const whereOf = (settings: ConnectionSettings): Where =>
  settings.sentinel === undefined
    ? {
        server: addressText({ host: settings.host ?? "localhost", port: settings.port ?? 6379 }),
        tls: tlsOptions(settings.tls) !== undefined
      }
    : Sentinel.whereOf(settings.sentinel, tlsOptions(settings.tls) !== undefined)

/**
 * A standalone connection, direct or through Sentinel, checked with PING (unless its startup is lazy).
 */
export const acquire = (settings: ConnectionSettings): Effect.Effect<Client, CacheError, Scope.Scope> => {
  const where = whereOf(settings)
  const server = settings.sentinel === undefined ? where.server : undefined
  return acquireDriver(
    {
      create: () => {
        const redis = new Redis(redisOptions(settings))
        return settings.sentinel === undefined ? redis : Sentinel.promptSentinelClients(redis)
      },
      where,
      errorEvents: settings.sentinel === undefined ? ["error"] : Sentinel.errorEvents,
      start: (redis) => redis.connect().then(() => redis.ping()),
      client: (redis) => fromRedis(redis, settings.batching, server),
      verify: notAClusterNode
    },
    settings
  )
}
