/**
 * Every Lua script the backend runs, and how it runs them: by SHA1 (EVALSHA), sending the source (EVAL) where the
 * server may not have it, and in the read-only forms (EVAL_RO, EVALSHA_RO) for the scripts that only read.
 */

import { createHash } from "node:crypto"
import type { Redis } from "ioredis"

export interface Script {
  readonly source: string
  readonly sha: string
  /** Whether the script only reads: it then runs as EVAL_RO/EVALSHA_RO. */
  readonly readOnly: boolean
}

const script = (source: string, readOnly: boolean): Script => ({
  source,
  sha: createHash("sha1").update(source).digest("hex"),
  readOnly
})

// A script that only reads runs as EVAL_RO/EVALSHA_RO. Redis takes a plain EVAL or EVALSHA for a possible write:
// CLIENT PAUSE WRITE (an operator's, or FAILOVER's) holds it, and with it every later command of its connection,
// while a GET goes through; EVALSHA of a script the server lacks is held as well, even one flagged `no-writes`.
// The read-only forms go through, never need the out-of-memory check, and run on a read-only replica.
const readScript = (source: string): Script => script(source, true)

// No shebang: Redis then applies its out-of-memory check to each write inside, not to the script as a whole.
const writeScript = (source: string): Script => script(source, false)

// GET and PTTL in one script so that the value and its time-to-live belong to the same instant (a pipeline could
// see the key expire between the two).
export const getWithTimeToLive = readScript(
  "local v = redis.call('GET', KEYS[1])\nif v then return {v, redis.call('PTTL', KEYS[1])} end\nreturn false"
)

// INCRBY's integer reply reaches JavaScript (and Lua) as a double, which is inexact past 2^53; GET of the same key
// in the same atomic script returns the new value as a bulk string, exact in 64 bits.
export const increment = writeScript("redis.call('INCRBY', KEYS[1], ARGV[1])\nreturn redis.call('GET', KEYS[1])")

// Compare-and-delete: a lock's holder removes the lock only while it still holds its own token. UNLINK, like every
// other deletion, so that an ACL user needs no DEL.
export const deleteIfEquals = writeScript(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('UNLINK', KEYS[1]) end\nreturn 0"
)

// The values of the keys, as MGET's (in steps of 1000 keys: Lua's `unpack` has a limit), except that a key MGET
// answers nil for is asked again by GET through `redis.pcall`, so that a key of another type answers its WRONGTYPE
// as `get` does and the others still answer. The script is atomic, so such a key is absent or of another type; a
// cache's reads are mostly hits, which cost no more than MGET. It serves `getMany` and batches of `get` (`batch.ts`).
export const getEach = readScript(
  "local r = {}\nfor s = 1, #KEYS, 1000 do\n" +
    "  local part = redis.call('MGET', unpack(KEYS, s, math.min(s + 999, #KEYS)))\n" +
    "  for j = 1, #part do\n    local v = part[j]\n" +
    "    if not v then v = redis.pcall('GET', KEYS[s + j - 1]) end\n    r[s + j - 1] = v\n  end\nend\nreturn r"
)

// The scripts of batches (see `batch.ts`): every key's command through `redis.pcall`, so that one key's error (a
// WRONGTYPE, an OOM) is that key's answer and the others still run.
export const getWithTimeToLiveBatch = readScript(
  "local r = {}\nfor i, k in ipairs(KEYS) do\n  local v = redis.pcall('GET', k)\n" +
    "  if type(v) == 'string' then r[i] = {v, redis.call('PTTL', k)} else r[i] = v end\nend\nreturn r"
)

// ARGV holds a value and a time-to-live (empty for none) per key.
export const setBatch = writeScript(
  "local r = {}\nfor i, k in ipairs(KEYS) do\n  local ttl = ARGV[2 * i]\n" +
    "  if ttl == '' then r[i] = redis.pcall('SET', k, ARGV[2 * i - 1])\n" +
    "  else r[i] = redis.pcall('SET', k, ARGV[2 * i - 1], 'PX', ttl) end\nend\nreturn r"
)

// The server's clock in milliseconds, for the tag scripts: scores are expiries on the server's own clock, as the
// entries' are.
const now = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

