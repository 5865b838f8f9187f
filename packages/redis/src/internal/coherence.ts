/**
 * How a local tier in front of Redis learns of every change under its prefix.
 *
 * - Tracking: Redis's server-assisted client-side caching in broadcasting mode. A subscriber connection (RESP2:
 *   ioredis drops RESP3 invalidation pushes) listens on `__redis__:invalidate`; the data connection runs `CLIENT
 *   TRACKING ON REDIRECT <subscriber> BCAST PREFIX <prefix> NOLOOP`, so the server reports every write of a key under
 *   the prefix, by any client, except this connection's own. A `null` payload is a FLUSHDB/FLUSHALL.
 * - Bus: for servers that refuse tracking. Cachet's writers publish `{ instance, keys }` (or `{ instance, all }`) on
 *   `<prefix>cachet:invalidate`; a process ignores its own messages.
 *
 * One pair (data connection, subscriber) per server: one for a standalone server or a Sentinel group's master, one
 * per master of a Cluster. The tier is coherent only while every pair is: subscribed, its data connection tracked
 * (tracking is per connection, so it is enabled again on every reconnection), both on the same server, and the
 * subscriber answering PING. Any of these lost, the tier is told before anything else happens (`Lost`), and starts
 * again empty once they all hold again (`Restored`).
 */

import { randomUUID } from "node:crypto"
import type { Coherence, CoherenceRequest, FlushReason } from "@cachet/core/Backend"
import { type CacheError, CacheInvalidInputError, CacheUnavailableError } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis, RedisOptions } from "ioredis"
import { reconnectDelay } from "./connection.js"

const trackingChannel = "__redis__:invalidate"

/** How often the subscriber is asked PING, and how long it may take to answer. */
const heartbeat = 1000

/** A server refused tracking: `CLIENT TRACKING`, `CLIENT ID` or the invalidation channel (an old server, a renamed
 * command, an ACL user without them). */
class TrackingRefused extends Error {}

const refused = (error: unknown): never => {
  throw new TrackingRefused(error instanceof Error ? error.message : String(error))
}

type Mode = "tracking" | "bus"

interface Pair {
  /** Whether the pair is coherent now. */
  readonly ok: () => boolean
  /** Settles once the pair is coherent for the first time, or fails with why it cannot be. */
  readonly started: Promise<void>
  readonly stop: () => void
}

interface Hub {
  readonly mode: Mode
  readonly prefix: string
  readonly channel: string
  readonly instance: string
  readonly receive: CoherenceRequest["receive"]
  /** A pair changed: the tier learns of the change of the whole. */
  readonly changed: (reason: FlushReason) => void
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" ? value : Buffer.isBuffer(value) ? value.toString("utf8") : undefined

/** The keys of a bus message from another instance, `"all"`, or `undefined` (own, or not a Cachet message). */
const busMessage = (hub: Hub, payload: string): ReadonlyArray<string> | "all" | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof parsed !== "object" || parsed === null) return undefined
  const instance: unknown = Reflect.get(parsed, "instance")
  if (typeof instance !== "string" || instance === hub.instance) return undefined
  if (Reflect.get(parsed, "all") === true) return "all"
  const keys: unknown = Reflect.get(parsed, "keys")
  if (!Array.isArray(keys)) return undefined
  const strings: Array<string> = []
  for (const key of keys) if (typeof key === "string") strings.push(key)
  return strings
}

const onMessage = (hub: Hub) => (channel: unknown, message: unknown) => {
  const name = text(channel)
  if (hub.mode === "tracking" && name === trackingChannel) {
    if (message === null) return hub.receive({ _tag: "Flush", reason: "flushed" })
    const keys = (Array.isArray(message) ? message : [message]).map(text).filter((key) => key !== undefined)
    return hub.receive({ _tag: "Keys", keys })
  }
  if (hub.mode === "bus" && name === hub.channel) {
    const payload = text(message)
    const found = payload === undefined ? undefined : busMessage(hub, payload)
    if (found === "all") hub.receive({ _tag: "Flush", reason: "flushed" })
    else if (found !== undefined && found.length > 0) hub.receive({ _tag: "Keys", keys: found })
  }
}

