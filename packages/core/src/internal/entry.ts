/**
 * `view.entry(key)`: the view's own operations with the key bound. Built from the view it came from, so it reads and
 * writes that view's type, under its prefix, with whatever that view does (fail-open, a refused view's error), and
 * the view's checks of the key run on each call.
 */
import type { Cache } from "../Cache.js"

/** @internal */
export const make = <A>(view: Cache.View<A>, key: string): Cache.EntryHandle<A> => ({
  key,
  get: (options) => view.get(key, options),
  set: (value, options) => view.set(key, value, options),
  add: (value, options) => view.add(key, value, options),
  delete: () => view.delete(key),
  has: () => view.has(key),
  timeToLive: () => view.timeToLive(key),
  expire: (timeToLive) => view.expire(key, timeToLive),
  persist: () => view.persist(key),
  getOrSet: (lookup, options) => view.getOrSet(key, lookup, options)
})
