/**
 * What the core makes of a backend, once, when a cache is built: its optional parts filled in, and whether its
 * operations answer synchronously. Operations are then written once, against `Commands`, whichever it is.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Backend, SyncBackend } from "../Backend.js"
import type { CacheError } from "../CacheError.js"
import * as TagFallback from "./tagFallback.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * The backend's primitives as the core calls them: each answers an Effect, which for a synchronous backend is
 * already its `Exit` (an `Exit` is an `Effect`). Call them only inside a runner's step (`Observer.call`), never
 * while building an Effect: a synchronous answer is computed at the call.
 */
export type Commands = Omit<
  Backend,
  "name" | "scan" | "deleteMatching" | "ping" | "coherence" | "expiryClock" | "tagAdd" | "tagTake" | "bytes"
> & {
  readonly ping: () => Effect.Effect<void, CacheError>
  readonly tagAdd: NonNullable<Backend["tagAdd"]>
  readonly tagTake: NonNullable<Backend["tagTake"]>
}

/** A backend with its optional parts filled, and its synchronous form when it has one. */
export interface Complete {
  readonly backend: Backend
  readonly commands: Commands
  /** The same, with the reads that answer bytes (`Backend.bytes`) where the backend has them: for binary codecs. */
  readonly bytesCommands: Commands
  /** Whether `commands` answer with an `Exit` at the call (a backend made by `fromSync`). */
  readonly synchronous: boolean
  readonly deleteMatching: (pattern: string, counted: (key: string) => boolean) => Effect.Effect<number, CacheError>
}

const syncForms = new WeakMap<Backend, SyncBackend>()

const end = Effect.fail(Option.none())

const batches = (iterable: () => Iterable<ReadonlyArray<string>>): Stream.Stream<ReadonlyArray<string>, CacheError> =>
  Stream.suspend(() => {
    const iterator = iterable()[Symbol.iterator]()
    return Stream.repeatEffectOption(
      Effect.suspend(() => {
        const next = iterator.next()
        return next.done === true ? end : Effect.succeed(next.value)
      })
    )
  })

/** @internal */
export const fromSync = (sync: SyncBackend): Backend => {
  const backend: Mutable<Backend> = {
    name: sync.name,
    get: (key) => Effect.suspend(() => sync.get(key)),
    getWithTimeToLive: (key) => Effect.suspend(() => sync.getWithTimeToLive(key)),
    getMany: (keys) => Effect.suspend(() => sync.getMany(keys)),
    set: (key, value, timeToLive) => Effect.suspend(() => sync.set(key, value, timeToLive)),
    setKeepingTimeToLive: (key, value) => Effect.suspend(() => sync.setKeepingTimeToLive(key, value)),
    getAndExpire: (key, timeToLive) => Effect.suspend(() => sync.getAndExpire(key, timeToLive)),
    setMany: (entries) => Effect.suspend(() => sync.setMany(entries)),
    add: (key, value, timeToLive) => Effect.suspend(() => sync.add(key, value, timeToLive)),
    deleteIfEquals: (key, expected) => Effect.suspend(() => sync.deleteIfEquals(key, expected)),
    delete: (keys) => Effect.suspend(() => sync.delete(keys)),
    has: (key) => Effect.suspend(() => sync.has(key)),
    timeToLive: (key) => Effect.suspend(() => sync.timeToLive(key)),
    expire: (key, timeToLive) => Effect.suspend(() => sync.expire(key, timeToLive)),
    persist: (key) => Effect.suspend(() => sync.persist(key)),
    increment: (key, by) => Effect.suspend(() => sync.increment(key, by)),
    scan: (pattern) => batches(() => sync.scan(pattern)),
    ping: Effect.suspend(() => sync.ping())
  }
  const { tagAdd, tagTake, coherence } = sync
  if (coherence !== undefined) backend.coherence = coherence
  if (tagAdd !== undefined) {
    backend.tagAdd = (index, epoch, members) => Effect.suspend(() => tagAdd(index, epoch, members))
  }
  if (tagTake !== undefined) {
    backend.tagTake = (index, epoch, token, epochTimeToLive) =>
      Effect.suspend(() => tagTake(index, epoch, token, epochTimeToLive))
  }
  syncForms.set(backend, sync)
  return backend
}

