/**
 * The quick start: a slow lookup cached with `getOrSet`. It shows a miss, a hit, expiry, single-flight and a
 * typed error handled. Runs on the memory backend; with REDIS_URL set, on Redis.
 */
import { Cache, CacheResult } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { RedisCache } from "@cachet/redis"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"

class User extends Schema.Class<User>("User")({
  id: Schema.Number,
  name: Schema.String,
  joined: Schema.Date
}) {}

const program = Effect.gen(function* () {
  const cache = yield* Cache.Cache
  const users = cache.namespace("quickstart").forSchema(User)
  const lookups = yield* Ref.make(0)

  // The "database": slow, and counted, so that we can see when the cache spares it.
  const fetchUser = (id: number) =>
    Effect.gen(function* () {
      yield* Ref.update(lookups, (n) => n + 1)
      yield* Effect.sleep("100 millis")
      return new User({ id, name: "Ada Lovelace", joined: new Date("1843-07-01T00:00:00Z") })
    })

  yield* users.clear()
  yield* Console.log(`backend: ${cache.backend}, keys under ${JSON.stringify(users.prefix)}`)

  const first = yield* users.getOrSet("user:1", fetchUser(1), { timeToLive: "300 millis" })
  yield* Console.log(`1. miss → looked up ${first.name}; lookups so far: ${yield* Ref.get(lookups)}`)

  const second = yield* users.getOrSet("user:1", fetchUser(1), { timeToLive: "300 millis" })
  yield* Console.log(
    `2. hit → ${second.name}, joined ${second.joined.toISOString().slice(0, 10)} (still a Date); lookups: ${yield* Ref.get(lookups)}`
  )

  const remaining = CacheResult.match(yield* users.timeToLive("user:1"), {
    onHit: Option.match({ onNone: () => "never expires", onSome: (d) => `${Duration.toMillis(d)} ms left` }),
    onMiss: () => "absent"
  })
  yield* Console.log(`3. time-to-live: ${remaining}`)

  yield* Effect.sleep("400 millis")
  const expired = yield* users.get("user:1")
  yield* Console.log(`4. after 400 ms the entry has expired: ${expired._tag}`)

  yield* Ref.set(lookups, 0)
  yield* Effect.forEach(
    Array.from({ length: 100 }, () => users.getOrSet("user:2", fetchUser(2))),
    (e) => e,
    {
      concurrency: "unbounded"
    }
  )
  yield* Console.log(
    `5. 100 concurrent getOrSet calls for one missing key ran the lookup ${yield* Ref.get(lookups)} time`
  )

  const outcome = yield* cache.set("quickstart:bad", { big: 1n }).pipe(
    Effect.as("stored"),
    Effect.catchTag("CacheEncodeError", (error) => Effect.succeed(`refused with ${error._tag} (${error.code})`))
  )
  yield* Console.log(
    `6. a BigInt under the JSON codec: ${outcome}; nothing was written: ${!(yield* cache.has("quickstart:bad"))}`
  )

  const counter = yield* cache.namespace("quickstart").increment("visits", 9_007_199_254_740_993n)
  yield* Console.log(`7. counters are exact int64: ${counter}`)

  yield* Console.log(`8. clear() removed ${yield* cache.namespace("quickstart").clear()} keys of this namespace only`)
})

const backend = process.env.REDIS_URL ? RedisCache.layerConfig() : MemoryCache.layer({ capacity: 10_000 })

Effect.runPromise(program.pipe(Effect.provide(Layer.orDie(backend)))).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
