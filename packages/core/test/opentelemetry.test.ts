/**
 * OpenTelemetry through `@effect/opentelemetry` and nothing else: the spans and metrics a cache emits reach the SDK's
 * in-memory exporters with the names and attributes of OpenTelemetry's database conventions, keys only with
 * `spanKeys`.
 */

import { MemoryCache } from "@cachet/memory"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { SpanKind, SpanStatusCode } from "@opentelemetry/api"
import { AggregationTemporality, type DataPoint, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"

/** A metric reader read on demand. */
class InMemoryReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

const sdk = () => {
  const spans = new InMemorySpanExporter()
  const reader = new InMemoryReader()
  const layer = NodeSdk.layer(() => ({
    resource: { serviceName: "cachet-test" },
    spanProcessor: new SimpleSpanProcessor(spans),
    metricReader: reader
  }))
  return { spans, reader, layer }
}

const cachetSpans = (exporter: InMemorySpanExporter): ReadonlyArray<ReadableSpan> =>
  exporter.getFinishedSpans().filter((span) => span.name.startsWith("cachet."))

/** The data points of one metric, across every scope the reader collected. */
const points = (collected: ResourceMetrics, name: string): ReadonlyArray<DataPoint<unknown>> =>
  collected.scopeMetrics.flatMap((scope) =>
    scope.metrics
      .filter((metric) => metric.descriptor.name === name)
      .flatMap((metric): ReadonlyArray<DataPoint<unknown>> => metric.dataPoints)
  )

describe("OpenTelemetry", () => {
  it.scoped(
    "operations inside a trace arrive as client spans named cachet.<operation>, keys only with spanKeys",
    () => {
      const { spans, layer } = sdk()
      return Effect.gen(function* () {
        const cache = yield* MemoryCache.make({ prefix: "app:" })
        const users = cache.namespace("users")
        const withKeys = yield* MemoryCache.make({ prefix: "keyed:", spanKeys: true })

        yield* Effect.gen(function* () {
          yield* cache.set("user@example.com", 1)
          yield* cache.get("user@example.com")
          yield* users.get("absent@example.com")
          yield* Effect.flip(cache.set("not-a-counter", "text").pipe(Effect.zipRight(cache.increment("not-a-counter"))))
          yield* withKeys.get("shown@example.com")
        }).pipe(Effect.withSpan("request"))

        const exported = cachetSpans(spans)
        assert.deepStrictEqual(
          exported.map((span) => span.name),
          ["cachet.set", "cachet.get", "cachet.get", "cachet.set", "cachet.increment", "cachet.get"]
        )
        const request = spans.getFinishedSpans().find((span) => span.name === "request")
        for (const span of exported) {
          assert.strictEqual(span.kind, SpanKind.CLIENT)
          assert.strictEqual(span.parentSpanContext?.spanId, request?.spanContext().spanId)
          assert.strictEqual(span.attributes["db.system.name"], "memory")
          assert.strictEqual(span.attributes["cachet.tier"], "remote")
          // A memory backend has no server.
          assert.isUndefined(span.attributes["server.address"])
        }
        const [set, hit, miss, , failed, keyed] = exported
        assert.deepStrictEqual(
          [set, hit, miss, failed].map((span) => span?.attributes),
          [
            { op: "set", outcome: "ok", namespace: "app:" },
            { op: "get", outcome: "hit", namespace: "app:" },
            { op: "get", outcome: "miss", namespace: "app:users:" },
            { op: "increment", outcome: "error", namespace: "app:" }
          ].map(({ op, outcome, namespace }) => ({
            "db.system.name": "memory",
            "db.operation.name": op,
            "db.namespace": namespace,
            "cachet.tier": "remote",
            "cachet.outcome": outcome
          }))
        )
        assert.strictEqual(failed?.status.code, SpanStatusCode.ERROR)
        // No key anywhere without spanKeys; with it, the key as the caller gave it.
        const values = exported.slice(0, -1).flatMap((span) => Object.values(span.attributes).map(String))
        assert.isFalse(values.some((value) => value.includes("@example.com") || value.includes("not-a-counter")))
        assert.strictEqual(keyed?.attributes["cachet.key"], "shown@example.com")
        assert.strictEqual(keyed?.attributes["cachet.outcome"], "miss")
      }).pipe(Effect.provide(layer))
    }
  )

  it.scoped("metrics arrive with their names and labels", () => {
    const { reader, layer } = sdk()
    return Effect.gen(function* () {
      // A namespace of its own: metrics are global, and this test counts only its series.
      const cache = (yield* MemoryCache.make()).namespace("otel-metrics")
      yield* cache.set("k", 1)
      yield* cache.get("k")
      yield* cache.get("k")
      yield* cache.get("absent")

      const { resourceMetrics, errors } = yield* Effect.promise(() => reader.collect())
      assert.deepStrictEqual(errors, [])
      const operations = points(resourceMetrics, "cachet_operations_total").filter(
        (point) => point.attributes.namespace === "otel-metrics"
      )
      const count = (operation: string, outcome: string) =>
        operations.find((point) => point.attributes.operation === operation && point.attributes.outcome === outcome)
          ?.value
      assert.deepStrictEqual(
        { setOk: count("set", "ok"), getHit: count("get", "hit"), getMiss: count("get", "miss") },
        { setOk: 1, getHit: 2, getMiss: 1 }
      )
      assert.deepStrictEqual(operations[0]?.attributes.backend, "memory")

      const durations = points(resourceMetrics, "cachet_operation_duration_seconds").filter(
        (point) => point.attributes.namespace === "otel-metrics" && point.attributes.operation === "get"
      )
      const histogram = durations[0]?.value
      assert.strictEqual(
        typeof histogram === "object" && histogram !== null && "count" in histogram && histogram.count,
        3
      )
    }).pipe(Effect.provide(layer))
  })
})
