/**
 * Arguments that throw when they are read: an untyped caller's getter, or a Proxy whose traps throw. Checking an
 * argument reads it, so the throw would escape the call that builds the Effect; each operation of a view is
 * wrapped so that it becomes what any other bad argument is, a `CacheInvalidInputError` inside the Effect (with the
 * thrown value as its cause), and nothing runs.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Cache } from "../Cache.js"
import type { Operation } from "../CacheError.js"
import * as Refused from "./refused.js"
import * as Validate from "./validate.js"

type Member = (a?: unknown, b?: unknown, c?: unknown) => unknown

const failed = (operation: Operation, cause: unknown) => Effect.fail(Validate.threw(operation, cause))

// One function literal per operation, not one shared wrapper: each call site then always calls the same operation,
// which the JIT inlines, where a shared one would see every operation and inline none (a local hit is a few
// hundred nanoseconds: a call that cannot be inlined shows).
const wrappers: { readonly [K in Operation]?: (f: Member, prefix: string) => Member } = {
  get: (f) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed("get", cause)
    }
  },
  getMany: (f) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed("getMany", cause)
    }
  },
  set: (f) => (a, b, c) => {
    try {
      return f(a, b, c)
    } catch (cause) {
      return failed("set", cause)
    }
  },
  setMany: (f) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed("setMany", cause)
    }
  },
  add: (f) => (a, b, c) => {
    try {
      return f(a, b, c)
    } catch (cause) {
      return failed("add", cause)
    }
  },
  delete: (f) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed("delete", cause)
    }
  },
  has: (f) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed("has", cause)
    }
  },
  timeToLive: (f) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed("timeToLive", cause)
    }
  },
  persist: (f) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed("persist", cause)
    }
  },
  deleteMany: (f) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed("deleteMany", cause)
    }
  },
  expire: (f) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed("expire", cause)
    }
  },
  invalidateTags: (f) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed("invalidateTags", cause)
    }
  },
  getOrSet: (f) => (a, b, c) => {
    try {
      return f(a, b, c)
    } catch (cause) {
      return failed("getOrSet", cause)
    }
  },
  getOrSetMany: (f) => (a, b, c) => {
    try {
      return f(a, b, c)
    } catch (cause) {
      return failed("getOrSetMany", cause)
    }
  },
  increment: (f) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed("increment", cause)
    }
  },
  decrement: (f) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed("decrement", cause)
    }
  },
  deletePattern: (f) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed("deletePattern", cause)
    }
  },
  keys: (f) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return Stream.fail(Validate.threw("keys", cause))
    }
  },
  namespace: (f, prefix) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return Refused.view(Validate.threw("namespace", cause), prefix)
    }
  },
  forSchema: (f, prefix) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return Refused.view(Validate.threw("forSchema", cause), prefix)
    }
  }
}

const isMember = (input: unknown): input is Member => typeof input === "function"

const wrapperOf = (name: string): ((f: Member, prefix: string) => Member) | undefined => {
  for (const [operation, wrap] of Object.entries(wrappers)) if (operation === name) return wrap
  return undefined
}

/**
 * `self` with each of its operations guarded: one that throws while building its answer answers the failure of its
 * kind instead (an Effect, a Stream, or a view whose every operation fails).
 */
const guard = <S extends { readonly prefix: string }>(self: S): S => {
  const guarded: Record<string, unknown> = { ...self }
  const members: ReadonlyArray<readonly [string, unknown]> = Object.entries(self)
  for (const [name, member] of members) {
    const wrap = wrapperOf(name)
    // A service spreads its root view: those operations are guarded once.
    if (!isMember(member) || wrap === undefined || guardedMembers.has(member)) continue
    // Operations are closures over their view: they need no `this`.
    const wrapped = wrap(member, self.prefix)
    guardedMembers.add(wrapped)
    guarded[name] = wrapped
  }
  // Sound: every member is the one of `self`, or a function taking the same arguments and answering the same type.
  return guarded as S
}

const guardedMembers = new WeakSet<object>()

/** @internal */
export const view: <A>(self: Cache.View<A>) => Cache.View<A> = guard

/** @internal */
export const service: (self: Cache.Service) => Cache.Service = guard
