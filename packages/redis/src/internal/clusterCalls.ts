/**
 * The calls of a Cluster's `Client`: who issued each command, and a guard on every node connection that refuses to
 * write a command whose call has been answered.
 */

import type { Cluster, Command, Redis } from "ioredis"
import type { FollowUp } from "./scripts.js"

/** The message ioredis gives a command whose timer ran out; `fromDriver` maps it to `CacheTimeoutError`. */
const timedOut = "Command timed out"

/**
 * One call of the `Client`: the commands it issues (redirections and retries included) may be written to a node
 * only while it is open. It closes when it settles or its time is up; `onTimeout` tells the circuit breakers of
 * the slots still waiting then.
 */
export interface Call {
  open: boolean
  readonly onTimeout: Array<() => void>
}

/**
 * Who issued each command, and a guard on every node connection that refuses to write a command whose call has
 * been answered. ioredis re-sends a command on its own: after MOVED or ASK (at once, even when the reply comes
 * late), and after TRYAGAIN and CLUSTERDOWN (after a delay and a refresh of the slot map); a MULTI/EXEC is re-sent
 * whole. Without the guard a write Cachet answered as timed out could land seconds later, over a newer one.
 * Every one of those writes goes through a node's `sendCommand`; every command of a call goes through the
 * Cluster's `sendCommand` first, synchronously within the call (never auto-pipelined: see `clusterOptions` in `cluster.ts`).
 */
export const tracker = (cluster: Cluster) => {
  let current: Call | undefined
  const owners = new WeakMap<Command, Call>()

  const enter = <A>(call: Call, issue: () => A): A => {
    const previous = current
    current = call
    try {
      return issue()
    } finally {
      current = previous
    }
  }

  const sendCommand = cluster.sendCommand.bind(cluster)
  cluster.sendCommand = (command, stream, node) => {
    if (current !== undefined && !owners.has(command)) owners.set(command, current)
    return sendCommand(command, stream, node)
  }
  const guard = (redis: Redis) => {
    const write = redis.sendCommand.bind(redis)
    redis.sendCommand = (command, stream) => {
      if (owners.get(command)?.open !== false) return write(command, stream)
      if (!command.isSettled) command.reject(new Error(timedOut))
      return command.promise
    }
  }
  for (const node of cluster.nodes()) guard(node)
  cluster.on("+node", guard)

  return {
    /** `issue` as one call, answered within `timeout` milliseconds. */
    bounded: <A>(timeout: number, issue: (call: Call) => Promise<A>): Promise<A> =>
      new Promise<A>((resolve, reject) => {
        const call: Call = { open: true, onTimeout: [] }
        const timer = setTimeout(() => {
          call.open = false
          for (const report of call.onTimeout) report()
          reject(new Error(timedOut))
        }, timeout)
        const settle = () => {
          call.open = false
          clearTimeout(timer)
        }
        let promise: Promise<A>
        try {
          promise = enter(call, () => issue(call))
        } catch (error) {
          settle()
          return reject(error)
        }
        promise.then(
          (value) => {
            settle()
            resolve(value)
          },
          (error: unknown) => {
            settle()
            reject(error)
          }
        )
      }),
    /** A command issued later by the call that is current now (a script's EVAL after NOSCRIPT), if still open. */
    later: (): FollowUp => {
      const call = current
      return (issue) =>
        call === undefined ? issue() : call.open ? enter(call, issue) : Promise.reject(new Error(timedOut))
    }
  }
}
