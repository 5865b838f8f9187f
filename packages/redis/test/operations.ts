/**
 * Generated backend operations, shared by the differential test (memory against Redis) and the batching test
 * (concurrent against one at a time): the operations, how to run one under a prefix, and its answer in a form that
 * compares across backends and runs. Values are text or bytes, read back through the text reads and the byte reads
 * (`Backend.bytes`).
 */
import type { Backend } from "@cachet/core/Backend"
import type { CacheError } from "@cachet/core/CacheError"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"

export const names = ["a", "b", "ab", "a*", "a?b", "[x]", "x", "\\", "a\\*", "ключ", "日本", "é", "🙂", "a b", "*", "?"]
const values = [
  "v",
  "",
  "0",
  "1",
  "-1",
  "-0",
  "007",
  "+5",
  " 5",
  "5 ",
  "1e3",
  "1.5",
  "9007199254740991",
  "9007199254740992",
  "-9007199254740993",
  "9223372036854775806",
  "9223372036854775807",
  "9223372036854775808",
  "-9223372036854775807",
  "-9223372036854775808",
  "-9223372036854775809",
  "ключ",
  '{"a":1}'
]
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
// Bytes as a binary codec writes them: not UTF-8, empty, a gzip header, digits (a counter), a BOM before digits
// (text, but not an integer to Redis), and the UTF-8 of a text value (equal to it, byte for byte).
const byteValues = [
  Uint8Array.of(0xff, 0x00, 0xc3),
  new Uint8Array(0),
  Uint8Array.of(0x1f, 0x8b, 0x08, 0x00),
  utf8("42"),
  Uint8Array.of(0xef, 0xbb, 0xbf, 0x35),
  utf8("ключ"),
  Uint8Array.from({ length: 256 }, (_, i) => i)
]
const amounts = [0n, 1n, -1n, 7n, 2n ** 53n, -(2n ** 53n), 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n)]
const timeToLives = [undefined, undefined, 1, 3, 60_000, 3_600_000, 2 ** 31]
const globPieces = [
  "*",
  "?",
  "a",
  "b",
  "x",
  "[a-c]",
  "[c-a]",
  "[^a]",
  "[ab]",
  "\\*",
  "\\?",
  "\\",
  "[",
  "]",
  "[a",
  "[]",
  "[\\]]",
  "ключ",
  "日",
  "?本",
  "🙂"
]

/** A "short" time-to-live may expire between two commands: after one, both backends wait it out. */
const isShort = (timeToLive: number | undefined) => timeToLive !== undefined && timeToLive < 50

export type Op =
  | { readonly _tag: "get"; readonly key: string }
  | { readonly _tag: "getWithTimeToLive"; readonly key: string }
  | { readonly _tag: "getMany"; readonly keys: ReadonlyArray<string> }
  | { readonly _tag: "getAndExpire"; readonly key: string; readonly timeToLive: number | undefined }
  | { readonly _tag: "getBytes"; readonly key: string }
  | { readonly _tag: "getWithTimeToLiveBytes"; readonly key: string }
  | { readonly _tag: "getManyBytes"; readonly keys: ReadonlyArray<string> }
  | { readonly _tag: "set"; readonly key: string; readonly value: Value; readonly timeToLive: number | undefined }
  | { readonly _tag: "setKeepingTimeToLive"; readonly key: string; readonly value: Value }
  | {
      readonly _tag: "setMany"
      readonly entries: ReadonlyArray<{ key: string; value: Value; timeToLive: number | undefined }>
    }
  | { readonly _tag: "add"; readonly key: string; readonly value: Value; readonly timeToLive: number | undefined }
  | { readonly _tag: "delete"; readonly keys: ReadonlyArray<string> }
  | { readonly _tag: "deleteIfEquals"; readonly key: string; readonly value: string }
  | { readonly _tag: "has"; readonly key: string }
  | { readonly _tag: "timeToLive"; readonly key: string }
  | { readonly _tag: "expire"; readonly key: string; readonly timeToLive: number }
  | { readonly _tag: "persist"; readonly key: string }
  | { readonly _tag: "increment"; readonly key: string; readonly by: bigint }
  | { readonly _tag: "scan"; readonly glob: string }
  | {
      readonly _tag: "tagAdd"
      readonly tag: string
      readonly members: ReadonlyArray<{ key: string; timeToLive: number | undefined }>
    }
  | { readonly _tag: "tagTake"; readonly tag: string; readonly token: string; readonly timeToLive: number }
  | { readonly _tag: "tagTimeToLive"; readonly tag: string; readonly of: "index" | "epoch" }

