/**
 * The method: calibrate each peer to a fixed op count that lasts about `targetSeconds`, then run every peer
 * `repetitions` times with the peers interleaved (the order rotates each repetition), and summarise each
 * peer's rate and each ratio by its median and range. Ratios pair two peers within one repetition, so a slow
 * moment of the machine weighs on both sides of a ratio.
 */

export interface Peer {
  readonly name: string
  /** Perform `ops` operations; reject if any answer is wrong (a get-hit that missed, a short getMany). */
  readonly run: (ops: number) => Promise<void>
}

export interface Settings {
  readonly targetSeconds: number
  readonly repetitions: number
  /** Minimum duration of the warm-up used to calibrate, in milliseconds. */
  readonly warmupMillis: number
}

export interface PeerResult {
  readonly name: string
  readonly ops: number
  /** Operations per second, one per repetition, in repetition order. */
  readonly rates: ReadonlyArray<number>
}

export interface WorkloadResult {
  readonly name: string
  readonly peers: ReadonlyArray<PeerResult>
}

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

export const summarise = (xs: ReadonlyArray<number>): Summary => {
  const sorted = [...xs].sort((a, b) => a - b)
  const n = sorted.length
  const median = n % 2 === 1 ? (sorted[(n - 1) / 2] ?? 0) : ((sorted[n / 2 - 1] ?? 0) + (sorted[n / 2] ?? 0)) / 2
  return { median, min: sorted[0] ?? 0, max: sorted[n - 1] ?? 0 }
}

const gc = (): void => {
  const collect: unknown = Reflect.get(globalThis, "gc")
  if (typeof collect === "function") collect()
}

const time = async (peer: Peer, ops: number): Promise<number> => {
  const start = performance.now()
  await peer.run(ops)
  return performance.now() - start
}

/** Double the op count until one run lasts `warmupMillis`; that run also warms the JIT up. */
const calibrate = async (peer: Peer, settings: Settings): Promise<number> => {
  let ops = 64
  for (;;) {
    const elapsed = await time(peer, ops)
    if (elapsed >= settings.warmupMillis || ops >= 1 << 26) {
      const perSecond = (ops / elapsed) * 1000
      return Math.max(16, Math.round(perSecond * settings.targetSeconds))
    }
    ops *= elapsed < settings.warmupMillis / 8 ? 4 : 2
  }
}

export const runWorkload = async (
  name: string,
  peers: ReadonlyArray<Peer>,
  settings: Settings,
  log: (line: string) => void
): Promise<WorkloadResult> => {
  const counts: Array<number> = []
  for (const peer of peers) counts.push(await calibrate(peer, settings))
  const rates: Array<Array<number>> = peers.map(() => [])
  for (let r = 0; r < settings.repetitions; r++) {
    for (let j = 0; j < peers.length; j++) {
      const index = (j + r) % peers.length
      const peer = peers[index]
      const ops = counts[index] ?? 0
      if (peer === undefined) continue
      gc()
      const elapsed = await time(peer, ops)
      rates[index]?.push((ops / elapsed) * 1000)
    }
  }
  const result = {
    name,
    peers: peers.map((peer, i) => ({ name: peer.name, ops: counts[i] ?? 0, rates: rates[i] ?? [] }))
  }
  log(`  ${name}: done`)
  return result
}

/** Speed of `subject` over speed of `baseline`, pair by pair within each repetition. */
export const ratios = (subject: PeerResult, baseline: PeerResult): ReadonlyArray<number> =>
  subject.rates.map((rate, i) => rate / (baseline.rates[i] ?? Number.NaN))
