/**
 * The typed failures of a cache. Each says which operation failed and why, with a stable `code`; the driver's
 * error is kept in `cause` and never copied into `message`, and neither is the key, so no secret, no stored value
 * and no key reaches a log through a message.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@cachet/core/CacheError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Every operation name a `CacheError` (and a metric label, a span name, the retry decision) can carry: the
 * operations of a view, the backend primitives that have no view operation of their own, and a layer's lifecycle.
 * Backends label their errors with these names too; the core then re-labels them with the caller's operation.
 *
 * @since 0.3.0
 * @category models
 */
export const operations = [
  "get",
  "getMany",
  "set",
  "setMany",
  "add",
  "delete",
  "deleteMany",
  "has",
  "timeToLive",
  "expire",
  "persist",
  "increment",
  "decrement",
  "deletePattern",
  "keys",
  "clear",
  "getOrSet",
  "getOrSetMany",
  "invalidateTags",
  "ping",
  "namespace",
  "forSchema",
  "getWithTimeToLive",
  "deleteIfEquals",
  "scan",
  "tagAdd",
  "tagTake",
  "make",
  "connect",
  "layerConfig",
  "parseTimeToLive"
] as const

/**
 * @since 0.3.0
 * @category models
 */
export type Operation = (typeof operations)[number]

const fields = {
  operation: Schema.Literal(...operations),
  key: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}

// Keys can be personal data (an e-mail, a session id), so a message names the operation only: the key stays in the
// error's `key` field, where the program decides whether to log it. Spans follow the same rule (`spanKeys`).
const where = (self: { readonly operation: Operation }): string => self.operation

// Where a connection failure happened and what the driver said of it, for the failures of a backend that can tell.
const connection = {
  /** The server (or the servers tried) as `host:port`, never with a credential. */
  server: Schema.optional(Schema.String),
  /** The driver's reason in a few words, or a hint, when it says more than the code. */
  detail: Schema.optional(Schema.String)
}

const located = (self: { readonly operation: Operation; readonly server?: string | undefined }): string =>
  self.server === undefined ? self.operation : `${self.operation} (${self.server})`

const detailed = (self: { readonly detail?: string | undefined }): string =>
  self.detail === undefined ? "" : ` (${self.detail})`

const literals = <const K extends string>(reasons: Record<K, string>): readonly [K, ...Array<K>] => {
  const [first, ...rest] = Object.keys(reasons) as Array<K>
  if (first === undefined) throw new Error("no literals")
  return [first, ...rest]
}

const unavailableReasons = {
  AUTH_FAILED: "authentication failed (check the username and password)",
  CIRCUIT_OPEN: "backend marked unavailable after repeated failures (circuit open)",
  CONNECTION_REFUSED: "connection refused",
  CONNECTION_RESET: "connection reset",
  CONNECTION_CLOSED: "connection closed",
  CLUSTER_DOWN: "cluster is down or reconfiguring",
  READONLY: "the server is a read-only replica (a failover in progress, or the address of a replica)",
  NOT_CONNECTED: "not connected",
  UNAVAILABLE: "backend unavailable"
} as const

const timeoutReasons = {
  COMMAND_TIMEOUT: "no reply within the command timeout",
  CONNECT_TIMEOUT: "could not connect within the connect timeout",
  LOCK_TIMEOUT: "another process held the key's lock for longer than the lock's wait",
  LOOKUP_TIMEOUT: "the lookup did not answer within getOrSet's hardTimeout (it goes on in the background)"
}

const commandReasons = {
  WRONG_TYPE: "the key holds a value of another type",
  NOT_INTEGER: "the stored value is not an integer or is out of range",
  OVERFLOW: "increment or decrement would overflow a signed 64-bit integer",
  OUT_OF_MEMORY: "the server is out of memory and refuses writes",
  NO_PERMISSION: "the user has no permission for this command or key",
  COMMAND_FAILED: "the server refused the command"
} as const

