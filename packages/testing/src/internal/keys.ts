/**
 * Key spaces: keys and deletePattern with Redis globs, namespaces and their prefixes, clear.
 *
 * @internal
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { collectKeys, expectHit, type Harness, sorted } from "./harness.js"

// Redis glob semantics (stringmatchlen) work on bytes: `?` and classes match one byte of the UTF-8 encoding.
const globKeys = [
  "hello",
  "hallo",
  "hxllo",
  "hllo",
  "heeeello",
  "h*llo",
  "h?llo",
  "h[e]llo",
  "h\\llo",
  "café",
  "naïve",
  "日本",
  "user:1",
  "user:2",
  "user:10",
  "post:1"
]

const globCases: ReadonlyArray<readonly [glob: string, matches: ReadonlyArray<string>]> = [
  ["*", globKeys],
  ["h?llo", ["hello", "hallo", "hxllo", "h*llo", "h?llo", "h\\llo"]],
  ["h*llo", ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "h[e]llo", "h\\llo"]],
  ["h[ae]llo", ["hello", "hallo"]],
  ["h[^e]llo", ["hallo", "hxllo", "h*llo", "h?llo", "h\\llo"]],
  ["h[a-b]llo", ["hallo"]],
  ["h[x-z]llo", ["hxllo"]],
  // Redis swaps a reversed range.
  ["h[z-x]llo", ["hxllo"]],
  ["h\\*llo", ["h*llo"]],
  ["h\\?llo", ["h?llo"]],
  ["h\\[e\\]llo", ["h[e]llo"]],
  ["h\\\\llo", ["h\\llo"]],
  ["h[\\*]llo", ["h*llo"]],
  ["hello", ["hello"]],
  ["user:?", ["user:1", "user:2"]],
  ["user:*", ["user:1", "user:2", "user:10"]],
  ["user:[0-9]", ["user:1", "user:2"]],
  ["*:1", ["user:1", "post:1"]],
  ["caf*", ["café"]],
  // "é" is two bytes in UTF-8.
  ["caf?", []],
  ["caf??", ["café"]],
  ["na?ve", []],
  ["na??ve", ["naïve"]],
  ["naïve", ["naïve"]],
  ["日*", ["日本"]],
  // Six bytes: "naïve" and "日本" are, though they are five and two characters.
  ["??????", ["日本", "naïve", "user:1", "user:2", "post:1"]],
  ["nothing*", []]
]

/** Escapes the Redis glob metacharacters of a literal. */
const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, "\\$&")

