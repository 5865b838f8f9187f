/**
 * Tags: `invalidateTags` removes what was written with a tag before it, and nothing else: not entries written after
 * it, not untagged entries, not other tags, not other namespaces. Its bookkeeping is never listed and goes with
 * `clear`.
 *
 * @internal
 */

import * as Cache from "@cachet/core/Cache"
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  cacheError,
  collectKeys,
  expectHit,
  expectMiss,
  type Harness,
  longTimeToLive,
  shortTimeToLive,
  slack,
  untypedKey
} from "./harness.js"

const ttl = { timeToLive: longTimeToLive }

/** Tags as a JavaScript caller without types might pass them. */
const untypedTags = (value: unknown): ReadonlyArray<string> => value as ReadonlyArray<string>

export const tags = (harness: Harness): void => {
  describe("tags", () => {
    harness.test("invalidateTags removes the entries written with the tag before it, and answers how many", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("a", 1, { ...ttl, tags: ["t"] })
        yield* ns.set("b", 2, { tags: ["t", "u"] })
        yield* ns.set("plain", 3, ttl)
        yield* ns.set("other", 4, { ...ttl, tags: ["u"] })
        assert.strictEqual(yield* ns.invalidateTags(["t"]), 2)
        expectMiss(yield* ns.get("a"))
        expectMiss(yield* ns.get("b"))
        expectHit(yield* ns.get("plain"), 3)
        expectHit(yield* ns.get("other"), 4)
        // Written after the invalidation: it survives, and the next one takes it.
        yield* ns.set("later", 5, { ...ttl, tags: ["t"] })
        expectHit(yield* ns.get("later"), 5)
        assert.strictEqual(yield* ns.invalidateTags(["t"]), 1)
        expectMiss(yield* ns.get("later"))
        assert.strictEqual(yield* ns.invalidateTags(["t"]), 0)
        assert.strictEqual(yield* ns.invalidateTags([]), 0)
      })
    )

    harness.test("several tags at once remove an entry with any of them, counted once", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("both", 1, { ...ttl, tags: ["a", "b"] })
        yield* ns.set("a-only", 2, { ...ttl, tags: ["a"] })
        yield* ns.set("c-only", 3, { ...ttl, tags: ["c"] })
        assert.strictEqual(yield* ns.invalidateTags(["a", "b", "never-used"]), 2)
        expectHit(yield* ns.get("c-only"), 3)
      })
    )

    harness.test("add, setMany, getOrSet and Cache.Lookup's setTags write tags", ({ ns }) =>
      Effect.gen(function* () {
        assert.isTrue(yield* ns.add("added", 1, { ...ttl, tags: ["t"] }))
        assert.isFalse(yield* ns.add("added", 2, { ...ttl, tags: ["t"] }))
        yield* ns.setMany(
          [
            ["m1", 1],
            ["m2", 2]
          ],
          { ...ttl, tags: ["t"] }
        )
        assert.strictEqual(yield* ns.getOrSet("looked", Effect.succeed(7), { ...ttl, tags: ["t"] }), 7)
        const decided = Effect.gen(function* () {
          const lookup = yield* Cache.Lookup
          yield* lookup.setTags(["t"])
          return 8
        })
        assert.strictEqual(yield* ns.getOrSet("decided", decided, ttl), 8)
        const many = yield* ns.getOrSetMany(["g1", "g2"], (missing) => Effect.succeed(missing.map((k) => k.length)), {
          ...ttl,
          tags: ["t"]
        })
        assert.deepStrictEqual(many, [2, 2])
        assert.strictEqual(yield* ns.invalidateTags(["t"]), 7)
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      })
    )

    harness.test("Cache.cached's tags, and the accessor Cache.invalidateTags", ({ id, root, rootKey }) =>
      Effect.gen(function* () {
        const key = rootKey("cached")
        const tag = `${id}-cached`
        let calls = 0
        const load = Cache.cached({ key: () => key, timeToLive: longTimeToLive, tags: [tag] })(() => {
          calls++
          return Effect.succeed(calls)
        })
        assert.strictEqual(yield* load(), 1)
        assert.strictEqual(yield* load(), 1)
        assert.strictEqual(yield* Cache.invalidateTags([tag]), 1)
        assert.strictEqual(yield* load(), 2)
        yield* Cache.invalidateTags([tag])
      }).pipe(Effect.provideService(Cache.Cache, root))
    )

    harness.test("a tagged write replaces the entry's tags; an untagged one leaves it to its old tags", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", 1, { ...ttl, tags: ["a"] })
        yield* ns.set("k", 2, { ...ttl, tags: ["b"] })
        assert.strictEqual(yield* ns.invalidateTags(["a"]), 0)
        expectHit(yield* ns.get("k"), 2)
        assert.strictEqual(yield* ns.invalidateTags(["b"]), 1)
        // An untagged write over a tagged entry: the old tag may still remove it (never the other way round).
        yield* ns.set("u", 1, { ...ttl, tags: ["c"] })
        yield* ns.set("u", 2, ttl)
        assert.strictEqual(yield* ns.invalidateTags(["c"]), 1)
        expectMiss(yield* ns.get("u"))
      })
    )

    harness.test("tags belong to their namespace; a schema view shares its namespace's tags", ({ ns }) =>
      Effect.gen(function* () {
        const child = ns.namespace("child")
        const typed = ns.forSchema(Schema.Struct({ n: Schema.Number }))
        yield* child.set("k", 1, { ...ttl, tags: ["t"] })
        yield* typed.set("typed", { n: 1 }, { ...ttl, tags: ["t"] })
        assert.strictEqual(yield* ns.invalidateTags(["t"]), 1)
        expectMiss(yield* typed.get("typed"))
        expectHit(yield* child.get("k"), 1)
        assert.strictEqual(yield* child.invalidateTags(["t"]), 1)
        expectMiss(yield* child.get("k"))
      })
    )

    harness.test("an expired tagged entry is not counted", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("short", 1, { timeToLive: shortTimeToLive, tags: ["t"] })
        yield* ns.set("long", 2, { ...ttl, tags: ["t"] })
        yield* advance(shortTimeToLive + slack)
        assert.strictEqual(yield* ns.invalidateTags(["t"]), 1)
      })
    )

    harness.test(
      "expire, persist and a sliding read keep a tagged entry within its tags' reach; an untagged write ends it",
      ({ ns, advance }) =>
        Effect.gen(function* () {
          const short = { timeToLive: shortTimeToLive, tags: ["t"] }
          const slide = { timeToLive: shortTimeToLive * 2 }
          for (const key of ["expired", "persisted", "slid", "rewritten"]) yield* ns.set(key, 1, short)
          assert.isTrue(yield* ns.expire("expired", longTimeToLive))
          assert.isTrue(yield* ns.persist("persisted"))
          expectHit(yield* ns.get("slid", slide), 1)
          yield* ns.set("rewritten", 2, ttl)
          // Past the tagged writes' own expiry: only what moved the expiry keeps the tag's reach.
          yield* advance(shortTimeToLive + slack)
          // A second slide reads the record the first one kept alive.
          expectHit(yield* ns.get("slid", slide), 1)
          yield* advance(shortTimeToLive + slack)
          // A tagged write sweeps the index: what moved its expiry is not swept away.
          yield* ns.set("sweeper", 3, { ...ttl, tags: ["t"] })
          assert.strictEqual(yield* ns.invalidateTags(["t"]), 4)
          for (const key of ["expired", "persisted", "slid", "sweeper"]) expectMiss(yield* ns.get(key))
          expectHit(yield* ns.get("rewritten"), 2)
        })
    )

    harness.test("keys() never lists tag bookkeeping, clear() removes it and counts only entries", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", 1, { ...ttl, tags: ["t"] })
        yield* ns.set("j", 1, { tags: ["t", "u"] })
        yield* ns.invalidateTags(["u"])
        yield* ns.set("k2", 1, { ...ttl, tags: ["t"] })
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["k", "k2"])
        assert.strictEqual(yield* ns.clear(), 2)
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
        assert.strictEqual(yield* ns.invalidateTags(["t"]), 0)
      })
    )

    harness.test("deletePattern counts the entries it deletes, not their tag bookkeeping", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("a1", 1, { ...ttl, tags: ["t"] })
        yield* ns.set("a2", 2, { ...ttl, tags: ["t", "u"] })
        yield* ns.set("a3", 3, ttl)
        yield* ns.set("b", 4, { ...ttl, tags: ["t"] })
        assert.strictEqual(yield* ns.deletePattern("a*"), 3)
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["b"])
        assert.strictEqual(yield* ns.invalidateTags(["t", "u"]), 1)
        assert.strictEqual(yield* ns.deletePattern("*"), 0)
      })
    )

    harness.test("bad tags fail with CacheInvalidInputError and write nothing", ({ ns }) =>
      Effect.gen(function* () {
        const bad: ReadonlyArray<unknown> = ["t", ["", "t"], ["a\u0000b"], ["\uD800"], [42], [null], "t"]
        for (const input of bad) {
          const tagged = { ...ttl, tags: untypedTags(input) }
          yield* cacheError(ns.set("k", 1, tagged), "CacheInvalidInputError", ["INVALID_ARGUMENT"])
          yield* cacheError(ns.add("k", 1, tagged), "CacheInvalidInputError", ["INVALID_ARGUMENT"])
          yield* cacheError(ns.setMany([["k", 1]], tagged), "CacheInvalidInputError", ["INVALID_ARGUMENT"])
          yield* cacheError(ns.getOrSet("k", Effect.succeed(1), tagged), "CacheInvalidInputError", ["INVALID_ARGUMENT"])
          yield* cacheError(ns.invalidateTags(untypedTags(input)), "CacheInvalidInputError", ["INVALID_ARGUMENT"])
          const decided = Effect.zipRight(
            Effect.flatMap(Cache.Lookup, (lookup) => lookup.setTags(untypedTags(input))),
            Effect.succeed(1)
          )
          yield* cacheError(ns.getOrSet("k", decided, ttl), "CacheInvalidInputError", ["INVALID_ARGUMENT"])
        }
        yield* cacheError(ns.invalidateTags(untypedTags(undefined)), "CacheInvalidInputError", ["INVALID_ARGUMENT"])
        // Tags belong to the whole batch: an entry's own are refused, not ignored.
        const entryWithTags = [["k", 1, { tags: ["t"] }]] as unknown as ReadonlyArray<Cache.Cache.SetManyEntry<number>>
        yield* cacheError(ns.setMany(entryWithTags), "CacheInvalidInputError", ["INVALID_ARGUMENT"])
        yield* cacheError(ns.set(untypedKey(""), 1, { tags: ["t"] }), "CacheInvalidInputError", ["INVALID_KEY"])
        assert.isFalse(yield* ns.has("k"))
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      })
    )
  })
}