/**
 * The backend cannot be reached: connection refused, closed or reset, authentication failed, the circuit breaker
 * is open, a Cluster is down or reconfiguring, or a failover left the connection on a read-only replica. Retryable.
 * A backend that knows where it connects says so in `server` (since 0.4.0: `host:port`, never a credential) and,
 * when the code alone does not tell what to do, gives a short reason or hint in `detail`; both are in `message`.
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheUnavailableError extends Schema.TaggedError<CacheUnavailableError>(
  "@cachet/core/CacheUnavailableError"
)("CacheUnavailableError", {
  ...fields,
  ...connection,
  code: Schema.Literal(...literals(unavailableReasons))
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${located(this)}: ${unavailableReasons[this.code]}${detailed(this)}`
  }
}

/**
 * No reply came within the command timeout (the outcome of a write is unknown), the connection was not made within
 * the connect timeout, or a `getOrSet` with `lock` waited in vain for another process's lookup. Retryable.
 * `server` and `detail` as on `CacheUnavailableError`.
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheTimeoutError extends Schema.TaggedError<CacheTimeoutError>("@cachet/core/CacheTimeoutError")(
  "CacheTimeoutError",
  { ...fields, ...connection, code: Schema.Literal(...literals(timeoutReasons)) }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${located(this)}: ${timeoutReasons[this.code]}${detailed(this)}`
  }
}

/**
 * The value cannot be encoded (a BigInt under JSON, a cycle, a schema encode failure). Nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheEncodeError extends Schema.TaggedError<CacheEncodeError>("@cachet/core/CacheEncodeError")(
  "CacheEncodeError",
  {
    ...fields,
    code: Schema.Literal("UNSUPPORTED_VALUE", "SCHEMA_ENCODE_FAILED"),
    /** What failed, never the value: the schema paths that refused it, or the codec's reason. */
    detail: Schema.optional(Schema.String)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const what =
      this.code === "SCHEMA_ENCODE_FAILED"
        ? "the value does not match the schema"
        : "the value cannot be encoded by the codec"
    return `${where(this)}: ${what}${this.detail === undefined ? "" : ` (${this.detail})`}; nothing was written`
  }
}

/**
 * The stored bytes cannot be decoded, or do not match the schema.
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheDecodeError extends Schema.TaggedError<CacheDecodeError>("@cachet/core/CacheDecodeError")(
  "CacheDecodeError",
  {
    ...fields,
    code: Schema.Literal("MALFORMED", "SCHEMA_MISMATCH"),
    /** What failed, never the value: the schema paths that did not match, or the codec's reason. */
    detail: Schema.optional(Schema.String)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const what =
      this.code === "SCHEMA_MISMATCH"
        ? "the stored value does not match the schema"
        : "the stored value cannot be decoded by the codec"
    return `${where(this)}: ${what}${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

/**
 * The server refused the command: wrong type, not an integer, overflow, out of memory, no permission.
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheCommandError extends Schema.TaggedError<CacheCommandError>("@cachet/core/CacheCommandError")(
  "CacheCommandError",
  {
    ...fields,
    code: Schema.Literal(...literals(commandReasons))
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${where(this)}: ${commandReasons[this.code]}`
  }
}

/**
 * A bad argument: a negative or NaN time-to-live, a malformed duration, an empty or non-string key (or one with
 * U+0000 or a lone surrogate), an argument of the wrong shape, a `keys`, `deletePattern` or `clear` without a
 * prefix. Nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheInvalidInputError extends Schema.TaggedError<CacheInvalidInputError>(
  "@cachet/core/CacheInvalidInputError"
)("CacheInvalidInputError", {
  ...fields,
  code: Schema.Literal("INVALID_KEY", "INVALID_TIME_TO_LIVE", "INVALID_DURATION", "EMPTY_PREFIX", "INVALID_ARGUMENT"),
  reason: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.operation}: ${this.reason}`
  }
}

/**
 * Every failure a cache operation can have.
 *
 * @since 0.1.0
 * @category models
 */
export type CacheError =
  | CacheUnavailableError
  | CacheTimeoutError
  | CacheEncodeError
  | CacheDecodeError
  | CacheCommandError
  | CacheInvalidInputError

/**
 * @since 0.1.0
 * @category refinements
 */
export const isCacheError = (u: unknown): u is CacheError => Predicate.hasProperty(u, TypeId)

/**
 * Unavailable and timeout errors may succeed when tried again; the others will not.
 *
 * @example
 * ```ts
 * import { Cache, CacheError } from "@cachet/core"
 * import { Effect, Schedule } from "effect"
 *
 * const read = Cache.get("user:1").pipe(
 *   Effect.retry({ schedule: Schedule.exponential("50 millis"), times: 3, while: CacheError.isRetryable })
 * )
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRetryable = (error: CacheError): error is CacheUnavailableError | CacheTimeoutError =>
  error._tag === "CacheUnavailableError" || error._tag === "CacheTimeoutError"
