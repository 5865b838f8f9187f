/**
 * What the parts of a view share: the cache-wide settings built once by `Cache.make`, and the view's own place,
 * values and observer.
 */
import type * as Scope from "effect/Scope"
import type { Codec } from "../Codec.js"
import type * as Backends from "./backend.js"
import type { Heals } from "./heal.js"
import type { Tier } from "./local.js"
import type { ObserveOptions, Observer } from "./observe.js"
import type { Outage } from "./outage.js"
import type { Planner } from "./plan.js"
import type { SingleFlight } from "./singleFlight.js"
import type { Tiered } from "./tiered.js"
import type { Values } from "./values.js"

/** @internal */
export interface Shared {
  readonly backend: Backends.Complete
  readonly codec: Codec
  readonly planner: Planner
  readonly observe: ObserveOptions
  /** The cache's own scope: background refreshes live in it and stop with the layer. */
  readonly scope: Scope.Scope
  /** Calls that fail open (`onCacheError: "bypass"`, `failOpen`) report here. */
  readonly outage: Outage
  /** The local tier, when the cache has one. */
  readonly local: Tier | undefined
}

/** Where a view's keys live. */
export interface Place {
  readonly prefix: string
  /** The namespace path, for metric labels: `""` at the root, `"users"`, `"users:admins"`. */
  readonly namespace: string
}

/** @internal */
export interface ViewContext<A> extends Place {
  readonly shared: Shared
  readonly values: Values<A>
  readonly observer: Observer
  readonly heals: Heals
  readonly flights: SingleFlight<A>
  /** The view's reads and writes through the local tier, when the cache has one. */
  readonly tiered: Tiered<A> | undefined
}