/** @internal */
export const keys = ({ test, prop }: Harness): void => {
  describe("keys", () => {
    test("lists this view's keys, without the prefix", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.setMany([
          ["a", 1],
          ["b:c", 2],
          ["d", null]
        ])
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["a", "b:c", "d"])
        assert.deepStrictEqual(yield* collectKeys(ns.keys("*")), ["a", "b:c", "d"])
      }))

    test("is empty for an empty view", ({ ns }) =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
        assert.deepStrictEqual(yield* collectKeys(ns.namespace("empty").keys("*")), [])
      }))

    test("streams many keys", ({ ns }) =>
      Effect.gen(function* () {
        const many = Array.from({ length: 1_000 }, (_, i) => `k${i}`)
        yield* ns.setMany(many.map((key) => [key, 0] as const))
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), sorted(many))
        assert.strictEqual(yield* ns.deletePattern("k*"), 1_000)
      }))

    for (const [glob, matches] of globCases) {
      test(`glob ${JSON.stringify(glob)}`, ({ ns }) =>
        Effect.gen(function* () {
          yield* ns.setMany(globKeys.map((key) => [key, key] as const))
          assert.deepStrictEqual(yield* collectKeys(ns.keys(glob)), sorted(matches))
        }))
    }

    test("lists exactly the keys written, whatever they end in (no user key is taken for bookkeeping)", ({ ns }) =>
      Effect.gen(function* () {
        const written = ["lock", "block", "a:lock", "a lock", "k\\0lock", "k0lock", "tag", "a:tag:b"]
        yield* ns.setMany(written.map((key) => [key, key] as const))
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), sorted(written))
        assert.deepStrictEqual(yield* collectKeys(ns.keys("*lock")), sorted(written.filter((k) => k.endsWith("lock"))))
        assert.strictEqual(yield* ns.deletePattern("*lock"), 6)
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["a:tag:b", "tag"])
      }))

    prop(
      "an escaped key matches only itself",
      { key: FastCheck.string({ unit: "grapheme", minLength: 1, maxLength: 12 }) },
      ({ key }, { ns }) =>
        Effect.gen(function* () {
          yield* ns.setMany([
            [key, 1],
            [`${key}x`, 2],
            [`x${key}`, 3]
          ])
          assert.deepStrictEqual(yield* collectKeys(ns.keys(escapeGlob(key))), [key])
        })
    )
  })

  describe("deletePattern", () => {
    for (const [glob, matches] of globCases) {
      test(`glob ${JSON.stringify(glob)} deletes exactly the matching keys`, ({ ns }) =>
        Effect.gen(function* () {
          yield* ns.setMany(globKeys.map((key) => [key, key] as const))
          const expected = new Set(matches)
          assert.strictEqual(yield* ns.deletePattern(glob), expected.size)
          assert.deepStrictEqual(yield* collectKeys(ns.keys()), sorted(globKeys.filter((key) => !expected.has(key))))
        }))
    }

    test("touches only this view's keys", ({ root, ns, rootKey }) =>
      Effect.gen(function* () {
        const view = ns.namespace("view")
        const sibling = ns.namespace("sibling")
        const parentKey = rootKey("user:1")
        yield* view.setMany([
          ["user:1", 1],
          ["user:2", 2],
          ["post:1", 3]
        ])
        yield* sibling.set("user:1", "sibling")
        yield* ns.set("user:1", "parent")
        yield* root.set(parentKey, "root")
        assert.strictEqual(yield* view.deletePattern("user:*"), 2)
        assert.deepStrictEqual(yield* collectKeys(view.keys()), ["post:1"])
        expectHit(yield* sibling.get("user:1"), "sibling")
        expectHit(yield* ns.get("user:1"), "parent")
        expectHit(yield* root.get(parentKey), "root")
        assert.strictEqual(yield* view.deletePattern("*"), 1)
        assert.strictEqual(yield* view.deletePattern("*"), 0)
        expectHit(yield* sibling.get("user:1"), "sibling")
      }))
  })

  describe("namespace", () => {
    test("lives under <prefix><name>:", ({ root, ns, id }) =>
      Effect.sync(() => {
        assert.isString(root.prefix)
        assert.strictEqual(ns.prefix, `${root.prefix}${id}:`)
        const users = ns.namespace("users")
        assert.strictEqual(users.prefix, `${root.prefix}${id}:users:`)
        assert.strictEqual(users.namespace("admins").prefix, `${root.prefix}${id}:users:admins:`)
        assert.strictEqual(ns.forSchema(Schema.Number).prefix, ns.prefix)
      }))

    test("the parent sees a namespace's keys as <name>:key", ({ root, ns, id }) =>
      Effect.gen(function* () {
        const users = ns.namespace("users")
        yield* users.set("1", "Ada")
        yield* users.namespace("admins").set("2", "Grace")
        assert.deepStrictEqual(yield* collectKeys(users.keys()), ["1", "admins:2"])
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["users:1", "users:admins:2"])
        expectHit(yield* ns.get("users:1"), "Ada")
        expectHit(yield* users.get("admins:2"), "Grace")
        assert.deepStrictEqual(yield* collectKeys(root.keys(`${id}:*`)), [`${id}:users:1`, `${id}:users:admins:2`])
        // Written through the parent under the namespace's prefix, a key is the namespace's.
        yield* ns.set("users:3", "Edsger")
        expectHit(yield* users.get("3"), "Edsger")
      }))

    test("keeps a namespace's keys apart from same-named keys elsewhere", ({ root, ns, rootKey }) =>
      Effect.gen(function* () {
        const key = rootKey("k")
        const a = ns.namespace("a")
        const b = ns.namespace("b")
        yield* a.set(key, "a")
        yield* b.set(key, "b")
        yield* root.set(key, "root")
        expectHit(yield* a.get(key), "a")
        expectHit(yield* b.get(key), "b")
        expectHit(yield* root.get(key), "root")
        assert.isTrue(yield* a.delete(key))
        expectHit(yield* b.get(key), "b")
        expectHit(yield* root.get(key), "root")
      }))

    test("names with glob metacharacters are literal", ({ ns }) =>
      Effect.gen(function* () {
        const names = ["a*", "ab", "a?", "a[b]", "a\\", "a"]
        for (const name of names) {
          yield* ns.namespace(name).setMany([
            ["k", name],
            ["other", name]
          ])
        }
        for (const name of names) {
          const view = ns.namespace(name)
          assert.deepStrictEqual(yield* collectKeys(view.keys()), ["k", "other"], `keys of ${name}`)
          assert.deepStrictEqual(yield* collectKeys(view.keys("k")), ["k"], `keys("k") of ${name}`)
        }
        assert.strictEqual(yield* ns.namespace("a*").deletePattern("*"), 2)
        assert.strictEqual(yield* ns.namespace("a?").clear(), 2)
        assert.strictEqual(yield* ns.namespace("a[b]").deletePattern("k"), 1)
        assert.strictEqual(yield* ns.namespace("a\\").clear(), 2)
        assert.deepStrictEqual(
          yield* collectKeys(ns.keys()),
          ["a:k", "a:other", "a[b]:other", "ab:k", "ab:other"].sort()
        )
      }))
  })

  describe("clear", () => {
    test("deletes this namespace's keys and nothing else", ({ root, ns, rootKey }) =>
      Effect.gen(function* () {
        const view = ns.namespace("view")
        const sibling = ns.namespace("viewer")
        const parentKey = rootKey("k")
        yield* view.setMany([
          ["a", 1],
          ["b", 2]
        ])
        yield* view.namespace("child").set("c", 3)
        yield* sibling.set("a", "sibling")
        yield* ns.set("view", "parent, same name")
        yield* ns.set("viewa", "parent, shares the prefix without the colon")
        yield* root.set(parentKey, "root")
        assert.strictEqual(yield* view.clear(), 3)
        assert.deepStrictEqual(yield* collectKeys(view.keys()), [])
        expectHit(yield* sibling.get("a"), "sibling")
        expectHit(yield* ns.get("view"), "parent, same name")
        expectHit(yield* ns.get("viewa"), "parent, shares the prefix without the colon")
        expectHit(yield* root.get(parentKey), "root")
        assert.strictEqual(yield* view.clear(), 0)
      }))

    test("of a child namespace leaves its parent's other keys", ({ ns }) =>
      Effect.gen(function* () {
        const parent = ns.namespace("parent")
        yield* parent.set("own", 1)
        yield* parent.namespace("child").set("k", 2)
        assert.strictEqual(yield* parent.namespace("child").clear(), 1)
        assert.deepStrictEqual(yield* collectKeys(parent.keys()), ["own"])
      }))

    test("of a schema view clears the same key space as its base view", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.namespace("typed")
        yield* view.set("a", 1)
        yield* view.set("b", 2)
        assert.strictEqual(yield* view.forSchema(Schema.Number).clear(), 2)
        assert.isFalse(yield* view.has("a"))
      }))
  })
}
