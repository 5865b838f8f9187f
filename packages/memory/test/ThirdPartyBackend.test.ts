/**
 * A backend written by a third party against the `Backend` contract alone: a plain `Map`, with Redis's glob and
 * integer rules borrowed from this package's pure helpers (what a real backend gets from its server). The whole
 * conformance suite runs on it twice: as an asynchronous backend (every answer arrives on a later tick, as from a
 * network client), and as a synchronous one handed to `Backend.fromSync`, which gets the core's one-step path
 * without knowing anything beyond that constructor.
 */
import { Backend, Cache, CacheError } from "@cachet/core"
import { CacheSuite } from "@cachet/testing"
import { assert, describe, it } from "@effect/vitest"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import * as Glob from "../src/internal/glob.js"
import * as Integer from "../src/internal/integer.js"

interface Stored {
  /** Bytes are a copy of the backend's own, and each read answers a copy, as from a server. */
  value: string | Uint8Array
  /** Epoch milliseconds; the entry lives through this very millisecond. */
  expireAt: number
}

const copy = (value: string | Uint8Array): string | Uint8Array =>
  typeof value === "string" ? value : new Uint8Array(value)

// Redis reads a value as bytes where it parses or compares it.
const text = (value: string | Uint8Array): string =>
  typeof value === "string" ? value : Buffer.from(value).toString("latin1")

/** Redis's semantics over a `Map`, every operation answering an `Exit`. */
const mapBackend = (clock: Clock.Clock): Backend.SyncBackend => {
  const map = new Map<string, Stored>()
  const now = () => clock.unsafeCurrentTimeMillis()
  const live = (key: string): Stored | undefined => {
    const entry = map.get(key)
    if (entry !== undefined && entry.expireAt < now()) map.delete(key)
    return map.get(key)
  }
  const expiry = (timeToLive: number | undefined) =>
    timeToLive === undefined ? Number.POSITIVE_INFINITY : now() + timeToLive
  const remaining = (entry: Stored) => (entry.expireAt === Number.POSITIVE_INFINITY ? -1 : entry.expireAt - now())
  const store = (key: string, value: string | Uint8Array, timeToLive: number | undefined) =>
    map.set(key, { value: copy(value), expireAt: expiry(timeToLive) })
  const read = (key: string) => {
    const entry = live(key)
    return entry === undefined ? undefined : copy(entry.value)
  }
  const remove = (keys: ReadonlyArray<string>) => {
    let count = 0
    for (const key of keys) if (live(key) !== undefined && map.delete(key)) count++
    return count
  }
  return {
    name: "map",
    get: (key) => Exit.succeed(read(key)),
    getWithTimeToLive: (key) => {
      const entry = live(key)
      return Exit.succeed(entry === undefined ? undefined : { value: copy(entry.value), timeToLive: remaining(entry) })
    },
    getMany: (keys) => Exit.succeed(keys.map(read)),
    set: (key, value, timeToLive) => Exit.succeed(void store(key, value, timeToLive)),
    setKeepingTimeToLive: (key, value) => {
      const entry = live(key)
      map.set(key, { value: copy(value), expireAt: entry === undefined ? Number.POSITIVE_INFINITY : entry.expireAt })
      return Exit.void
    },
    getAndExpire: (key, timeToLive) => {
      const entry = live(key)
      if (entry === undefined) return Exit.succeed(undefined)
      if (timeToLive === 0) map.delete(key)
      else entry.expireAt = expiry(timeToLive)
      return Exit.succeed(copy(entry.value))
    },
    setMany: (entries) => {
      for (const { key, value, timeToLive } of entries) store(key, value, timeToLive)
      return Exit.void
    },
    add: (key, value, timeToLive) => {
      if (live(key) !== undefined) return Exit.succeed(false)
      store(key, value, timeToLive)
      return Exit.succeed(true)
    },
    deleteIfEquals: (key, expected) => {
      const entry = live(key)
      return Exit.succeed(
        entry !== undefined && Buffer.from(entry.value).equals(Buffer.from(expected)) && map.delete(key)
      )
    },
    delete: (keys) => Exit.succeed(remove(keys)),
    has: (key) => Exit.succeed(live(key) !== undefined),
    timeToLive: (key) => {
      const entry = live(key)
      return Exit.succeed(entry === undefined ? -2 : remaining(entry))
    },
    expire: (key, timeToLive) => {
      const entry = live(key)
      if (entry === undefined) return Exit.succeed(false)
      entry.expireAt = expiry(timeToLive)
      return Exit.succeed(true)
    },
    persist: (key) => {
      const entry = live(key)
      if (entry === undefined || entry.expireAt === Number.POSITIVE_INFINITY) return Exit.succeed(false)
      entry.expireAt = Number.POSITIVE_INFINITY
      return Exit.succeed(true)
    },
    increment: (key, by) => {
      const entry = live(key)
      const result = Integer.add(entry === undefined ? undefined : text(entry.value), by)
      if (typeof result !== "bigint") {
        return Exit.fail(new CacheError.CacheCommandError({ operation: "increment", key, code: result }))
      }
      if (entry === undefined) map.set(key, { value: String(result), expireAt: Number.POSITIVE_INFINITY })
      else entry.value = String(result)
      return Exit.succeed(result)
    },
    // One batch of what matches when the scan starts: every key present throughout is emitted, as SCAN promises.
    scan: (pattern) => ({
      *[Symbol.iterator]() {
        const glob = Glob.compile(pattern)
        yield [...map.keys()].filter((key) => live(key) !== undefined && Glob.matches(glob, key))
      }
    }),
    ping: () => Exit.void
  }
}