/** The server's run id, or `undefined` where INFO is refused (an ACL user without it). */
const serverOf = (redis: Redis): Promise<string | undefined> =>
  redis.info("server").then(
    (info: unknown) => (typeof info === "string" ? /run_id:([0-9a-f]+)/.exec(info)?.[1] : undefined),
    () => undefined
  )

/** A pair on the server `data` talks to. */
const pair = (hub: Hub, data: Redis, topology: Topology): Pair => {
  const { reconnected } = topology
  const subscriber = topology.subscriber(data)
  let subscribed = false
  let tracked = hub.mode === "bus"
  let answering = true
  let stopped = false
  let subscriberServer: string | undefined
  let clientId: string | undefined
  const ok = () => subscribed && tracked && answering && !stopped

  let startedResolve: () => void = () => {}
  let startedReject: (error: unknown) => void = () => {}
  const started = new Promise<void>((resolve, reject) => {
    startedResolve = resolve
    startedReject = reject
  })
  // A failure after the start is a reason to be incoherent, not an error anybody awaits.
  started.catch(() => {})

  let begun = false
  const update = (reason: FlushReason) => {
    if (ok()) {
      begun = true
      startedResolve()
    }
    hub.changed(reason)
  }

  const track = async (): Promise<void> => {
    if (hub.mode === "bus" || clientId === undefined || stopped) return
    // Both connections must reach one server: REDIRECT names a client of the server it runs on. Where the server can
    // move (Sentinel), their run ids say so, when INFO is allowed.
    if (subscriberServer !== undefined && (await serverOf(data)) !== subscriberServer) {
      setTimeout(retrack, 100).unref()
      return
    }
    const prefix = hub.prefix === "" ? [] : ["PREFIX", hub.prefix]
    // Turning tracking on again with the same prefix is refused: off first (the tier is incoherent meanwhile).
    await data.call("CLIENT", "TRACKING", "OFF").catch(refused)
    await data.call("CLIENT", "TRACKING", "ON", "REDIRECT", clientId, "BCAST", ...prefix, "NOLOOP").catch(refused)
    tracked = true
    update(reconnected)
  }

  const subscribe = async (): Promise<void> => {
    subscriberServer = topology.moves ? await serverOf(subscriber) : undefined
    if (hub.mode === "tracking") {
      // Without its id there is nothing to redirect to: a refused (or renamed) CLIENT is a refused tracking.
      clientId = await subscriber.client("ID").then(String, refused)
    }
    if (hub.mode === "tracking") {
      await subscriber.subscribe(trackingChannel).catch(refused)
    } else {
      await subscriber.subscribe(hub.channel)
    }
    subscribed = true
    if (hub.mode === "tracking") await track()
    else update("disconnected")
  }

  subscriber.on("messageBuffer", onMessage(hub))
  // At the start a failure is the layer's; after it, a failed resubscription is tried again until the pair stops.
  const resubscribe = (): void => {
    subscribe().catch((error: unknown) => {
      if (!begun) return startedReject(error)
      if (!stopped && subscriber.status === "ready") setTimeout(resubscribe, 200).unref()
    })
  }
  subscriber.on("ready", resubscribe)
  subscriber.on("close", () => {
    subscribed = false
    update("disconnected")
  })
  // Errors also surface as failed commands and closes; without a listener ioredis would print them.
  subscriber.on("error", () => {})

  const onDataClose = () => {
    if (hub.mode === "bus") return
    tracked = false
    update(reconnected)
  }
  // After the start, a failed attempt (the server still coming up) is tried again until the pair stops.
  const retrack = (): void => {
    track().catch(() => {
      if (!stopped && data.status === "ready") setTimeout(retrack, 200).unref()
    })
  }
  const onDataReady = () => {
    if (hub.mode === "bus" || !subscribed) return
    retrack()
  }
  data.on("close", onDataClose)
  data.on("ready", onDataReady)

  const timer = setInterval(() => {
    if (subscriber.status !== "ready") return
    let answered = false
    const late = setTimeout(() => {
      if (answered) return
      answering = false
      update("unresponsive")
    }, heartbeat)
    late.unref()
    subscriber.ping().then(
      () => {
        answered = true
        clearTimeout(late)
        if (!answering) {
          answering = true
          update("unresponsive")
        }
      },
      () => {}
    )
  }, heartbeat)
  timer.unref()

  subscriber.connect().catch(startedReject)

  return {
    ok,
    started,
    stop: () => {
      stopped = true
      clearInterval(timer)
      data.off("close", onDataClose)
      data.off("ready", onDataReady)
      subscriber.disconnect()
      if (hub.mode === "tracking" && data.status === "ready") data.call("CLIENT", "TRACKING", "OFF").catch(() => {})
    }
  }
}

