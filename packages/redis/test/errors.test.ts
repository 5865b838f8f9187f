import { describe, expect, it } from "@effect/vitest"
import { fromDriver } from "../src/internal/errors.js"

const replyError = (message: string) => Object.assign(new Error(message), { name: "ReplyError" })
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code })

describe("fromDriver", () => {
  it.each([
    [socketError("ECONNREFUSED"), "CacheUnavailableError", "CONNECTION_REFUSED"],
    [socketError("ECONNRESET"), "CacheUnavailableError", "CONNECTION_RESET"],
    [socketError("EPIPE"), "CacheUnavailableError", "CONNECTION_RESET"],
    [socketError("ETIMEDOUT"), "CacheTimeoutError", "CONNECT_TIMEOUT"],
    [new Error("Connection is closed."), "CacheUnavailableError", "CONNECTION_CLOSED"],
    [
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      "CacheUnavailableError",
      "NOT_CONNECTED"
    ],
    [
      Object.assign(new Error("Reached the max retries"), { name: "MaxRetriesPerRequestError" }),
      "CacheUnavailableError",
      "CONNECTION_CLOSED"
    ],
    [new Error("Command timed out"), "CacheTimeoutError", "COMMAND_TIMEOUT"],
    [
      replyError("WRONGTYPE Operation against a key holding the wrong kind of value"),
      "CacheCommandError",
      "WRONG_TYPE"
    ],
    [replyError("ERR value is not an integer or out of range"), "CacheCommandError", "NOT_INTEGER"],
    [replyError("ERR increment or decrement would overflow"), "CacheCommandError", "OVERFLOW"],
    [replyError("OOM command not allowed when used memory > 'maxmemory'."), "CacheCommandError", "OUT_OF_MEMORY"],
    [replyError("NOPERM this user has no permissions to run the 'get' command"), "CacheCommandError", "NO_PERMISSION"],
    [
      replyError("ERR The user executing the script can't run this command or subcommand script: abc"),
      "CacheCommandError",
      "NO_PERMISSION"
    ],
    [replyError("READONLY You can't write against a read only replica."), "CacheUnavailableError", "READONLY"],
    [replyError("MOVED 3999 127.0.0.1:7002"), "CacheCommandError", "COMMAND_FAILED"],
    [replyError("ASK 3999 127.0.0.1:7002"), "CacheCommandError", "COMMAND_FAILED"],
    [replyError("TRYAGAIN Multiple keys request during rehashing of slot"), "CacheUnavailableError", "CLUSTER_DOWN"],
    [
      replyError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
      "CacheUnavailableError",
      "CLUSTER_DOWN"
    ],
    [
      new Error("Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down"),
      "CacheUnavailableError",
      "CLUSTER_DOWN"
    ],
    [
      Object.assign(new Error("Failed to refresh slots cache."), {
        name: "ClusterAllFailedError",
        lastNodeError: socketError("ECONNREFUSED")
      }),
      "CacheUnavailableError",
      "CONNECTION_REFUSED"
    ],
    [
      Object.assign(new Error("Failed to refresh slots cache."), {
        name: "ClusterAllFailedError",
        lastNodeError: replyError("WRONGPASS invalid username-password pair or user is disabled.")
      }),
      "CacheUnavailableError",
      "AUTH_FAILED"
    ],
    [
      Object.assign(new Error("Failed to refresh slots cache."), { name: "ClusterAllFailedError" }),
      "CacheUnavailableError",
      "UNAVAILABLE"
    ],
    [new Error("None of startup nodes is available"), "CacheUnavailableError", "UNAVAILABLE"],
    [
      new Error("Cluster isn't ready and enableOfflineQueue options is false"),
      "CacheUnavailableError",
      "NOT_CONNECTED"
    ],
    [
      Object.assign(new Error("Cluster is ended."), { name: "AbortError" }),
      "CacheUnavailableError",
      "CONNECTION_CLOSED"
    ],
    [
      Object.assign(new Error("Connection is aborted"), { name: "RedisError" }),
      "CacheUnavailableError",
      "CONNECTION_CLOSED"
    ],
    [
      new Error("All sentinels are unreachable. Retrying from scratch after 10ms."),
      "CacheUnavailableError",
      "UNAVAILABLE"
    ],
    [
      Object.assign(new Error("MGET answered with a different number of values than keys asked"), {
        name: "UnexpectedReply"
      }),
      "CacheCommandError",
      "COMMAND_FAILED"
    ],
    [
      replyError("WRONGPASS invalid username-password pair or user is disabled."),
      "CacheUnavailableError",
      "AUTH_FAILED"
    ],
    [replyError("NOAUTH Authentication required."), "CacheUnavailableError", "AUTH_FAILED"],
    [replyError("LOADING Redis is loading the dataset in memory"), "CacheUnavailableError", "UNAVAILABLE"],
    [replyError("CLUSTERDOWN The cluster is down"), "CacheUnavailableError", "CLUSTER_DOWN"],
    [replyError("ERR unknown command 'FOO'"), "CacheCommandError", "COMMAND_FAILED"],
    [
      Object.assign(replyError("EXECABORT Transaction discarded because of previous errors."), {
        previousErrors: [replyError("OOM command not allowed when used memory > 'maxmemory'.")]
      }),
      "CacheCommandError",
      "OUT_OF_MEMORY"
    ]
  ])("%s", (driver, tag, code) => {
    const error = fromDriver(driver, "get", "k")
    expect(error).toMatchObject({ _tag: tag, code, operation: "get", key: "k" })
    expect(error.message).not.toContain(driver.message)
  })

  it("keeps no command arguments in the cause", () => {
    const driver = Object.assign(replyError("WRONGPASS invalid username-password pair"), {
      command: { name: "hello", args: ["3", "AUTH", "default", "hunter2"] }
    })
    const error = fromDriver(driver, "connect", undefined)
    expect(JSON.stringify(error)).not.toContain("hunter2")
    expect(JSON.stringify(error.cause)).not.toContain("hunter2")
    expect(error.cause).not.toHaveProperty("command")
  })
})
