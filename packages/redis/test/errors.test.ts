import { describe, expect, it } from "@effect/vitest"
import { RedisDriverError } from "../src/internal/driverError.js"
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

/** Every field read throws. */
const throwingGetters = (): object => {
  const error: object = Object.create(Error.prototype)
  for (const field of ["name", "message", "code", "syscall", "stack", "previousErrors", "lastNodeError"]) {
    Object.defineProperty(error, field, {
      get: () => {
        throw new Error(`reading ${field}`)
      }
    })
  }
  return error
}

/** Every trap throws, `typeof` still says object. */
const hostileProxy = (): object =>
  new Proxy(
    {},
    {
      get: () => {
        throw new Error("get trap")
      },
      has: () => {
        throw new Error("has trap")
      },
      getPrototypeOf: () => {
        throw new Error("getPrototypeOf trap")
      },
      ownKeys: () => {
        throw new Error("ownKeys trap")
      },
      getOwnPropertyDescriptor: () => {
        throw new Error("getOwnPropertyDescriptor trap")
      }
    }
  )

const revoked = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/** The errors reachable from a sanitized cause, counted (it must be a finite tree). */
const size = (error: RedisDriverError): number =>
  1 +
  (error.previousErrors ?? []).reduce((n, previous) => n + size(previous), 0) +
  (error.lastNodeError === undefined ? 0 : size(error.lastNodeError))

const typed = (error: ReturnType<typeof fromDriver>) => {
  expect(["CacheUnavailableError", "CacheTimeoutError", "CacheCommandError"]).toContain(error._tag)
  expect(error.operation).toBe("setMany")
  expect(error.cause).toBeInstanceOf(RedisDriverError)
  // A cause is logged and serialized with its error: both must work, and stay small.
  expect(JSON.stringify(error).length).toBeLessThan(200_000)
  expect(String(error)).toContain("setMany")
  if (error.cause instanceof RedisDriverError) expect(size(error.cause)).toBeLessThanOrEqual(64)
}

describe("fromDriver on any shape of error", () => {
  it("the error of a dropped connection, listed in its own previousErrors (ioredis shares it among a MULTI's commands)", () => {
    const closed = new Error("Connection is closed.")
    Object.assign(closed, { previousErrors: [closed, closed, closed] })
    const error = fromDriver(closed, "setMany", undefined)
    expect(error).toMatchObject({ _tag: "CacheUnavailableError", code: "CONNECTION_CLOSED" })
    typed(error)
  })

  it("cycles through previousErrors and lastNodeError, of any length", () => {
    const a = replyError("EXECABORT Transaction discarded because of previous errors.")
    const b = replyError("EXECABORT Transaction discarded because of previous errors.")
    Object.assign(a, { previousErrors: [b] })
    Object.assign(b, { previousErrors: [a] })
    expect(fromDriver(a, "setMany", undefined)).toMatchObject({ _tag: "CacheCommandError", code: "COMMAND_FAILED" })
    typed(fromDriver(a, "setMany", undefined))
    const all = Object.assign(new Error("Failed to refresh slots cache."), { name: "ClusterAllFailedError" })
    const node = Object.assign(new Error("node"), { name: "ClusterAllFailedError", lastNodeError: all })
    Object.assign(all, { lastNodeError: node })
    expect(fromDriver(all, "setMany", undefined)).toMatchObject({ _tag: "CacheUnavailableError", code: "UNAVAILABLE" })
    typed(fromDriver(all, "setMany", undefined))
  })

  it("getters that throw, proxies whose traps throw, revoked proxies", () => {
    for (const hostile of [throwingGetters(), hostileProxy(), revoked()]) {
      const error = fromDriver(hostile, "setMany", undefined)
      expect(error).toMatchObject({ _tag: "CacheUnavailableError", code: "UNAVAILABLE" })
      typed(error)
    }
    const nested = Object.assign(new Error("EXECABORT Transaction discarded because of previous errors."), {
      name: "ReplyError",
      previousErrors: [throwingGetters(), hostileProxy(), revoked(), replyError("OOM command not allowed")]
    })
    typed(fromDriver(nested, "setMany", undefined))
    typed(fromDriver(Object.assign(new Error("x"), { previousErrors: revoked() }), "setMany", undefined))
  })

  it("values that are not errors", () => {
    const values: ReadonlyArray<unknown> = [
      undefined,
      null,
      42,
      10n,
      true,
      Symbol("s"),
      () => "a function",
      [],
      {},
      Object.create(null),
      { message: 42, name: {}, code: 7 },
      "Connection is closed."
    ]
    for (const value of values) typed(fromDriver(value, "setMany", undefined))
    expect(fromDriver("Connection is closed.", "setMany", undefined)).toMatchObject({ code: "CONNECTION_CLOSED" })
  })

  it("codes that name properties of every object map to nothing", () => {
    for (const code of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const error = fromDriver(Object.assign(new Error("odd"), { code }), "setMany", undefined)
      expect(error).toMatchObject({ _tag: "CacheUnavailableError", code: "UNAVAILABLE" })
      typed(error)
    }
  })

  it("huge previousErrors lists are read only in part", () => {
    let reads = 0
    const endless = new Proxy([], {
      get: (target, field) => {
        if (field === "length") return 2 ** 32 - 1
        reads++
        return typeof field === "string" && /^[0-9]+$/.test(field)
          ? new Error(`previous ${field}`)
          : Reflect.get(target, field)
      }
    })
    typed(fromDriver(Object.assign(new Error("x"), { previousErrors: endless }), "setMany", undefined))
    expect(reads).toBeLessThanOrEqual(64)
    const many = Array.from({ length: 100_000 }, (_, i) => ({ name: "ReplyError", message: `ERR ${i}` }))
    typed(fromDriver(Object.assign(new Error("x"), { previousErrors: many }), "setMany", undefined))
    typed(fromDriver(Object.assign(new Error("x"), { previousErrors: new Array(2 ** 32 - 1) }), "setMany", undefined))
  })

  it("deep chains, and lists that share their errors many times over", () => {
    let chain: object = new Error("bottom")
    for (let i = 0; i < 100_000; i++) {
      chain = {
        name: "ClusterAllFailedError",
        message: "Failed to refresh slots cache.",
        lastNodeError: chain,
        previousErrors: [chain]
      }
    }
    typed(fromDriver(chain, "setMany", undefined))
    // Each level lists the one below 16 times: 16^40 paths, copied as a bounded tree.
    let shared: Error = replyError("OOM command not allowed")
    for (let i = 0; i < 40; i++) {
      shared = Object.assign(replyError("EXECABORT Transaction discarded because of previous errors."), {
        previousErrors: Array.from({ length: 16 }, () => shared)
      })
    }
    typed(fromDriver(shared, "setMany", undefined))
  })
})
