/**
 * Turns whatever ioredis rejects with into a `CacheError`. The driver's error is kept as the `cause`, as a sanitized
 * copy (`driverError.ts`).
 */
import type { Operation } from "@cachet/core/CacheError"
import { CacheCommandError, type CacheError, CacheTimeoutError, CacheUnavailableError } from "@cachet/core/CacheError"
import { type RedisDriverError, sanitize } from "./driverError.js"

/**
 * A reply of a shape the command never gives (a script answering something else, a batch of the wrong length):
 * mapped to `CacheCommandError` code `COMMAND_FAILED`.
 */
export class UnexpectedReply extends Error {
  override readonly name = "UnexpectedReply"
}

/**
 * What a client that breaks per server (a Cluster's, per master) rejects with when the server's circuit is open; the
 * backend turns it into `CacheUnavailableError` code `CIRCUIT_OPEN` with its own operation and key.
 */
export class CircuitOpen extends Error {
  override readonly name = "CircuitOpen"
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

/**
 * The `CacheError` for a driver failure already sanitized.
 */
export const classify = (cause: RedisDriverError, operation: Operation, key: string | undefined): CacheError => {
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
