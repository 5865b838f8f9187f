/**
 * Cachet's spans and metrics in OpenTelemetry, wired by `@effect/opentelemetry`'s layer and nothing else. Runs on
 * the memory backend and prints what the SDK's in-memory exporters received; in production the exporters would be
 * OTLP ones. Run it with `npx tsx --conditions=@cachet/source examples/opentelemetry.ts`.
 */
import { Cache } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { AggregationTemporality, MetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

/** A metric reader that this program reads when it wants to (a periodic OTLP reader in production). */
class OnDemandReader extends MetricReader {
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

const spans = new InMemorySpanExporter()
const metrics = new OnDemandReader()

const Telemetry = NodeSdk.layer(() => ({
  resource: { serviceName: "cachet-example" },
  spanProcessor: new SimpleSpanProcessor(spans),
  metricReader: metrics
}))

// A request handler: its cache calls become child spans of its span.
const handleRequest = (userId: number) =>
  Effect.gen(function* () {
    const users = (yield* Cache.Cache).namespace("users")
    return yield* users.getOrSet(`user:${userId}`, Effect.succeed({ id: userId, name: "Ada" }), {
      timeToLive: "1 minute"
    })
  }).pipe(Effect.withSpan("GET /users/:id"))

const program = Effect.gen(function* () {
  yield* handleRequest(1)
  yield* handleRequest(1)

  yield* Console.log("spans:")
  for (const span of spans.getFinishedSpans()) {
    const attributes = Object.entries(span.attributes)
      .map(([name, value]) => `${name}=${String(value)}`)
      .join(" ")
    yield* Console.log(`  ${span.name} ${attributes}`)
  }

  const { resourceMetrics } = yield* Effect.promise(() => metrics.collect())
  yield* Console.log("metrics:")
  for (const metric of resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)) {
    if (metric.descriptor.name !== "cachet_operations_total") continue
    for (const point of metric.dataPoints) {
      const labels = Object.entries(point.attributes)
        .map(([name, value]) => `${name}=${String(value)}`)
        .join(" ")
      yield* Console.log(`  ${metric.descriptor.name}{${labels}} ${String(point.value)}`)
    }
  }
})

Effect.runPromise(program.pipe(Effect.provide(MemoryCache.layer()), Effect.provide(Telemetry)))
