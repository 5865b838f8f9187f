/**
 * Turns whatever ioredis rejects with into a `CacheError`. The driver's error is kept as the `cause`, but as a
 * sanitized copy: ioredis attaches the failed command with its arguments (a `HELLO ... AUTH user password`, a
 * stored value) to reply errors, and a cause is logged and serialized with the error.
 */
import type { Operation } from "@cachet/core/CacheError"
import { CacheCommandError, type CacheError, CacheTimeoutError, CacheUnavailableError } from "@cachet/core/CacheError"

/**
 * The part of a driver error that is safe to keep: its name, message and socket codes, never the command
 * arguments ioredis attaches.
 */
export class RedisDriverError extends Error {
  readonly code: string | undefined
  readonly syscall: string | undefined
  readonly previousErrors: ReadonlyArray<RedisDriverError> | undefined
  /** On a Cluster that could not be reached at all: why the last node failed. */
  readonly lastNodeError: RedisDriverError | undefined
  constructor(
    name: string,
    message: string,
    code: string | undefined,
    syscall: string | undefined,
    previousErrors: ReadonlyArray<RedisDriverError> | undefined,
    lastNodeError: RedisDriverError | undefined
  ) {
    super(message)
    this.name = name
    this.code = code
    this.syscall = syscall
    this.previousErrors = previousErrors
    this.lastNodeError = lastNodeError
  }
}

// A driver error is read defensively: ioredis shares one error among every command of a dropped connection and lists
// it in its own `previousErrors`, and a user's client (or a wrapper around it) may reject with anything at all. So a
// copy keeps at most `maxPrevious` previous errors per error, `maxDepth` levels of nesting and `maxCopies` errors in
// all, drops any error already on the path from the root (a cycle), and treats a field whose read throws as absent.
const maxPrevious = 16
const maxDepth = 4
const maxCopies = 64

const field = (u: object, name: string | number): unknown => {
  try {
    return Reflect.get(u, name)
  } catch {
    return undefined
  }
}

const stringField = (u: object, name: string): string | undefined => {
  const value = field(u, name)
  return typeof value === "string" ? value : undefined
}

const isArray = (u: unknown): u is ReadonlyArray<unknown> => {
  try {
    return Array.isArray(u)
  } catch {
    // A revoked Proxy.
    return false
  }
}

interface Copying {
  /** The errors from the root down to the one being copied. */
  readonly path: Array<object>
  copies: number
}

const copyOf = (u: unknown, copying: Copying): RedisDriverError | undefined => {
  if (typeof u !== "object" || u === null) {
    copying.copies++
    return new RedisDriverError(
      "Error",
      typeof u === "string" ? u : "unknown failure",
      undefined,
      undefined,
      undefined,
      undefined
    )
  }
  if (copying.path.includes(u)) return undefined
  copying.copies++
  const nested = copying.path.length < maxDepth
  copying.path.push(u)
  const previousErrors = nested ? previousOf(field(u, "previousErrors"), copying) : undefined
  const lastNode = nested ? field(u, "lastNodeError") : undefined
  const lastNodeError =
    lastNode === undefined || lastNode === null || copying.copies >= maxCopies ? undefined : copyOf(lastNode, copying)
  copying.path.pop()
  const copy = new RedisDriverError(
    stringField(u, "name") ?? "Error",
    stringField(u, "message") ?? "",
    stringField(u, "code"),
    stringField(u, "syscall"),
    previousErrors,
    lastNodeError
  )
  const stack = stringField(u, "stack")
  if (stack !== undefined) copy.stack = stack
  return copy
}

const previousOf = (previous: unknown, copying: Copying): ReadonlyArray<RedisDriverError> | undefined => {
  if (!isArray(previous)) return undefined
  const length = field(previous, "length")
  const count = typeof length === "number" ? Math.min(length, maxPrevious) : 0
  const copies: Array<RedisDriverError> = []
  for (let i = 0; i < count && copying.copies < maxCopies; i++) {
    const copy = copyOf(field(previous, i), copying)
    if (copy !== undefined) copies.push(copy)
  }
  return copies
}

/** A copy of whatever the driver rejected with, safe to keep and to log; never throws. */
const sanitize = (u: unknown): RedisDriverError =>
  copyOf(u, { path: [], copies: 0 }) ??
  new RedisDriverError("Error", "unknown failure", undefined, undefined, undefined, undefined)

/**
 * A reply of a shape the command never gives (a script answering something else, a batch of the wrong length):
 * mapped to `CacheCommandError` code `COMMAND_FAILED`.
 */
export class UnexpectedReply extends Error {
  override readonly name = "UnexpectedReply"
}

type UnavailableCode = CacheUnavailableError["code"]
type CommandCode = CacheCommandError["code"]

