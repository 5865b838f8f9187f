/**
 * `tagAdd` and `tagTake` for a backend without them, from its plain primitives. A tag's index is a string (a JSON
 * object of member to expiry, `null` for none) expiring with its last member; each call holds the tag's lock
 * (`SET NX PX` with a random token, compare-and-delete release) while it reads and rewrites the index, so calls
 * of every process on the backend are atomic towards each other as long as one ends within the lock's life.
 * Slower than a native form (a few round trips, the whole index rewritten per write): a backend that can do better
 * implements the primitives itself.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { Backend, TagMember } from "../Backend.js"
import { type CacheError, CacheTimeoutError, type Operation } from "../CacheError.js"
import * as KeySpace from "./keySpace.js"

/** Milliseconds a call may hold a tag's lock; the longest a crashed holder blocks the tag. */
const lockTimeout = 10_000

const retryLock = Schedule.intersect(Schedule.spaced("5 millis"), Schedule.recurUpTo(`${2 * lockTimeout} millis`))

class Busy {
  readonly _tag = "Busy"
}

/** The index as stored: unreadable text (not written by this fallback) counts as an empty index. */
const parse = (stored: string | Uint8Array | undefined): Map<string, number> => {
  const index = new Map<string, number>()
  const text = KeySpace.textOf(stored)
  if (text === undefined) return index
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return index
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return index
  for (const [member, expireAt] of Object.entries(parsed)) {
    if (expireAt === null) index.set(member, Number.POSITIVE_INFINITY)
    else if (typeof expireAt === "number") index.set(member, expireAt)
  }
  return index
}

const serialize = (index: ReadonlyMap<string, number>): string => {
  const out: Record<string, number | null> = {}
  for (const [member, expireAt] of index) out[member] = Number.isFinite(expireAt) ? expireAt : null
  return JSON.stringify(out)
}

/** @internal */
export const make = (backend: Backend) => {
  const locked = <A>(
    operation: Operation,
    index: string,
    body: (now: number) => Effect.Effect<A, CacheError>
  ): Effect.Effect<A, CacheError> =>
    Effect.suspend(() => {
      const lockKey = KeySpace.bookkeeping(index, "lock")
      const token = globalThis.crypto.randomUUID()
      const acquire = Effect.retry(
        Effect.flatMap(backend.add(lockKey, token, lockTimeout), (held) =>
          held ? Effect.void : Effect.fail(new Busy())
        ),
        { schedule: retryLock, while: (error) => error instanceof Busy }
      )
      return Effect.flatMap(
        Effect.catchIf(
          acquire,
          (error): error is Busy => error instanceof Busy,
          () => Effect.fail(new CacheTimeoutError({ operation, code: "LOCK_TIMEOUT" }))
        ),
        () =>
          Effect.ensuring(
            Effect.flatMap(Clock.currentTimeMillis, body),
            Effect.ignore(backend.deleteIfEquals(lockKey, token))
          )
      )
    })

  /** The index written back: gone when empty, else expiring with its last member. */
  const store = (key: string, index: ReadonlyMap<string, number>, now: number) => {
    let last = Number.NEGATIVE_INFINITY
    for (const expireAt of index.values()) if (expireAt > last) last = expireAt
    if (index.size === 0) return Effect.asVoid(backend.delete([key]))
    return backend.set(key, serialize(index), Number.isFinite(last) ? Math.max(1, last - now) : undefined)
  }

  const live = (index: Map<string, number>, now: number) => {
    for (const [member, expireAt] of index) if (expireAt < now) index.delete(member)
    return index
  }

  const tagAdd = (index: string, epoch: string, members: ReadonlyArray<TagMember>) =>
    locked("tagAdd", index, (now) =>
      Effect.flatMap(backend.get(index), (text) => {
        const current = live(parse(text), now)
        for (const { key, timeToLive } of members) {
          current.set(key, timeToLive === undefined ? Number.POSITIVE_INFINITY : now + timeToLive)
        }
        return Effect.zipRight(
          text === undefined && current.size === 0 ? Effect.void : store(index, current, now),
          Effect.map(backend.get(epoch), KeySpace.textOf)
        )
      })
    )

  const tagTake = (index: string, epoch: string, token: string, epochTimeToLive: number) =>
    locked("tagTake", index, (now) =>
      Effect.flatMap(backend.get(index), (text) => {
        const members = Array.from(live(parse(text), now).keys())
        return Effect.as(Effect.zipRight(backend.delete([index]), backend.set(epoch, token, epochTimeToLive)), members)
      })
    )

  return { tagAdd, tagTake }
}