// A tag's index (KEYS[1], a sorted set scored by expiry) and epoch (KEYS[2]), in one slot: expired members go,
// ARGV's (time-to-live or "" for none, member) pairs join, the index expires with its last member, and the epoch
// is answered. Scores are whole milliseconds near 2^41, which Lua's numbers and their text carry exactly.
export const tagAdd = writeScript(
  now +
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)\n" +
    "for i = 1, #ARGV, 2 do\n" +
    "  local score = 'inf'\n  if ARGV[i] ~= '' then score = now + tonumber(ARGV[i]) end\n" +
    "  redis.call('ZADD', KEYS[1], score, ARGV[i + 1])\nend\n" +
    "local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')\n" +
    "if last[2] == 'inf' then redis.call('PERSIST', KEYS[1])\n" +
    "elseif last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end\n" +
    "return redis.call('GET', KEYS[2])"
)

// A tag taken by an invalidation: the live members of its index (KEYS[1]), the index deleted and the epoch
// (KEYS[2]) set to ARGV[1] for ARGV[2] milliseconds, atomically.
export const tagTake = writeScript(
  now +
    "local members = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')\n" +
    "redis.call('UNLINK', KEYS[1])\n" +
    "redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])\n" +
    "return members"
)

/** How a script's bulk-string replies arrive: as text (the default), or as `"bytes"` (ioredis buffer replies). */
export type Replies = "text" | "bytes"

/**
 * Runs a script by its SHA1, sending the source instead when the server does not have it.
 */
export type ScriptRunner = (
  s: Script,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string | Buffer>,
  replies?: Replies
) => Promise<unknown>

/** What running a script needs of a connection or a Cluster. */
export type Evaluator = Pick<Redis, "call" | "callBuffer">

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith("NOSCRIPT")

// The script by its source (EVAL) or by its SHA1 (EVALSHA), read-only ones as `_RO`, its bulk-string replies as text
// or (`callBuffer`: ioredis declares no buffer-reply form of EVAL) as bytes.
const send = (
  redis: Evaluator,
  s: Script,
  by: "source" | "sha",
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string | Buffer>,
  replies: Replies | undefined
): Promise<unknown> => {
  const command = `${by === "sha" ? "EVALSHA" : "EVAL"}${s.readOnly ? "_RO" : ""}`
  const argv = [by === "sha" ? s.sha : s.source, keys.length, ...keys, ...args]
  return replies === "bytes" ? redis.callBuffer(command, argv) : redis.call(command, argv)
}

/**
 * EVAL every time, never EVALSHA: for a Cluster's batches, where the EVAL after a NOSCRIPT would go out after
 * commands issued meanwhile, so that a batched write could land after a later write of one of its keys.
 */
export const sendingSource =
  (redis: Evaluator): ScriptRunner =>
  (s, keys, args, replies) =>
    send(redis, s, "source", keys, args, replies)

/** Issues a command that follows another one of the same call. */
export type FollowUp = <A>(issue: () => Promise<A>) => Promise<A>

/** A follow-up of a call that has no deadline of its own to keep: issued at once. */
export const atOnce: FollowUp = (issue) => issue()
const sameCall = (): FollowUp => atOnce

/**
 * EVALSHA, and EVAL when it answers NOSCRIPT: the script cache is empty after a restart, a SCRIPT FLUSH or a
 * failover to a replica that never ran the script. The EVAL goes out after the NOSCRIPT reply, so after commands
 * issued meanwhile, through the `FollowUp` that `followUp` gives when the EVALSHA is issued (a Cluster's call must
 * still be open for it).
 */
export const evalShaFirst =
  (redis: Evaluator, followUp: () => FollowUp = sameCall): ScriptRunner =>
  (s, keys, args, replies) => {
    const then = followUp()
    return send(redis, s, "sha", keys, args, replies).catch((error: unknown) => {
      if (isNoScript(error)) return then(() => send(redis, s, "source", keys, args, replies))
      throw error
    })
  }

/**
 * The runner of one connection: the first run of a script on each connection (ioredis's `stream` changes when it
 * reconnects, perhaps to a restarted or promoted server) is an EVAL, which loads it; later runs are EVALSHAs. A
 * script then never answers NOSCRIPT on a connection that ran it, and a command never overtakes one sent before it,
 * unless someone flushes the script cache meanwhile.
 */
export const loadingOnce = (redis: Redis): ScriptRunner => {
  let connection: unknown = redis.stream
  let loaded = new Set<string>()
  const fallback = evalShaFirst(redis)
  return (s, keys, args, replies) => {
    if (redis.stream !== connection) {
      connection = redis.stream
      loaded = new Set()
    }
    if (loaded.has(s.sha)) return fallback(s, keys, args, replies)
    loaded.add(s.sha)
    return send(redis, s, "source", keys, args, replies)
  }
}