// A Map, not an object: a code such as `constructor` or `__proto__` must find nothing.
const socketCodes: ReadonlyMap<string, UnavailableCode> = new Map([
  ["ECONNREFUSED", "CONNECTION_REFUSED"],
  ["ECONNRESET", "CONNECTION_RESET"],
  ["EPIPE", "CONNECTION_RESET"],
  ["ECONNABORTED", "CONNECTION_RESET"],
  ["ENOTFOUND", "UNAVAILABLE"],
  ["EAI_AGAIN", "UNAVAILABLE"],
  ["EHOSTUNREACH", "UNAVAILABLE"],
  ["ENETUNREACH", "UNAVAILABLE"],
  ["EHOSTDOWN", "UNAVAILABLE"],
  ["ENETDOWN", "UNAVAILABLE"]
])

// A reply error starts with its code word (`WRONGTYPE ...`, `OOM ...`); inside a Lua script Redis keeps the code
// but may prefix `ERR Error running script`, so the word is looked up anywhere in the message as a fallback.
const replyCode = (message: string): CommandCode | UnavailableCode | undefined => {
  const space = message.indexOf(" ")
  const word = space === -1 ? message : message.slice(0, space)
  switch (word) {
    case "WRONGTYPE":
      return "WRONG_TYPE"
    case "OOM":
      return "OUT_OF_MEMORY"
    case "NOPERM":
      return "NO_PERMISSION"
    case "READONLY":
      return "READONLY"
    case "WRONGPASS":
    case "NOAUTH":
      return "AUTH_FAILED"
    // The Cluster is reconfiguring: a slot has no master yet. ioredis retries TRYAGAIN and CLUSTERDOWN a bounded
    // number of times; what still surfaces is transient. A Cluster client follows MOVED and ASK, so one that
    // surfaces reached a standalone client pointed at a Cluster node: a mistake no retry mends.
    case "CLUSTERDOWN":
    case "MASTERDOWN":
    case "TRYAGAIN":
      return "CLUSTER_DOWN"
    case "LOADING":
    case "BUSY":
      return "UNAVAILABLE"
  }
  if (message.includes("not an integer")) return "NOT_INTEGER"
  if (message.includes("would overflow")) return "OVERFLOW"
  if (message.includes("WRONGTYPE")) return "WRONG_TYPE"
  if (message.includes("OOM command not allowed")) return "OUT_OF_MEMORY"
  if (
    message.includes("NOPERM") ||
    message.includes("no permissions") ||
    message.includes("can't run this command") ||
    message.includes("can't access")
  ) {
    return "NO_PERMISSION"
  }
  if (message.includes("READONLY")) return "READONLY"
  if (message.includes("invalid password") || message.includes("invalid username-password")) return "AUTH_FAILED"
  return undefined
}

const isUnavailableCode = (code: string): code is UnavailableCode =>
  code === "CONNECTION_REFUSED" ||
  code === "CONNECTION_CLOSED" ||
  code === "CONNECTION_RESET" ||
  code === "AUTH_FAILED" ||
  code === "CIRCUIT_OPEN" ||
  code === "NOT_CONNECTED" ||
  code === "CLUSTER_DOWN" ||
  code === "READONLY" ||
  code === "UNAVAILABLE"

/**
 * The `CacheError` for a driver failure of `operation` on `key`.
 */
export const fromDriver = (error: unknown, operation: Operation, key: string | undefined): CacheError =>
  classify(sanitize(error), operation, key)

const classify = (cause: RedisDriverError, operation: Operation, key: string | undefined): CacheError => {
  const message = cause.message
  if (message === "Command timed out") {
    return new CacheTimeoutError({ operation, key, cause, code: "COMMAND_TIMEOUT" })
  }
  if (cause.code !== undefined) {
    if (cause.code === "ETIMEDOUT") return new CacheTimeoutError({ operation, key, cause, code: "CONNECT_TIMEOUT" })
    const socket = socketCodes.get(cause.code)
    if (socket !== undefined) return new CacheUnavailableError({ operation, key, cause, code: socket })
  }
  if (cause.name === "ClusterAllFailedError") {
    // No node answered CLUSTER SLOTS: the last node's failure (refused, wrong password) says why, and becomes the
    // cause.
    return cause.lastNodeError === undefined
      ? new CacheUnavailableError({ operation, key, cause, code: "UNAVAILABLE" })
      : classify(cause.lastNodeError, operation, key)
  }
  if (message.startsWith("Too many Cluster redirections")) {
    // Redirected or told to try again until the bound: the Cluster is still moving slots or electing a master.
    return new CacheUnavailableError({ operation, key, cause, code: "CLUSTER_DOWN" })
  }
  if (
    cause.name === "MaxRetriesPerRequestError" ||
    // "Connection is closed.", and a connection attempt given up for a newer one ("aborted", "discarded").
    message.startsWith("Connection is ") ||
    message.startsWith("Cluster is ended") ||
    message.startsWith("Cluster is disconnect")
  ) {
    return new CacheUnavailableError({ operation, key, cause, code: "CONNECTION_CLOSED" })
  }
  if (message.startsWith("Command aborted due to connection close")) {
    return new CacheUnavailableError({ operation, key, cause, code: "CONNECTION_CLOSED" })
  }
  if (message.startsWith("Stream isn't writeable") || message.includes("enableOfflineQueue")) {
    return new CacheUnavailableError({ operation, key, cause, code: "NOT_CONNECTED" })
  }
  if (message.startsWith("EXECABORT") && cause.previousErrors !== undefined) {
    // The transaction was refused because a queued command was: that command's error is the real answer.
    for (const previous of cause.previousErrors) {
      const mapped = classify(previous, operation, key)
      if (mapped._tag !== "CacheCommandError" || mapped.code !== "COMMAND_FAILED") return mapped
    }
  }
  const code = replyCode(message)
  if (code !== undefined && isUnavailableCode(code)) {
    return new CacheUnavailableError({ operation, key, cause, code })
  }
  if (code !== undefined) return new CacheCommandError({ operation, key, cause, code })
  if (cause.name === "ReplyError" || cause.name === "RedisError" || cause.name === "UnexpectedReply") {
    return new CacheCommandError({ operation, key, cause, code: "COMMAND_FAILED" })
  }
  return new CacheUnavailableError({ operation, key, cause, code: "UNAVAILABLE" })
}

