/**
 * A view's reads and writes through the local tier (`local.ts`): reads served from it, or from the backend and kept
 * (unless they raced an invalidation); own writes kept or dropped at once, and announced to other processes.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { Entry } from "../Backend.js"
import type { CacheError, Operation } from "../CacheError.js"
import type * as CacheResult from "../CacheResult.js"
import type { Commands } from "./backend.js"
import * as Backends from "./backend.js"
import type { Shared } from "./context.js"
import type { Slot, Tier } from "./local.js"
import * as Tags from "./tags.js"
import type { Values } from "./values.js"

/** A value with its remaining time-to-live (`-1`: none), as cache-aside reads it. */
export interface Read<A> {
  readonly value: A
  readonly timeToLive: number
}

/** A local value, told apart from a backend's text or bytes in `readMany`. */
export interface Local<A> {
  readonly value: A
}

/** Whether an answer of `readMany` is a local value (the backend's are text or bytes). */
export const isLocal = <A>(answer: Local<A> | string | Uint8Array | undefined): answer is Local<A> =>
  typeof answer === "object" && !ArrayBuffer.isView(answer)

/** @internal */
export interface Tiered<A> {
  /** The tier's value for the view's `key`, if this view may serve it. */
  readonly find: (key: string) => TypedSlot<A> | undefined
  /** Remaining time-to-live of a local value, as the backend would answer it now. */
  readonly remaining: (slot: TypedSlot<A>) => number
  /** GET with PTTL from the backend, decoded and kept (unless an invalidation raced it). */
  readonly read: (operation: Operation, key: string, full: string) => Effect.Effect<Read<A> | undefined, CacheError>
  /** The local values of `keys` when the tier holds every one of them; `undefined` otherwise. */
  readonly findAll: (keys: ReadonlyArray<string>) => ReadonlyArray<TypedSlot<A>> | undefined
  /** Local values where the tier has them, the backend's texts (MGET of the rest) elsewhere. */
  readonly readMany: (
    keys: ReadonlyArray<string>,
    fulls: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Local<A> | string | Uint8Array | undefined>, CacheError>
  /** An own write of one value: kept when it succeeds (and `written` of its reply says so), dropped otherwise. */
  readonly wrote: <R>(
    entry: Entry,
    write: () => Effect.Effect<R, CacheError>,
    written?: (reply: R) => boolean
  ) => Effect.Effect<R, CacheError>
  readonly wroteMany: <R>(
    entries: ReadonlyArray<Entry>,
    write: () => Effect.Effect<R, CacheError>,
    written?: (reply: R) => boolean
  ) => Effect.Effect<R, CacheError>
  /** An own write that changes these keys in a way the tier does not follow (delete, expire, increment): dropped. */
  readonly changed: <R>(
    fulls: ReadonlyArray<string>,
    write: () => Effect.Effect<R, CacheError>
  ) => Effect.Effect<R, CacheError>
  /** Keys this process removed by other means (a tag invalidation): dropped, and announced. */
  readonly dropped: (fulls: ReadonlyArray<string>) => void
  /** An own write that may change any key (clear, deletePattern): the tier starts again. */
  readonly changedAll: <R>(write: () => Effect.Effect<R, CacheError>) => Effect.Effect<R, CacheError>
}

/** A slot the view owns, so its value is the view's type. */
export interface TypedSlot<A> extends Slot {
  readonly value: A
  readonly hit: Exit.Exit<CacheResult.CacheResult<A>, CacheError>
}

/**
 * `f` of the command's exit, at once when it answered at once. An interruption of the caller skips it (as cheap as a
 * step can be, on the hot path): its ticket stays open, which the tier bounds (`Tier.begin`).
 */
const after = <R>(
  reply: Effect.Effect<R, CacheError>,
  f: (exit: Exit.Exit<R, CacheError>) => void
): Effect.Effect<R, CacheError> => {
  if (Backends.isExit(reply)) {
    f(reply)
    return reply
  }
  return Effect.matchCauseEffect(reply, {
    onFailure: (cause) => {
      const exit = Exit.failCause(cause)
      f(exit)
      return exit
    },
    onSuccess: (value) => {
      const exit = Exit.succeed(value)
      f(exit)
      return exit
    }
  })
}

/** An own write that changes these keys in a way the tier does not follow: dropped before and after. */
export const changed = <R>(
  tier: Tier,
  fulls: ReadonlyArray<string>,
  write: () => Effect.Effect<R, CacheError>
): Effect.Effect<R, CacheError> => {
  const tickets = fulls.map((full) => {
    tier.touch(full)
    return tier.begin(full)
  })
  return after(write(), () => {
    fulls.forEach((full, i) => {
      tier.end(full, tickets[i] ?? 0)
      tier.touch(full)
    })
    tier.announce(fulls)
  })
}

/**
 * An own write that may change any key: the tier starts again, before and after (one flush, counted once: the
 * second drops what reads kept while the write ran).
 */
export const changedAll = <R>(tier: Tier, write: () => Effect.Effect<R, CacheError>): Effect.Effect<R, CacheError> => {
  tier.flush("cleared")
  return after(write(), () => {
    tier.flush("cleared", false)
    tier.announce("all")
  })
}

/** @internal */
export const make = <A>(tier: Tier, prefix: string, values: Values<A>, commands: Commands): Tiered<A> => {
  // Sound by construction: only this view's `keep` stores values in its front, and they are of its type.
  const front = tier.front(prefix)
  const find = (key: string): TypedSlot<A> | undefined => {
    const slot = tier.find(front, key)
    if (slot === undefined) return undefined
    if (slot.text !== undefined) {
      // An own write, read for the first time: decoded once, as the backend's copy would be.
      const decoded = values.decode("get", undefined, slot.text)
      if (Exit.isFailure(decoded)) {
        tier.touch(slot.full)
        return undefined
      }
      tier.resolve(slot, decoded.value)
    }
    return slot as TypedSlot<A>
  }

  const keep = (entry: Entry, ticket: number) =>
    tier.keep(front, entry.key, ticket, undefined, entry.value, entry.timeToLive)

  const wroteMany = <R>(
    entries: ReadonlyArray<Entry>,
    write: () => Effect.Effect<R, CacheError>,
    written?: (reply: R) => boolean
  ) => {
    const tickets = entries.map((entry) => tier.begin(entry.key, true))
    return after(write(), (exit) => {
      const done = Exit.isSuccess(exit) && (written === undefined || written(exit.value))
      entries.forEach((entry, i) => {
        const ticket = tickets[i] ?? 0
        const kept = done && keep(entry, ticket)
        if (!done) tier.end(entry.key, ticket)
        // A read of the key still in flight may answer the value this write replaced: it is not kept. Not kept
        // itself (it failed, was withdrawn, or raced another change of its key), the value held before it goes too.
        if (kept) tier.mark(entry.key)
        else tier.touch(entry.key)
      })
      tier.announce(entries.map((entry) => entry.key))
    })
  }

  return {
    find,
    remaining: (slot) =>
      slot.remoteExpiresAt === Infinity ? -1 : Math.max(1, Math.ceil(slot.remoteExpiresAt - tier.remoteNow())),
    read: (operation, key, full) => {
      const ticket = tier.begin(full)
      const reply = commands.getWithTimeToLive(full)
      return after(
        Backends.flatMap(reply, (entry): Effect.Effect<Read<A> | undefined, CacheError> => {
          if (entry === undefined) return Exit.succeed(undefined)
          const decoded = values.decode(operation, key, entry.value)
          if (Exit.isFailure(decoded)) return Exit.failCause(decoded.cause)
          tier.keep(front, full, ticket, decoded, entry.value, entry.timeToLive)
          return Exit.succeed({ value: decoded.value, timeToLive: entry.timeToLive })
        }),
        (exit) => {
          // A kept value has ended its ticket already.
          if (Exit.isFailure(exit) || exit.value === undefined) tier.end(full, ticket)
        }
      )
    },
    findAll: (keys) => {
      const slots: Array<TypedSlot<A>> = new Array(keys.length)
      for (let i = 0; i < keys.length; i++) {
        const slot = find(keys[i] ?? "")
        if (slot === undefined) return undefined
        slots[i] = slot
      }
      return slots
    },
    readMany: (keys, fulls) => {
      const answers: Array<Local<A> | string | Uint8Array | undefined> = new Array(fulls.length)
      const rest: Array<string> = []
      const at: Array<number> = []
      for (let i = 0; i < fulls.length; i++) {
        const slot = find(keys[i] ?? "")
        if (slot === undefined) {
          rest.push(fulls[i] ?? "")
          at.push(i)
        } else {
          answers[i] = slot
        }
      }
      if (rest.length === 0) return Exit.succeed(answers)
      return Backends.map(commands.getMany(rest), (texts) => {
        texts.forEach((text, j) => {
          answers[at[j] ?? 0] = text
        })
        return answers
      })
    },
    wrote: (entry, write, written) => wroteMany([entry], write, written),
    wroteMany,
    changed: (fulls, write) => changed(tier, fulls, write),
    changedAll: (write) => changedAll(tier, write),
    dropped: (fulls) => {
      for (const full of fulls) tier.touch(full)
      tier.announce(fulls)
    }
  }
}

/**
 * A view's write of `entries` (its own keys, encoded): `plain` when they have no tags, the tag protocol when they do
 * (`tags.ts`), kept by the local tier when there is one (a tagged write the protocol withdrew is not kept).
 */
export const store = <A>(
  context: { readonly shared: Shared; readonly prefix: string; readonly tiered: Tiered<A> | undefined },
  entries: ReadonlyArray<Entry>,
  tags: ReadonlyArray<string>,
  plain: () => Effect.Effect<void, CacheError>
): Effect.Effect<void, CacheError> => {
  const { shared, prefix, tiered } = context
  if (tags.length === 0) return tiered === undefined ? plain() : tiered.wroteMany(entries, plain)
  const tagged = () => Tags.write(shared.backend, prefix, entries, tags, "set")
  return Effect.asVoid(tiered === undefined ? tagged() : tiered.wroteMany(entries, tagged, (written) => written))
}
