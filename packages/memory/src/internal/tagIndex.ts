/**
 * A tag's index in memory, as a Redis sorted set of members scored by their expiry: a map of each member's score,
 * and a min-heap of scores so that a sweep removes the expired members in O(log n) each (stale heap items, left by
 * a member's newer score, are skipped and compacted away). The largest score is kept for the index's own expiry.
 */

interface Item {
  readonly score: number
  readonly member: string
}

export class TagIndex {
  private readonly scores = new Map<string, number>()
  private heap: Array<Item> = []
  private largest = Number.NEGATIVE_INFINITY

  get size(): number {
    return this.scores.size
  }

  /** The largest score (the last member's expiry). */
  get last(): number {
    return this.largest
  }

  /** ZADD: the member takes `score`. */
  add(member: string, score: number): void {
    const previous = this.scores.get(member)
    this.scores.set(member, score)
    this.push({ score, member })
    if (score >= this.largest) this.largest = score
    else if (previous === this.largest) {
      // The last member now expires sooner: the rare case that asks every score again.
      let largest = Number.NEGATIVE_INFINITY
      for (const each of this.scores.values()) if (each > largest) largest = each
      this.largest = largest
    }
    if (this.heap.length > 2 * this.scores.size + 16) this.compact()
  }

  /** ZREMRANGEBYSCORE -inf (now: members whose expiry has passed go. */
  sweep(now: number): void {
    const heap = this.heap
    let top = heap[0]
    while (top !== undefined && top.score < now) {
      this.pop()
      if (this.scores.get(top.member) === top.score) this.scores.delete(top.member)
      top = heap[0]
    }
    if (this.scores.size === 0) this.largest = Number.NEGATIVE_INFINITY
  }

  /** ZRANGE BYSCORE now +inf: the members whose expiry has not passed. */
  live(now: number): Array<string> {
    const out: Array<string> = []
    for (const [member, score] of this.scores) if (score >= now) out.push(member)
    return out
  }

  private compact(): void {
    const items: Array<Item> = []
    for (const [member, score] of this.scores) items.push({ score, member })
    items.sort((a, b) => a.score - b.score)
    this.heap = items
  }

  private push(item: Item): void {
    const heap = this.heap
    heap.push(item)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      const above = heap[parent]
      if (above === undefined || above.score <= item.score) break
      heap[i] = above
      i = parent
    }
    heap[i] = item
  }

  private pop(): void {
    const heap = this.heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      let smallestScore = last.score
      const l = heap[left]
      const r = heap[right]
      if (l !== undefined && l.score < smallestScore) {
        smallest = left
        smallestScore = l.score
      }
      if (r !== undefined && r.score < smallestScore) smallest = right
      if (smallest === i) break
      const child = heap[smallest]
      if (child === undefined) break
      heap[i] = child
      i = smallest
    }
    heap[i] = last
  }
}