/**
 * What a connection is pointed at, as its failures name it.
 */
export interface Where {
  /** `host:port`, or the servers tried with what they are (`sentinels a:26379, b:26379`); never a credential. */
  readonly server: string
  /** Whether the connection speaks TLS: a timeout then hints at the other way round. */
  readonly tls: boolean
  /** The master group asked of the sentinels. */
  readonly sentinelName?: string | undefined
}

// Node's codes for a certificate the client does not accept.
const untrusted = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE"
])

/**
 * A hint from one driver error, in words of our own: a driver's or a server's message may quote the command that
 * failed, with its arguments (an AUTH password), so none is ever copied.
 */
const hintOf = (error: RedisDriverError, where: Where): string | undefined => {
  const code = error.code
  if (code !== undefined) {
    if (untrusted.has(code)) return "the server's TLS certificate is not trusted: give its authority in tls.ca"
    if (code === "CERT_HAS_EXPIRED") return "the server's TLS certificate has expired"
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
      return "the server's TLS certificate does not name this host: connect by a name it lists, or set tls.servername"
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve"
  }
  // A sentinel that knows no such group answers GET-MASTER-ADDR-BY-NAME with an error (Redis 7: "ERR No such master
  // with that name") or, before, with nil (ioredis: "... successfully, but got an invalid reply: null").
  if (
    where.sentinelName !== undefined &&
    (error.message.includes("No such master with that name") || error.message.endsWith("got an invalid reply: null"))
  ) {
    return `the sentinels know no master named ${JSON.stringify(where.sentinelName)}`
  }
  return undefined
}

// What ioredis reports once every sentinel failed, when no error says more.
const noSentinel = (error: RedisDriverError): string | undefined =>
  error.message.startsWith("All sentinels are unreachable") ? "no sentinel gave the master's address" : undefined

// What a startup that timed out or was cut short most often means: the two ends disagree on TLS (a TLS client waits
// for a handshake that a plain server never answers; a TLS server resets a plain client).
const tlsHint = (where: Where): string =>
  where.tls
    ? "is the server expecting plain text? use redis:// without tls"
    : "is the server expecting TLS? use rediss:// or tls"

/**
 * The failure of a startup check against `where`: the reason the driver gave last (`undefined` when it gave none
 * before the deadline), explained by the errors it reported meanwhile (`seen`, oldest first).
 */
export const connectFailure = (reason: unknown, seen: ReadonlyArray<unknown>, where: Where): CacheError => {
  const last = reason === undefined ? undefined : sanitize(reason)
  const error =
    last === undefined
      ? new CacheTimeoutError({ operation: "connect", code: "CONNECT_TIMEOUT" })
      : classify(last, "connect", undefined)
  let detail: string | undefined
  for (let i = seen.length - 1; i >= 0 && detail === undefined; i--) detail = hintOf(sanitize(seen[i]), where)
  if (last !== undefined) detail ??= hintOf(last, where) ?? noSentinel(last)
  switch (error._tag) {
    case "CacheTimeoutError":
      return new CacheTimeoutError({
        operation: error.operation,
        code: error.code,
        cause: error.cause,
        server: where.server,
        detail: detail ?? (error.code === "CONNECT_TIMEOUT" ? tlsHint(where) : undefined)
      })
    case "CacheUnavailableError":
      return new CacheUnavailableError({
        operation: error.operation,
        code: error.code,
        cause: error.cause,
        server: where.server,
        // A TLS server resets a client that speaks plain text to it.
        detail: detail ?? (error.code === "CONNECTION_RESET" ? tlsHint(where) : undefined)
      })
    default:
      return error
  }
}

/**
 * The same failure, naming `server` when it is one of the connection (unavailable, timed out).
 */
export const locatedAt =
  (server: string) =>
  (error: CacheError): CacheError => {
    switch (error._tag) {
      case "CacheUnavailableError":
        return new CacheUnavailableError({ ...fieldsOf(error), code: error.code, server })
      case "CacheTimeoutError":
        return new CacheTimeoutError({ ...fieldsOf(error), code: error.code, server })
      default:
        return error
    }
  }

const fieldsOf = (error: CacheUnavailableError | CacheTimeoutError) => ({
  operation: error.operation,
  key: error.key,
  cause: error.cause,
  detail: error.detail
})