/** The pairs of a topology, rebuilt when it changes. */
interface Topology {
  readonly servers: () => ReadonlyArray<Redis>
  /** Call `f` when the servers may have changed; returns how to stop listening. */
  readonly onChange: (f: () => void) => () => void
  readonly reconnected: FlushReason
  readonly publish: (channel: string, message: string) => Promise<unknown>
  /** A subscriber connection to the server `data` talks to, not connected yet. */
  readonly subscriber: (data: Redis) => Redis
  /** Whether the server behind a connection can change (Sentinel): then both of a pair's are checked to agree. */
  readonly moves: boolean
  /**
   * Whether ioredis may move a data connection to a new socket on a server's maintenance notice, silently: tracking,
   * which the server keeps per connection, would then end with nothing to tell.
   */
  readonly handsOff: boolean
}

/**
 * Whether a connection made with `options` takes part in ioredis's maintenance handoffs: RESP3 (the default) with
 * `maintNotifications` not disabled (ioredis fills its defaults in). A Cluster disables them on its nodes itself.
 */
const handsOff = (options: Pick<RedisOptions, "protocol" | "maintNotifications">): boolean =>
  options.protocol !== 2 && options.maintNotifications !== "disabled"

// RESP2 (ioredis drops RESP3 invalidation pushes); subscriptions are made again by the pair itself, after CLIENT ID.
const subscriberOptions = { protocol: 2, autoResubscribe: false, lazyConnect: true } as const

const hubOf = (request: CoherenceRequest, mode: Mode, topology: Topology) => {
  let pairs: Array<Pair> = []
  let coherent = false
  const hub: Hub = {
    mode,
    prefix: request.prefix,
    channel: `${request.prefix}cachet:invalidate`,
    instance: randomUUID(),
    receive: request.receive,
    changed: (reason) => {
      const now = pairs.length > 0 && pairs.every((one) => one.ok())
      if (now === coherent) return
      coherent = now
      request.receive(now ? { _tag: "Restored", reason } : { _tag: "Lost", reason })
    }
  }
  const build = () => {
    for (const one of pairs) one.stop()
    pairs = topology.servers().map((server) => pair(hub, server, topology))
  }
  const stopListening = topology.onChange(() => {
    if (coherent) {
      coherent = false
      request.receive({ _tag: "Lost", reason: "topology" })
    }
    build()
  })
  build()
  return {
    hub,
    started: () => Promise.all(pairs.map((one) => one.started)),
    stop: () => {
      stopListening()
      for (const one of pairs) one.stop()
    }
  }
}

/**
 * How own writes reach the bus: the keys of one turn go out together, in one message after the turn (a message per
 * write would cost a PUBLISH per write). A process that dies within the turn loses them, as it would a write's
 * reply; tracking has no such gap.
 */
const announce = (hub: Hub, topology: Topology) => {
  let pending: Set<string> | "all" | undefined
  const flush = () => {
    const keys = pending
    pending = undefined
    if (keys === undefined) return
    const message = JSON.stringify(
      keys === "all" ? { instance: hub.instance, all: true } : { instance: hub.instance, keys: Array.from(keys) }
    )
    topology.publish(hub.channel, message).catch(() => {})
  }
  return (keys: ReadonlyArray<string> | "all"): void => {
    if (hub.mode !== "bus") return
    if (pending === undefined) setImmediate(flush)
    if (keys === "all") pending = "all"
    else if (pending !== "all") {
      pending ??= new Set()
      for (const key of keys) pending.add(key)
    }
  }
}

const startIn = (
  request: CoherenceRequest,
  mode: Mode,
  topology: Topology,
  timeout: number
): Effect.Effect<Coherence, unknown, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const made = hubOf(request, mode, topology)
      return Effect.tryPromise({
        try: () => made.started(),
        catch: (error) => error
      }).pipe(
        Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`no coherence within ${timeout} ms`) }),
        Effect.tapError(() => Effect.sync(made.stop)),
        Effect.as(made)
      )
    }),
    (made) => Effect.sync(made.stop)
  ).pipe(Effect.map((made): Coherence => ({ mode, announce: announce(made.hub, topology) })))

