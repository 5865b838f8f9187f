import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"

interface Recorded {
  readonly name: string
  readonly kind: Tracer.SpanKind
  readonly attributes: ReadonlyMap<string, unknown>
}

/** Effect's own tracer, recording every span it makes. */
const recording = Effect.map(Effect.tracer, (inner) => {
  const spans: Array<Recorded> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = inner.span(name, parent, context, links, startTime, kind, options)
      spans.push({ name, kind, attributes: span.attributes })
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
