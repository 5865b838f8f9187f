/**
 * Arguments that throw when they are read: a caller's getter, or a Proxy whose traps throw. Checking an
 * argument reads it, so the throw would escape the call that builds the Effect; each operation of a view is
 * wrapped so that it becomes what every other bad argument is, a `CacheInvalidInputError` inside the Effect (with the
 * thrown value as its cause), and nothing runs.
 */
import * as Stream from "effect/Stream"
import type { Cache } from "../Cache.js"
import type { Operation } from "../CacheError.js"
import type { Observer } from "./observe.js"
import * as Refused from "./refused.js"
import * as Validate from "./validate.js"

type Member = (a?: unknown, b?: unknown, c?: unknown) => unknown

/** What a wrapper needs of its view: where it is, and its observer (a refusal is counted like every other). */
interface At {
  readonly prefix: string
  readonly observer: Pick<Observer, "refuse" | "stream">
}

const failed = (at: At, operation: Operation, cause: unknown) => at.observer.refuse(Validate.threw(operation, cause))

// One function literal per operation, not one shared wrapper: each call site then always calls the same operation,
// which the JIT inlines, where a shared one would see every operation and inline none (a local hit is a few
// hundred nanoseconds: a call that cannot be inlined shows).
const wrappers: { readonly [K in Operation]?: (f: Member, at: At) => Member } = {
  get: (f, at) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed(at, "get", cause)
    }
  },
  getMany: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed(at, "getMany", cause)
    }
  },
  set: (f, at) => (a, b, c) => {
    try {
      return f(a, b, c)
    } catch (cause) {
      return failed(at, "set", cause)
    }
  },
  setMany: (f, at) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed(at, "setMany", cause)
    }
  },
  add: (f, at) => (a, b, c) => {
    try {
      return f(a, b, c)
    } catch (cause) {
      return failed(at, "add", cause)
    }
  },
  delete: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed(at, "delete", cause)
    }
  },
  has: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed(at, "has", cause)
    }
  },
  timeToLive: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed(at, "timeToLive", cause)
    }
  },
  persist: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed(at, "persist", cause)
    }
  },
  deleteMany: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed(at, "deleteMany", cause)
    }
  },
  expire: (f, at) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed(at, "expire", cause)
    }
  },
  invalidateTags: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed(at, "invalidateTags", cause)
    }
  },
  getOrSet: (f, at) => (a, b, c) => {
    try {
      return f(a, b, c)
    } catch (cause) {
      return failed(at, "getOrSet", cause)
    }
  },
  getOrSetMany: (f, at) => (a, b, c) => {
    try {
      return f(a, b, c)
    } catch (cause) {
      return failed(at, "getOrSetMany", cause)
    }
  },
  increment: (f, at) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed(at, "increment", cause)
    }
  },
  decrement: (f, at) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return failed(at, "decrement", cause)
    }
  },
  deletePattern: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return failed(at, "deletePattern", cause)
    }
  },
  keys: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return at.observer.stream("keys", Stream.fail(Validate.threw("keys", cause)))
    }
  },
  namespace: (f, at) => (a) => {
    try {
      return f(a)
    } catch (cause) {
      return Refused.view(Validate.threw("namespace", cause), at.prefix)
    }
  },
  forSchema: (f, at) => (a, b) => {
    try {
      return f(a, b)
    } catch (cause) {
      return Refused.view(Validate.threw("forSchema", cause), at.prefix)
    }
  }
}

const isMember = (input: unknown): input is Member => typeof input === "function"

const wrapperOf = (name: string): ((f: Member, at: At) => Member) | undefined => {
  for (const [operation, wrap] of Object.entries(wrappers)) if (operation === name) return wrap
  return undefined
}

/**
 * `self` with each of its operations guarded: one that throws while building its answer answers the failure of its
 * kind instead (an Effect, a Stream, or a view whose every operation fails).
 */
const guard = <S extends { readonly prefix: string }>(self: S, observer: At["observer"]): S => {
  const at: At = { prefix: self.prefix, observer }
  const guarded: Record<string, unknown> = { ...self }
  const members: ReadonlyArray<readonly [string, unknown]> = Object.entries(self)
  for (const [name, member] of members) {
    const wrap = wrapperOf(name)
    // A service spreads its root view: those operations are guarded once.
    if (!isMember(member) || wrap === undefined || guardedMembers.has(member)) continue
    // Operations are closures over their view: they need no `this`.
    const wrapped = wrap(member, at)
    guardedMembers.add(wrapped)
    guarded[name] = wrapped
  }
  // Sound: every member is the one of `self`, or a function taking the same arguments and answering the same type.
  return guarded as S
}

const guardedMembers = new WeakSet<object>()

/** @internal */
export const view: <A>(self: Cache.View<A>, observer: At["observer"]) => Cache.View<A> = guard

/** @internal */
export const service: (self: Cache.Service, observer: At["observer"]) => Cache.Service = guard