/**
 * Tracking that cannot be had, for `why`: asked for explicitly, the layer fails saying so and how to get it (`fix`);
 * otherwise the bus, with one warning.
 */
const withoutTracking = (
  request: CoherenceRequest,
  bus: Effect.Effect<Coherence, CacheError, Scope.Scope>,
  why: string,
  fix: string
): Effect.Effect<Coherence, CacheError, Scope.Scope> =>
  request.mode === "tracking"
    ? Effect.fail(
        new CacheInvalidInputError({
          operation: "connect",
          code: "INVALID_ARGUMENT",
          reason: `local.invalidation "tracking": ${why}; ${fix}, or use local.invalidation "bus"`
        })
      )
    : Effect.zipRight(
        Effect.logWarning(
          `cachet: ${why}; the local tier is kept coherent by a pub/sub bus instead, which sees Cachet's own writers only (for tracking, ${fix})`
        ),
        bus
      )

const unavailable = (error: unknown): CacheError =>
  new CacheUnavailableError({
    operation: "connect",
    code: "UNAVAILABLE",
    detail: `the local tier's invalidation connection could not start: ${error instanceof Error ? error.message : String(error)}`
  })

/**
 * Coherence on `topology`: tracking unless the bus was asked for. A server that refuses tracking, or a client that
 * may move its connection, gets the bus (with a warning) unless tracking was asked for explicitly, which fails.
 */
export const make =
  (topology: Topology, timeout: number) =>
  (request: CoherenceRequest): Effect.Effect<Coherence, CacheError, Scope.Scope> => {
    const bus = Effect.mapError(startIn(request, "bus", topology, timeout), unavailable)
    if (request.mode === "bus") return bus
    if (topology.handsOff) {
      return withoutTracking(
        request,
        bus,
        "the client may move its connection on a maintenance notice (ioredis maintNotifications), which would end tracking unseen",
        'create the client with maintNotifications: "disabled" or protocol: 2'
      )
    }
    return Effect.catchAll(startIn(request, "tracking", topology, timeout), (error) =>
      error instanceof TrackingRefused
        ? withoutTracking(
            request,
            bus,
            `the server refused CLIENT TRACKING (${error.message})`,
            "allow it: the ACL needs client|tracking"
          )
        : Effect.fail(unavailable(error))
    )
  }

/** One server, directly or as the master of a Sentinel group (`prepare` adapts the subscriber to it). */
export const standalone = (redis: Redis, sentinel: boolean, prepare: (redis: Redis) => Redis): Topology => ({
  servers: () => [redis],
  onChange: () => () => {},
  reconnected: sentinel ? "failover" : "reconnected",
  moves: sentinel,
  handsOff: handsOff(redis.options),
  publish: (channel, message) => redis.publish(channel, message),
  subscriber: (data) => prepare(data.duplicate(subscriberOptions))
})

/** A Cluster: one pair per master, all rebuilt when the masters change. */
export const cluster = (redis: Cluster): Topology => {
  const masters = () => redis.nodes("master")
  const signature = () =>
    masters()
      .map((node) => `${node.options.host}:${node.options.port}`)
      .sort()
      .join(",")
  return {
    servers: masters,
    onChange: (f) => {
      let last = signature()
      const check = () => {
        const now = signature()
        if (now === last) return
        last = now
        f()
      }
      redis.on("+node", check)
      redis.on("-node", check)
      redis.on("refresh", check)
      return () => {
        redis.off("+node", check)
        redis.off("-node", check)
        redis.off("refresh", check)
      }
    },
    reconnected: "reconnected",
    moves: false,
    handsOff: false,
    publish: (channel, message) => redis.publish(channel, message),
    // A node's connection never reconnects (ioredis waits for a redirection instead), and its duplicate would not
    // either: a subscriber that lost its connection (a CLIENT KILL, a blip) reconnects by itself, until its pair stops.
    subscriber: (data) => data.duplicate({ ...subscriberOptions, retryStrategy: reconnectDelay })
  }
}
