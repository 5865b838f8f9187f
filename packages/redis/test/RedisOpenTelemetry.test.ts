/**
 * OpenTelemetry on Redis: spans name the server they reach (`server.address`, `server.port`), never a credential.
 */

import { server } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

describe("RedisCache and OpenTelemetry", () => {
  it.scopedLive("spans carry db.system.name redis and the server's address and port, and no password", () => {
    const exporter = new InMemorySpanExporter()
    const layer = NodeSdk.layer(() => ({
      resource: { serviceName: "cachet-test" },
      spanProcessor: new SimpleSpanProcessor(exporter)
    }))
    const password = "otel-secret-password"
    return Effect.gen(function* () {
      const s = yield* server(["--requirepass", password])
      const cache = yield* RedisCache.make({
        host: "127.0.0.1",
        port: s.port,
        password: Redacted.make(password),
        prefix: "otel:"
      })
      yield* Effect.withSpan(Effect.zipRight(cache.set("k", 1), cache.get("k")), "request")

      const spans = exporter.getFinishedSpans().filter((span) => span.name.startsWith("cachet."))
      assert.deepStrictEqual(
        spans.map((span) => span.attributes),
        ["set", "get"].map((operation) => ({
          "db.system.name": "redis",
          "db.operation.name": operation,
          "db.namespace": "otel:",
          "server.address": "127.0.0.1",
          "server.port": s.port,
          "cachet.tier": "remote",
          "cachet.outcome": operation === "get" ? "hit" : "ok"
        }))
      )
    }).pipe(Effect.provide(layer))
  })
})
