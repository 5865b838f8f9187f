import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { operationCount } from "./helpers.js"

interface Recorded {
  readonly name: string
  readonly kind: Tracer.SpanKind
  readonly attributes: ReadonlyMap<string, unknown>
  /** The name of the parent span, when it is one of this tracer's. */
  readonly parent: string | undefined
  readonly span: Tracer.Span
}

/** Effect's own tracer, recording every span it makes. */
const recording = Effect.map(Effect.tracer, (inner) => {
  const spans: Array<Recorded> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = inner.span(name, parent, context, links, startTime, kind, options)
      const parentName = Option.isSome(parent) && parent.value._tag === "Span" ? parent.value.name : undefined
      spans.push({ name, kind, attributes: span.attributes, parent: parentName, span })
      return span
    },
    context: (f, fiber) => inner.context(f, fiber)
  })
  return { spans, tracer }
})

describe("spans", () => {
  it.scoped("inside a trace, every operation is a client span; keys only when asked; none outside a trace", () =>
    Effect.gen(function* () {
      const { spans, tracer } = yield* recording
      const cache = yield* MemoryCache.make()
      const withKeys = yield* MemoryCache.make({ spanKeys: true })

      yield* cache.get("outside")
      yield* Effect.withSpan(Effect.zipRight(cache.set("k", 1), cache.get("k")), "request").pipe(
        Effect.withTracer(tracer)
      )
      yield* Effect.withSpan(withKeys.get("secret-key"), "request").pipe(Effect.withTracer(tracer))

      const names = spans.map((span) => span.name)
      assert.deepStrictEqual(names, ["request", "cachet.set", "cachet.get", "request", "cachet.get"])
      const get = spans[2]
      assert.strictEqual(get?.kind, "client")
      assert.strictEqual(get?.attributes.get("db.system.name"), "memory")
      assert.strictEqual(get?.attributes.get("db.operation.name"), "get")
      assert.strictEqual(get?.attributes.get("db.namespace"), "cachet:")
      assert.strictEqual(get?.attributes.get("cachet.tier"), "remote")
      assert.strictEqual(get?.attributes.get("cachet.outcome"), "hit")
      assert.strictEqual(spans[1]?.attributes.get("cachet.outcome"), "ok")
      assert.strictEqual(spans[4]?.attributes.get("cachet.outcome"), "miss")
      assert.isFalse(get?.attributes.has("server.address"))
      assert.isFalse(get?.attributes.has("cachet.key"))
      assert.strictEqual(spans[4]?.attributes.get("cachet.key"), "secret-key")
    })
  )

  it.scoped("a listing is one span from its start to its end, and counts one operation", () =>
    Effect.gen(function* () {
      const { spans, tracer } = yield* recording
      const namespace = `listing-${Math.random().toString(36).slice(2)}`
      const cache = (yield* MemoryCache.make()).namespace(namespace)
      yield* cache.setMany([
        ["a", 1],
        ["b", 2]
      ])
      yield* Stream.runCollect(cache.keys())
      const listed = yield* Effect.withSpan(Stream.runCollect(cache.keys()), "request").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual([...listed].sort(), ["a", "b"])
      assert.deepStrictEqual(
        spans.map((span) => span.name),
        ["request", "cachet.keys"]
      )
      assert.strictEqual(spans[1]?.attributes.get("db.operation.name"), "keys")
      assert.strictEqual(spans[1]?.attributes.get("cachet.outcome"), "ok")
      assert.strictEqual(yield* operationCount(namespace, "keys", "ok"), 2)
    })
  )

  it.scoped("a getOrSet is one span over its read, its lookup and its store; a failing lookup fails it", () =>
    Effect.gen(function* () {
      const { spans, tracer } = yield* recording
      const cache = yield* MemoryCache.make()
      const lookup = Effect.withSpan(Effect.as(Effect.yieldNow(), "v"), "db.query")
      yield* Effect.withSpan(cache.getOrSet("k", lookup), "request").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(
        spans.map((span) => [span.name, span.parent]),
        [
          ["request", undefined],
          ["cachet.getOrSet", "request"],
          ["db.query", "cachet.getOrSet"],
          ["cachet.set", "cachet.getOrSet"]
        ]
      )
      const [, getOrSet, query] = spans
      assert.strictEqual(getOrSet?.attributes.get("cachet.outcome"), "miss")
      assert.strictEqual(getOrSet?.kind, "client")
      // It ends after its lookup does.
      const ended = (span: Tracer.Span | undefined) => (span?.status._tag === "Ended" ? span.status.endTime : 0n)
      assert.isTrue(ended(getOrSet?.span) >= ended(query?.span))
      // A hit is one span with no children.
      yield* Effect.withSpan(cache.getOrSet("k", lookup), "request").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(
        spans.slice(4).map((span) => [span.name, span.parent, span.attributes.get("cachet.outcome")]),
        [
          ["request", undefined, undefined],
          ["cachet.getOrSet", "request", "hit"]
        ]
      )
      const failed = yield* Effect.withSpan(Effect.exit(cache.getOrSet("x", Effect.fail("down"))), "request").pipe(
        Effect.withTracer(tracer)
      )
      assert.isTrue(failed._tag === "Failure")
      const last = spans.at(-1)
      assert.strictEqual(last?.name, "cachet.getOrSet")
      assert.isTrue(last?.span.status._tag === "Ended" && last.span.status.exit._tag === "Failure")
    })
  )

  it.scoped("spans: false makes none, even inside a trace", () =>
    Effect.gen(function* () {
      const { spans, tracer } = yield* recording
      const cache = yield* MemoryCache.make({ spans: false })
      yield* Effect.withSpan(cache.get("k"), "request").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(
        spans.map((span) => span.name),
        ["request"]
      )
    })
  )
})