// Without a native form, delete what `scan` emits: the same commands in the same order.
const deleteScanned =
  (backend: Backend) =>
  (pattern: string, counted: (key: string) => boolean): Effect.Effect<number, CacheError> =>
    Stream.runFoldEffect(backend.scan(pattern), 0, (count, batch) =>
      Effect.map(deleteCounting(batch, counted, backend.delete), (n) => count + n)
    )

/**
 * DEL of `keys` in one command, or in two when some are not `counted` (these go in the second, its answer unused):
 * how many of the counted ones existed.
 */
export const deleteCounting = (
  keys: ReadonlyArray<string>,
  counted: (key: string) => boolean,
  remove: (keys: ReadonlyArray<string>) => Effect.Effect<number, CacheError>
): Effect.Effect<number, CacheError> => {
  const others = keys.filter((key) => !counted(key))
  if (others.length === 0) return keys.length === 0 ? Effect.succeed(0) : remove(keys)
  const kept = keys.filter(counted)
  return Effect.zipLeft(kept.length === 0 ? Effect.succeed(0) : remove(kept), remove(others))
}

// Without native tag primitives (both of them), the plain ones under a lock (`tagFallback.ts`).
const tagsOf = (backend: Backend, sync: SyncBackend | undefined): Pick<Commands, "tagAdd" | "tagTake"> => {
  if (sync?.tagAdd !== undefined && sync.tagTake !== undefined) return { tagAdd: sync.tagAdd, tagTake: sync.tagTake }
  if (backend.tagAdd !== undefined && backend.tagTake !== undefined) {
    return { tagAdd: backend.tagAdd, tagTake: backend.tagTake }
  }
  return TagFallback.make(backend)
}

/** @internal */
export const complete = (backend: Backend): Complete => {
  const sync = syncForms.get(backend)
  const deleteMatching = backend.deleteMatching ?? deleteScanned(backend)
  if (sync !== undefined) {
    const commands = { ...sync, ...tagsOf(backend, sync) }
    return { backend, commands, bytesCommands: commands, synchronous: true, deleteMatching }
  }
  const ping = backend.ping
  const commands: Commands = { ...backend, ping: () => ping, ...tagsOf(backend, undefined) }
  const bytesCommands = backend.bytes === undefined ? commands : { ...commands, ...backend.bytes }
  return { backend, commands, bytesCommands, synchronous: false, deleteMatching }
}

/**
 * Whether a command answered at once. An `Effect<A, E>` that is an `Exit` is an `Exit<A, E>`: the check is at run
 * time, the type follows from it.
 */
export const isExit = <A, E, R>(effect: Effect.Effect<A, E, R>): effect is Exit.Exit<A, E> & Effect.Effect<A, E, R> =>
  Exit.isExit(effect)

/**
 * `f` of a command's answer: at once when the answer is an `Exit` (the synchronous path stays one step), else as
 * the next step of the Effect.
 */
export const map = <A, B>(reply: Effect.Effect<A, CacheError>, f: (a: A) => B): Effect.Effect<B, CacheError> =>
  isExit(reply) ? Exit.map(reply, f) : Effect.map(reply, f)

/** `flatMap` with the same rule as `map`. */
export const flatMap = <A, B, E>(
  reply: Effect.Effect<A, E>,
  f: (a: A) => Effect.Effect<B, CacheError | E>
): Effect.Effect<B, CacheError | E> =>
  isExit(reply) ? (reply._tag === "Success" ? f(reply.value) : Exit.failCause(reply.cause)) : Effect.flatMap(reply, f)