// Weighted towards a few names and integer-looking values, so that sequences touch the same keys often.
const key = FastCheck.oneof(
  { weight: 4, arbitrary: FastCheck.constantFrom("a", "ab", "a*", "ключ") },
  { weight: 1, arbitrary: FastCheck.constantFrom(...names) }
)
const text = FastCheck.oneof(
  {
    weight: 2,
    arbitrary: FastCheck.constantFrom("9007199254740991", "9223372036854775806", "-9223372036854775807", "0")
  },
  { weight: 3, arbitrary: FastCheck.constantFrom(...values) }
)
const value: FastCheck.Arbitrary<Value> = FastCheck.oneof(
  { weight: 3, arbitrary: text },
  { weight: 1, arbitrary: FastCheck.constantFrom(...byteValues) }
)
const timeToLive = FastCheck.constantFrom(...timeToLives)
const tag = FastCheck.constantFrom("red", "green")

/** A tag's index and epoch, named as the core names them (one hash slot; `\u0000` keeps them from user keys). */
const tagKeys = (prefix: string, name: string) => ({
  index: `${prefix}\u0000tag{${name}}index`,
  epoch: `${prefix}\u0000tag{${name}}epoch`
})

const glob = FastCheck.oneof(
  {
    weight: 4,
    arbitrary: FastCheck.constantFrom("*", "a*", "a?", "a\\*", "[a-z]*", "[^a]*", "?", "??", "*b", "ключ", "[日]*")
  },
  {
    weight: 3,
    arbitrary: FastCheck.array(FastCheck.constantFrom(...globPieces), { minLength: 1, maxLength: 4 }).map((p) =>
      p.join("")
    )
  }
)

const op: FastCheck.Arbitrary<Op> = FastCheck.oneof(
  FastCheck.record({ _tag: FastCheck.constant("get" as const), key }),
  FastCheck.record({ _tag: FastCheck.constant("getWithTimeToLive" as const), key }),
  FastCheck.record({ _tag: FastCheck.constant("getMany" as const), keys: FastCheck.array(key, { maxLength: 4 }) }),
  FastCheck.record({ _tag: FastCheck.constant("getBytes" as const), key }),
  FastCheck.record({ _tag: FastCheck.constant("getWithTimeToLiveBytes" as const), key }),
  FastCheck.record({
    _tag: FastCheck.constant("getManyBytes" as const),
    keys: FastCheck.array(key, { maxLength: 4 })
  }),
  FastCheck.record({ _tag: FastCheck.constant("set" as const), key, value, timeToLive }),
  // GETEX: PX, PERSIST (`undefined`) and the read-then-delete of zero (PXAT in the past).
  FastCheck.record({
    _tag: FastCheck.constant("getAndExpire" as const),
    key,
    timeToLive: FastCheck.constantFrom(undefined, 0, 1, 60_000, 2 ** 31)
  }),
  FastCheck.record({ _tag: FastCheck.constant("setKeepingTimeToLive" as const), key, value }),
  FastCheck.record({
    _tag: FastCheck.constant("setMany" as const),
    entries: FastCheck.array(FastCheck.record({ key, value, timeToLive }), { minLength: 1, maxLength: 3 })
  }),
  FastCheck.record({ _tag: FastCheck.constant("add" as const), key, value, timeToLive }),
  FastCheck.record({ _tag: FastCheck.constant("delete" as const), keys: FastCheck.array(key, { maxLength: 3 }) }),
  FastCheck.record({ _tag: FastCheck.constant("deleteIfEquals" as const), key, value: text }),
  FastCheck.record({ _tag: FastCheck.constant("has" as const), key }),
  FastCheck.record({ _tag: FastCheck.constant("timeToLive" as const), key }),
  FastCheck.record({
    _tag: FastCheck.constant("expire" as const),
    key,
    timeToLive: FastCheck.constantFrom(1, 60_000, 2 ** 31)
  }),
  FastCheck.record({ _tag: FastCheck.constant("persist" as const), key }),
  FastCheck.record({ _tag: FastCheck.constant("increment" as const), key, by: FastCheck.constantFrom(...amounts) }),
  FastCheck.record({ _tag: FastCheck.constant("increment" as const), key, by: FastCheck.constantFrom(...amounts) }),
  FastCheck.record({
    _tag: FastCheck.constant("scan" as const),
    glob
  }),
  FastCheck.record({
    _tag: FastCheck.constant("tagAdd" as const),
    tag,
    members: FastCheck.array(FastCheck.record({ key, timeToLive }), { maxLength: 3 })
  }),
  FastCheck.record({
    _tag: FastCheck.constant("tagAdd" as const),
    tag,
    members: FastCheck.array(FastCheck.record({ key, timeToLive }), { maxLength: 3 })
  }),
  FastCheck.record({
    _tag: FastCheck.constant("tagTake" as const),
    tag,
    token: FastCheck.constantFrom("t1", "t2", "t3"),
    timeToLive: FastCheck.constantFrom(2, 60_000)
  }),
  FastCheck.record({
    _tag: FastCheck.constant("tagTimeToLive" as const),
    tag,
    of: FastCheck.constantFrom("index" as const, "epoch" as const)
  })
)

