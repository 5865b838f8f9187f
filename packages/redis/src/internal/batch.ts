/**
 * Coalescing of concurrent single-key commands on one connection. Commands of one kind (`get`, `set`, ...) issued in
 * the same turn of the event loop (64 fibers each reading one key, say) go to the server as one script call instead
 * of one command each: one write, one reply to parse, one command timer. Each caller still gets its own answer, and
 * its own error (WRONGTYPE, OOM), because the script runs every key's command with `redis.pcall`.
 *
 * The first command of a turn goes out at once, as the plain command, so a lone command (the sequential case)
 * waits for nothing; the ones that follow it in the same turn are batched, and a batch that ends up with one item
 * is sent as the plain command too. Order is kept: a command of another kind (or any command outside the batcher,
 * through `flush`) first sends the open batch, so commands reach the server in the order they were called, as they
 * do without batching. A batch is also bounded in size (the values of a batch of sets, say), so that sixteen large
 * values never make one huge script call: an item that would take the batch past the bound sends it first.
 */

import { UnexpectedReply } from "./errors.js"

/**
 * One kind of command: what it sends alone, what it sends for many, and how one item's answer is read from the
 * batch's reply.
 */
export interface Kind<I, R> {
  /** The plain command, for a batch of one. */
  readonly one: (item: I) => Promise<R>
  /** One command for all the items; its reply is an array with one answer per item, an `Error` for a failed one. */
  readonly many: (items: ReadonlyArray<I>) => Promise<unknown>
  /** One item's answer in the batch's reply; throws if it has an unexpected shape. */
  readonly answer: (reply: unknown) => R
  /** What one item adds to the size of a batch (its key and value, in characters); none by default. */
  readonly size?: ((item: I) => number) | undefined
}

export interface Batcher {
  /** The function that queues one item of `kind` in the batch of this turn. */
  readonly kind: <I, R>(kind: Kind<I, R>) => (item: I) => Promise<R>
  /** Send the open batch now. */
  readonly flush: () => void
}

interface Waiter<R> {
  readonly resolve: (answer: R) => void
  readonly reject: (error: unknown) => void
}

const send = <I, R>(kind: Kind<I, R>, items: ReadonlyArray<I>, waiters: ReadonlyArray<Waiter<R>>): void => {
  const [item] = items
  const [waiter] = waiters
  if (items.length === 1 && item !== undefined && waiter !== undefined) {
    try {
      kind.one(item).then(waiter.resolve, waiter.reject)
    } catch (error) {
      waiter.reject(error)
    }
    return
  }
  const rejectAll = (error: unknown) => {
    for (const w of waiters) w.reject(error)
  }
  let reply: Promise<unknown>
  try {
    reply = kind.many(items)
  } catch (error) {
    rejectAll(error)
    return
  }
  reply.then((answers) => {
    if (!Array.isArray(answers) || answers.length !== waiters.length) {
      rejectAll(new UnexpectedReply("a batch answered with a different number of replies than items sent"))
      return
    }
    waiters.forEach((w, i) => {
      const answer: unknown = answers[i]
      if (answer instanceof Error) w.reject(answer)
      else {
        try {
          w.resolve(kind.answer(answer))
        } catch (error) {
          w.reject(error)
        }
      }
    })
  }, rejectAll)
}

/**
 * Batchers that share their turns: the first batchable command of a turn, whichever batcher it goes to, is sent at
 * once; the others are batched, each in its own batcher's batch, and every open batch is sent at the end of the
 * turn. A Cluster has one batcher per hash slot, so that the commands of one turn on keys of one slot share a
 * script call even when the turn also reaches other slots.
 */
export interface Group {
  /** A new batcher of the group. */
  readonly batcher: () => Batcher
  /** Send every open batch of the group now. */
  readonly flush: () => void
}

/**
 * A group whose batches hold at most `maxItems` items, and items of at most `maxSize` in all unless one item is
 * larger alone (a full batch is sent at once and the next one opens).
 */
export const group = (maxItems: number, maxSize: number): Group => {
  // Whether a batchable command went out in this turn already: the first one is sent at once, alone, so that a lone
  // command (the sequential case) waits for nothing; those that follow it in the same turn are batched.
  let turnStarted = false
  // The batchers with a batch open.
  const opened = new Set<Batcher>()

  const flush = (): void => {
    for (const batcher of opened) batcher.flush()
  }

  const endOfTurn = (): void => {
    turnStarted = false
    flush()
  }

  const batcher = (): Batcher => {
    // The batch being filled, as the function that sends it; at most one is open at a time in a batcher.
    let open: (() => void) | undefined

    const self: Batcher = {
      flush: () => {
        const sendOpen = open
        if (sendOpen === undefined) return
        open = undefined
        opened.delete(self)
        sendOpen()
      },
      kind: <I, R>(k: Kind<I, R>) => {
        let items: Array<I> = []
        let waiters: Array<Waiter<R>> = []
        let size = 0
        const sizeOf = k.size ?? (() => 0)
        const sendThis = (): void => {
          const sentItems = items
          const sentWaiters = waiters
          items = []
          waiters = []
          size = 0
          send(k, sentItems, sentWaiters)
        }
        return (item: I): Promise<R> => {
          if (!turnStarted) {
            turnStarted = true
            queueMicrotask(endOfTurn)
            return k.one(item)
          }
          return new Promise<R>((resolve, reject) => {
            const itemSize = sizeOf(item)
            if (open !== sendThis || (items.length > 0 && size + itemSize > maxSize)) {
              self.flush()
              open = sendThis
              opened.add(self)
            }
            items.push(item)
            waiters.push({ resolve, reject })
            size += itemSize
            if (items.length >= maxItems || size >= maxSize) self.flush()
          })
        }
      }
    }
    return self
  }

  return { batcher, flush }
}

/** A batcher of its own: a group of one. */
export const make = (maxItems: number, maxSize: number): Batcher => group(maxItems, maxSize).batcher()
