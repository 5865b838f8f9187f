/**
 * Arguments that throw when they are read: an untyped caller's getter, or a Proxy whose traps throw. Checking an
 * argument reads it, so the throw would escape the call that builds the Effect; each operation of a view is
 * wrapped so that it becomes what any other bad argument is, a `CacheInvalidInputError` inside the Effect (with the
 * thrown value as its cause), and nothing runs.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Cache } from "../Cache.js"
import { type Operation, operations } from "../CacheError.js"
import * as Refused from "./refused.js"
import * as Validate from "./validate.js"

const known: ReadonlySet<string> = new Set(operations)
const wrappers = new WeakSet<object>()
const isOperation = (name: string): name is Operation => known.has(name)

/**
 * `self` with each of its operations guarded: one that throws while building its answer answers the failure of
 * its kind instead (an Effect, a Stream, or a view whose every operation fails).
 */
const guard = <S extends { readonly prefix: string }>(self: S): S => {
  const guarded: Record<string, unknown> = { ...self }
  const members: ReadonlyArray<readonly [string, unknown]> = Object.entries(self)
  for (const [name, member] of members) {
    // A service spreads its root view: those operations are guarded once.
    if (typeof member !== "function" || !isOperation(name) || wrappers.has(member)) continue
    const operation = name
    const failed = (cause: unknown): unknown => {
      const error = Validate.threw(operation, cause)
      if (name === "keys") return Stream.fail(error)
      if (name === "namespace" || name === "forSchema") return Refused.view(error, self.prefix)
      return Effect.fail(error)
    }
    // A fixed arity, not rest arguments: the hot path allocates nothing for the guard (every operation takes at
    // most four arguments, and an argument left out is `undefined` either way).
    const wrapper = (a: unknown, b: unknown, c: unknown, d: unknown) => {
      try {
        return member.call(self, a, b, c, d)
      } catch (cause) {
        return failed(cause)
      }
    }
    wrappers.add(wrapper)
    guarded[name] = wrapper
  }
  // Sound: every member is the one of `self`, or a function taking the same arguments and answering the same type.
  return guarded as S
}

/** @internal */
export const view: <A>(self: Cache.View<A>) => Cache.View<A> = guard

/** @internal */
export const service: (self: Cache.Service) => Cache.Service = guard