// Each sequence starts from a few entries, so that scans, counters and expiries meet existing keys.
const seed = FastCheck.array(
  FastCheck.record({
    key: FastCheck.constantFrom(...names),
    value,
    timeToLive: FastCheck.constantFrom(undefined, 60_000)
  }),
  { minLength: 2, maxLength: 10 }
).map((entries): Op => ({ _tag: "setMany", entries }))

/** A generated sequence: a few entries written, then up to 30 operations. */
export const sequence: FastCheck.Arbitrary<ReadonlyArray<Op>> = FastCheck.tuple(
  seed,
  FastCheck.array(op, { minLength: 1, maxLength: 30 })
).map(([first, rest]) => [first, ...rest])

/** Remaining milliseconds agree within a margin; -1 and -2 exactly. */
const ttlClass = (ms: number): string | number => (ms < 0 ? ms : ms > 60_000 ? `long:${Math.round(ms / 1e6)}` : "short")

const normalize = (answer: unknown): unknown => {
  if (typeof answer === "bigint") return `${answer}n`
  return answer
}

type Value = string | Uint8Array
const decoder = new TextDecoder("utf-8", { ignoreBOM: true })

// A read answers a value in either form; the core hands a text codec the text and a binary codec the bytes, UTF-8
// between the two. Those are what must agree across backends.
const asText = (read: Value | undefined): string | undefined =>
  read === undefined || typeof read === "string" ? read : decoder.decode(read)
const asBytes = (read: Value | undefined): string | undefined =>
  read === undefined ? read : `bytes:${Buffer.from(typeof read === "string" ? utf8(read) : read).toString("hex")}`

