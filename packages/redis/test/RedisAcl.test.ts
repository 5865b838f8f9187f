/**
 * The conformance suite (the lock tests with it) as an ACL user allowed exactly the commands README.md lists and the
 * keys `~<prefix>*`, on a standalone server and on a three-master Cluster of our own. The list is read from
 * README.md, so the documentation and the commands Cachet sends (inside scripts too) cannot drift apart. Afterwards
 * the servers' ACL LOG must be empty: a refusal the core swallows (a lock release) shows there.
 */

import { call, startCluster, startServer, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { CacheSuite } from "@cachet/testing"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as TestServices from "effect/TestServices"
import { clusterCommands, standaloneCommands, trackingCommands } from "./aclCommands.js"

const user = "cachet-acl"
const password = "acl-password-1"
const prefix = uniquePrefix("acl")

/** ACL SETUSER arguments: nothing but `commands`, the keys under `prefix` and `channels`. */
const setUser = (
  commands: ReadonlyArray<string>,
  name = user,
  channels: ReadonlyArray<string> = []
): ReadonlyArray<string> => [
  "SETUSER",
  name,
  "reset",
  "on",
  `>${password}`,
  `~${prefix}*`,
  "resetchannels",
  ...channels.map((channel) => `&${channel}`),
  "nocommands",
  ...commands.map((command) => `+${command}`)
]

// A second user, for a local tier kept coherent by tracking: what README.md adds for it, and its channel.
const trackingUser = "cachet-acl-local"

const own = await startServer()
const local = await startCluster({ replicas: false })
afterAll(() => Promise.all([own.stop(), local.stop()]))

// On a separate connection of the test's own (the default user), never the cache's.
await call(own.port, "ACL", ...setUser(standaloneCommands))
await call(
  own.port,
  "ACL",
  ...setUser([...standaloneCommands, ...trackingCommands], trackingUser, ["__redis__:invalidate"])
)
await Promise.all(local.ports.map((port) => call(port, "ACL", ...setUser(clusterCommands))))

const advance = {
  advance: (duration: Parameters<typeof Effect.sleep>[0]) => TestServices.provideLive(Effect.sleep(duration))
}
const credentials = { username: user, password: Redacted.make(password), prefix }

describe("an ACL user with exactly the commands README.md lists", () => {
  it("README.md lists the commands", () => {
    expect(standaloneCommands).toEqual(expect.arrayContaining(["get", "set", "eval", "evalsha", "auth"]))
    expect(clusterCommands).toEqual(expect.arrayContaining(["cluster|slots", "cluster|info"]))
    expect(trackingCommands).toEqual(["client|tracking", "client|id", "subscribe"])
  })

  CacheSuite.run("RedisCache", RedisCache.layer({ url: own.url, ...credentials }), advance)

  CacheSuite.run(
    "RedisCache with a local tier (tracking)",
    RedisCache.layer({
      url: own.url,
      ...credentials,
      username: trackingUser,
      local: { capacity: 1000, timeToLive: "1 minute", invalidation: "tracking" }
    }),
    { ...advance, sharedValues: true }
  )

  CacheSuite.run(
    "RedisCache on a Cluster",
    RedisCache.layer({ cluster: { nodes: local.nodes }, commandTimeout: "2 seconds", ...credentials }),
    advance
  )

  // Last in the file: the tests of a file run one by one, in order. The refusals any connection of the cache met.
  it.live("no command of the suites was refused", () =>
    Effect.gen(function* () {
      const logs = yield* Effect.forEach([own.port, ...local.ports], (port) =>
        Effect.promise(() => call(port, "ACL", "LOG"))
      )
      expect(logs).toEqual(logs.map(() => []))
    })
  )
})