/** The same backend as a network client would be: every answer on a later tick, nothing synchronous. */
const asynchronous = (sync: Backend.SyncBackend): Backend.Backend => {
  const later =
    <Args extends ReadonlyArray<unknown>, A>(f: (...args: Args) => Exit.Exit<A, CacheError.CacheError>) =>
    (...args: Args): Effect.Effect<A, CacheError.CacheError> =>
      Effect.async<A, CacheError.CacheError>((resume) => {
        setImmediate(() => resume(f(...args)))
      })
  return {
    name: sync.name,
    get: later(sync.get),
    getWithTimeToLive: later(sync.getWithTimeToLive),
    getMany: later(sync.getMany),
    set: later(sync.set),
    setKeepingTimeToLive: later(sync.setKeepingTimeToLive),
    getAndExpire: later(sync.getAndExpire),
    setMany: later(sync.setMany),
    add: later(sync.add),
    deleteIfEquals: later(sync.deleteIfEquals),
    delete: later(sync.delete),
    has: later(sync.has),
    timeToLive: later(sync.timeToLive),
    expire: later(sync.expire),
    persist: later(sync.persist),
    increment: later(sync.increment),
    scan: (pattern) => Stream.fromIterableEffect(later(() => Exit.succeed([...sync.scan(pattern)]))()),
    ping: later(sync.ping)()
  }
}

const layerOf = (build: (sync: Backend.SyncBackend) => Backend.Backend) =>
  Layer.scoped(
    Cache.Cache,
    Effect.flatMap(Effect.clock, (clock) => Cache.make(build(mapBackend(clock))))
  )

CacheSuite.run("a third party's asynchronous Map backend", layerOf(asynchronous), {
  advance: (d) => TestClock.adjust(d)
})

CacheSuite.run("a third party's synchronous Map backend (Backend.fromSync)", layerOf(Backend.fromSync), {
  advance: (d) => TestClock.adjust(d)
})

/** Counts the Effect steps a fiber evaluates. */
class Steps extends Supervisor.AbstractSupervisor<number> {
  count = 0
  get value() {
    return Effect.sync(() => this.count)
  }
  override onEffect(): void {
    this.count++
  }
}

const stepsOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const steps = new Steps()
    yield* effect.pipe(
      Effect.supervised(steps),
      Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
    )
    return steps.count
  })

describe("Backend.fromSync", () => {
  it.scoped("a synchronous backend answers in fewer steps than the same operations run as Effects", () =>
    Effect.gen(function* () {
      const clock = yield* Effect.clock
      const sync = mapBackend(clock)
      const fast = yield* Cache.make(Backend.fromSync(sync))
      // The same backend, spread into a new object: an ordinary Backend whose Effects the core runs.
      const plain = yield* Cache.make({ ...Backend.fromSync(sync) })
      yield* fast.set("k", "v")
      for (const [name, op] of [
        ["get", (cache: Cache.Cache.Service) => cache.get("k")],
        ["set", (cache: Cache.Cache.Service) => cache.set("k", "v")],
        ["getMany", (cache: Cache.Cache.Service) => cache.getMany(["k", "other"])],
        ["has", (cache: Cache.Cache.Service) => cache.has("k")]
      ] as const) {
        const fastSteps = yield* stepsOf(op(fast))
        const plainSteps = yield* stepsOf(op(plain))
        assert.isBelow(fastSteps, plainSteps, `${name}: ${fastSteps} steps synchronous, ${plainSteps} as Effects`)
      }
      // Both read the same store.
      assert.deepStrictEqual(yield* plain.get("k"), yield* fast.get("k"))
    })
  )
})
