import { CacheError } from "@cachet/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { withContext } from "../src/internal/relabel.js"

const secret = "hunter2-s3cret"
const personal = "ada@example.com"

const all: ReadonlyArray<CacheError.CacheError> = [
  new CacheError.CacheUnavailableError({
    operation: "get",
    key: personal,
    code: "AUTH_FAILED",
    cause: new Error(secret)
  }),
  new CacheError.CacheTimeoutError({ operation: "get", key: personal, code: "COMMAND_TIMEOUT", cause: secret }),
  new CacheError.CacheEncodeError({ operation: "set", key: personal, code: "UNSUPPORTED_VALUE", cause: secret }),
  new CacheError.CacheDecodeError({ operation: "get", key: personal, code: "SCHEMA_MISMATCH", cause: secret }),
  new CacheError.CacheCommandError({ operation: "increment", key: personal, code: "OVERFLOW", cause: secret }),
  new CacheError.CacheInvalidInputError({ operation: "set", code: "INVALID_KEY", reason: "key is empty" })
]

describe("CacheError", () => {
  it("every error is recognised, tagged and keeps the cause out of the message", () => {
    for (const error of all) {
      assert.isTrue(CacheError.isCacheError(error))
      assert.notInclude(error.message, secret)
      assert.notInclude(error.message, personal)
      assert.notInclude(String(error), personal)
      assert.include(error.message, error.operation)
      assert.isString(error.code)
    }
    assert.isFalse(CacheError.isCacheError(new Error("x")))
    assert.isFalse(CacheError.isCacheError(null))
  })

  it("only unavailable and timeout errors are retryable", () => {
    assert.deepStrictEqual(
      all.map((error) => CacheError.isRetryable(error)),
      [true, true, false, false, false, false]
    )
  })

  it("withContext re-labels operation and key and keeps the code and cause", () => {
    for (const error of all) {
      const relabelled = withContext(error, "getOrSet", "user:1")
      assert.strictEqual(relabelled._tag, error._tag)
      assert.strictEqual(relabelled.code, error.code)
      assert.strictEqual(relabelled.cause, error.cause)
      assert.strictEqual(relabelled.operation, "getOrSet")
      assert.strictEqual(relabelled.key, "user:1")
    }
  })

  it.effect("errors are yieldable into the error channel", () =>
    Effect.gen(function* () {
      const error = new CacheError.CacheTimeoutError({ operation: "get", code: "COMMAND_TIMEOUT" })
      const exit = yield* Effect.exit(error)
      assert.deepStrictEqual(exit, Exit.fail(error))
    })
  )

  it("an unavailable or timed-out connection names its server and detail in the message, also re-labelled", () => {
    const located = [
      new CacheError.CacheUnavailableError({
        operation: "connect",
        code: "UNAVAILABLE",
        server: "sentinels 10.0.0.1:26379",
        detail: 'the sentinels know no master named "nope"'
      }),
      new CacheError.CacheTimeoutError({
        operation: "connect",
        code: "CONNECT_TIMEOUT",
        server: "10.0.0.1:6380",
        detail: "is the server expecting TLS? use rediss:// or tls"
      })
    ]
    assert.strictEqual(
      located[0]?.message,
      'connect (sentinels 10.0.0.1:26379): backend unavailable (the sentinels know no master named "nope")'
    )
    assert.strictEqual(
      located[1]?.message,
      "connect (10.0.0.1:6380): could not connect within the connect timeout (is the server expecting TLS? use rediss:// or tls)"
    )
    for (const error of located) {
      const relabelled = withContext(error, "get", "user:1")
      assert.include(relabelled.message, "get (")
      if (relabelled._tag === "CacheUnavailableError" || relabelled._tag === "CacheTimeoutError") {
        assert.strictEqual(relabelled.server, error.server)
        assert.strictEqual(relabelled.detail, error.detail)
      } else assert.fail("re-labelled as another kind")
    }
  })
})