const run = (backend: Backend, prefix: string, o: Op): Effect.Effect<unknown, CacheError> => {
  const k = (name: string) => prefix + name
  switch (o._tag) {
    case "get":
      return Effect.map(backend.get(k(o.key)), asText)
    case "getWithTimeToLive":
      return Effect.map(backend.getWithTimeToLive(k(o.key)), (r) =>
        r === undefined ? undefined : { value: asText(r.value), timeToLive: ttlClass(r.timeToLive) }
      )
    case "getMany":
      return Effect.map(backend.getMany(o.keys.map(k)), (reads) => reads.map(asText))
    case "getBytes":
      return Effect.map((backend.bytes ?? backend).get(k(o.key)), asBytes)
    case "getWithTimeToLiveBytes":
      return Effect.map((backend.bytes ?? backend).getWithTimeToLive(k(o.key)), (r) =>
        r === undefined ? undefined : { value: asBytes(r.value), timeToLive: ttlClass(r.timeToLive) }
      )
    case "getManyBytes":
      return Effect.map((backend.bytes ?? backend).getMany(o.keys.map(k)), (reads) => reads.map(asBytes))
    case "getAndExpire":
      return Effect.map(backend.getAndExpire(k(o.key), o.timeToLive), asText)
    case "set":
      return backend.set(k(o.key), o.value, o.timeToLive)
    case "setKeepingTimeToLive":
      return backend.setKeepingTimeToLive(k(o.key), o.value)
    case "setMany":
      return backend.setMany(o.entries.map((e) => ({ ...e, key: k(e.key) })))
    case "add":
      return backend.add(k(o.key), o.value, o.timeToLive)
    case "delete":
      return backend.delete(o.keys.map(k))
    case "deleteIfEquals":
      return backend.deleteIfEquals(k(o.key), o.value)
    case "has":
      return backend.has(k(o.key))
    case "timeToLive":
      return Effect.map(backend.timeToLive(k(o.key)), ttlClass)
    case "expire":
      return backend.expire(k(o.key), o.timeToLive)
    case "persist":
      return backend.persist(k(o.key))
    case "increment":
      return backend.increment(k(o.key), o.by)
    case "tagAdd": {
      const { index, epoch } = tagKeys(prefix, o.tag)
      return backend.tagAdd === undefined
        ? Effect.die("no tagAdd")
        : backend.tagAdd(
            index,
            epoch,
            o.members.map((m) => ({ ...m, key: k(m.key) }))
          )
    }
    case "tagTake": {
      const { index, epoch } = tagKeys(prefix, o.tag)
      return backend.tagTake === undefined
        ? Effect.die("no tagTake")
        : Effect.map(backend.tagTake(index, epoch, o.token, o.timeToLive), (members) =>
            [...members].map((full) => full.slice(prefix.length)).sort()
          )
    }
    case "tagTimeToLive":
      // One command per operation, so that the batching test's concurrent run keeps them in order.
      return Effect.map(backend.timeToLive(tagKeys(prefix, o.tag)[o.of]), ttlClass)
    case "scan":
      // The prefix has no glob metacharacter, so it needs no escaping.
      return Effect.map(Stream.runCollect(backend.scan(prefix + o.glob)), (batches) =>
        [...new Set(Chunk.toReadonlyArray(batches).flat())].map((full) => full.slice(prefix.length)).sort()
      )
  }
}

export const waitsOut = (o: Op): boolean =>
  o._tag === "set" || o._tag === "add"
    ? isShort(o.timeToLive)
    : o._tag === "setMany"
      ? o.entries.some((e) => isShort(e.timeToLive))
      : o._tag === "tagAdd"
        ? o.members.some((m) => isShort(m.timeToLive))
        : (o._tag === "expire" || o._tag === "getAndExpire" || o._tag === "tagTake") && isShort(o.timeToLive)

/** An effect's answer, comparable across backends and runs: its value, or its error's tag and code. */
export const answerOf = (effect: Effect.Effect<unknown, CacheError>) =>
  Effect.match(effect, {
    onSuccess: (a) => ({ ok: normalize(a) }),
    onFailure: (error) => ({ error: `${error._tag}:${"code" in error ? error.code : ""}` })
  })

export const answer = (backend: Backend, prefix: string, o: Op) => answerOf(run(backend, prefix, o))

type Answer = { readonly ok: unknown } | { readonly error: string }

/**
 * The answer of `getMany(keys)`, and the one that `get` of each key implies: the first failure in key order, or
 * every value. A backend must give the same two.
 */
export const getManyAndEachGet = (backend: Backend, keys: ReadonlyArray<string>) =>
  Effect.all([
    answerOf(backend.getMany(keys)),
    Effect.map(
      Effect.forEach(keys, (key) => answerOf(backend.get(key))),
      (answers): Answer => answers.find((a) => "error" in a) ?? { ok: answers.map((a) => ("ok" in a ? a.ok : a)) }
    )
  ])
