/**
 * The deadlines of a backend's commands in flight. Every command of one backend has the same timeout, so the order
 * in which commands start is the order of their deadlines: a list in start order, with one timer armed for its head,
 * bounds them all. Starting and ending a command is a few pointer moves; there is no timer per command to create and
 * clear on the way to every reply.
 */

/** One command in flight; `expire` answers it when its deadline passes first. */
export class Pending {
  deadline = 0
  previous: Pending | undefined = undefined
  next: Pending | undefined = undefined
  constructor(readonly expire: () => void) {}
}

export interface Deadlines {
  /** Start the clock of `pending`: `expire` is called once its timeout has passed, unless `end` comes first. */
  readonly start: (pending: Pending) => void
  readonly end: (pending: Pending) => void
}

/**
 * Deadlines `timeout` milliseconds after each start, read from `now` (milliseconds).
 */
export const make = (timeout: number, now: () => number = performance.now.bind(performance)): Deadlines => {
  let head: Pending | undefined
  let tail: Pending | undefined
  let timer: ReturnType<typeof setTimeout> | undefined

  const end = (pending: Pending): void => {
    const { previous, next } = pending
    if (previous === undefined) {
      if (head !== pending) return
      head = next
    } else previous.next = next
    if (next === undefined) tail = previous
    else next.previous = previous
    pending.previous = undefined
    pending.next = undefined
  }

  // A timer that fires a little early (timers round to milliseconds) finds nothing due and waits again.
  const arm = (delay: number): void => {
    timer = setTimeout(expireDue, Math.max(1, Math.ceil(delay)))
    // Commands in flight hold their connection open; this timer alone must not keep a process alive.
    timer.unref()
  }

  const expireDue = (): void => {
    timer = undefined
    const at = now()
    let due = head
    while (due !== undefined && due.deadline <= at) {
      end(due)
      try {
        due.expire()
      } catch {
        // An answer that throws must not stop the others from being answered.
      }
      due = head
    }
    if (head !== undefined) arm(head.deadline - at)
  }

  return {
    start: (pending) => {
      pending.deadline = now() + timeout
      pending.next = undefined
      pending.previous = tail
      if (tail === undefined) head = pending
      else tail.next = pending
      tail = pending
      if (timer === undefined) arm(timeout)
    },
    end
  }
}
