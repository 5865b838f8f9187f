/**
 * The service: `Cache.make` builds the settings every view shares once, then views on demand, each cached so that
 * single-flight spans every caller that reads through it: namespaces by name, typed views by schema and codec.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as MetricLabel from "effect/MetricLabel"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Backend } from "../Backend.js"
import type { Cache } from "../Cache.js"
import { type CacheError, CacheInvalidInputError, type Operation } from "../CacheError.js"
import type { Codec } from "../Codec.js"
import * as Backends from "./backend.js"
import { json, plainValue, schemaValue, type ValueCodec } from "./codec.js"
import type { Place, Shared, ViewContext } from "./context.js"
import * as Entry from "./entry.js"
import * as GetOrSet from "./getOrSet.js"
import * as GetOrSetMany from "./getOrSetMany.js"
import * as Guard from "./guard.js"
import * as Heal from "./heal.js"
import * as KeySpace from "./keySpace.js"
import * as Local from "./local.js"
import { metrics } from "./metrics.js"
import { makeObserver } from "./observe.js"
import * as Outage from "./outage.js"
import * as Planner from "./plan.js"
import * as Refused from "./refused.js"
import * as Settings from "./settings.js"
import * as SingleFlight from "./singleFlight.js"
import * as Tiered from "./tiered.js"
import * as Validate from "./validate.js"
import * as Values from "./values.js"
import * as View from "./view.js"

const defaultPrefix = "cachet:"

/** The place of the namespace `name` under `parent`, or why `name` is refused. */
const childPlace = (parent: Place, name: unknown): Validate.Checked<Place> =>
  Either.map(Validate.namespace(name), (checked) => ({
    prefix: `${parent.prefix}${checked}${KeySpace.separator}`,
    namespace: parent.namespace === "" ? checked : `${parent.namespace}${KeySpace.separator}${checked}`
  }))

/** Children made once per name: a namespace is the same view however often it is asked for. */
const memo = <V>(make: (name: string) => V): ((name: string) => V) => {
  const made = new Map<string, V>()
  return (name) => {
    let found = made.get(name)
    if (found === undefined) {
      found = make(name)
      made.set(name, found)
    }
    return found
  }
}

const makeView = <A>(cache: Shared, place: Place, codec: ValueCodec<A>): Cache.View<A> => {
  // A binary codec's view reads through the backend's byte reads; the rest of the cache it shares.
  const shared = codec.binary
    ? { ...cache, backend: { ...cache.backend, commands: cache.backend.bytesCommands } }
    : cache
  const observer = makeObserver(shared.observe, place)
  const values = Values.make(codec)
  const context: ViewContext<A> = {
    ...place,
    shared,
    values,
    observer,
    heals: Heal.make(shared.observe.backend, place.namespace, shared.observe.metrics),
    flights: SingleFlight.make<A>(() => observer.count(metrics.singleFlightJoins)),
    // A value decoded by one codec (and schema) is only ever served by the view that decoded it.
    tiered:
      shared.local === undefined ? undefined : Tiered.make(shared.local, place.prefix, values, shared.backend.commands)
  }
  // Entry handles call the guarded view, so that their arguments are guarded too.
  const view: Cache.View<A> = Guard.view(
    {
      ...View.make(context),
      getOrSet: GetOrSet.make(context),
      getOrSetMany: GetOrSetMany.make(context),
      entry: (key) => Entry.make(view, key),
      namespace: memo((name) => {
        const child = childPlace(place, name)
        return Either.isLeft(child) ? Refused.view<A>(child.left, place.prefix) : makeView(cache, child.right, codec)
      })
    },
    observer
  )
  return Outage.register(view, shared.outage)
}

/** Views keyed by their schema and codec. */
const schemaViews = () => {
  const views = new WeakMap<object, Map<Codec, unknown>>()
  return {
    // Sound by construction: `set` is the only writer and stores, under a schema, a view of that schema's type.
    get: <A, I>(schema: Schema.Schema<A, I, never>, codec: Codec) =>
      views.get(schema)?.get(codec) as Cache.View<A> | undefined,
    set: <A, I>(schema: Schema.Schema<A, I, never>, codec: Codec, view: Cache.View<A>) => {
      let byCodec = views.get(schema)
      if (byCodec === undefined) {
        byCodec = new Map()
        views.set(schema, byCodec)
      }
      byCodec.set(codec, view)
    }
  }
}

const makeService = (shared: Shared, place: Place): Cache.Service => {
  const { prefix } = place
  const view = makeView(shared, place, plainValue(shared.codec))
  const observer = makeObserver(shared.observe, place)
  const typedViews = schemaViews()
  const { commands } = shared.backend

  const incrementBy = (operation: Operation, key: string, by: number | bigint, negate: boolean) => {
    const checked = Either.flatMap(Validate.key(operation, key), () => Validate.amount(operation, key, by, negate))
    if (Either.isLeft(checked)) return observer.refuse(checked.left)
    // A counter is stored as decimal text, which only the JSON codec reads back as the number it is.
    if (shared.codec !== json) {
      return observer.refuse(
        new CacheInvalidInputError({
          operation,
          key,
          code: "INVALID_ARGUMENT",
          reason: `counters need the JSON codec: this cache stores values with the ${shared.codec.name} codec, which would not read a counter back`
        })
      )
    }
    const amount = checked.right
    const full = prefix + key
    const { local } = shared
    return observer.call(
      operation,
      key,
      local === undefined
        ? () => commands.increment(full, amount)
        : () => Tiered.changed(local, [full], () => commands.increment(full, amount)),
      Exit.succeed
    )
  }

  const forSchema = <A, I>(schema: Schema.Schema<A, I, never>, codec: Codec = shared.codec): Cache.View<A> => {
    const checked = Either.flatMap(Validate.schema(schema), () => Validate.codec(codec))
    if (Either.isLeft(checked)) return Refused.view<A>(checked.left, prefix)
    // A value decoded through one codec never reaches a view of another.
    const known = typedViews.get(schema, codec)
    if (known !== undefined) return known
    const typed = makeView<A>(shared, place, schemaValue(codec, schema))
    typedViews.set(schema, codec, typed)
    return typed
  }

  const service: Cache.Service = Guard.service(
    {
      ...view,
      backend: shared.observe.backend,
      codec: shared.codec,
      increment: (key, by = 1) => incrementBy("increment", key, by, false),
      decrement: (key, by = 1) => incrementBy("decrement", key, by, true),
      forSchema,
      namespace: memo((name) => {
        const child = childPlace(place, name)
        return Either.isLeft(child)
          ? Refused.service(child.left, prefix, shared.observe.backend, shared.codec)
          : makeService(shared, child.right)
      })
    },
    observer
  )
  return Outage.register(service, shared.outage)
}

/** The settings of `options`, or why they are refused (an option that throws when read included). */
const settingsOf = (options: Cache.Options): Validate.Checked<Settings.MakePlan> => {
  try {
    return Settings.make(options, defaultPrefix)
  } catch (cause) {
    return Either.left(Validate.threw("make", cause))
  }
}

/** @internal */
export const checkOptions = (options: Cache.Options = {}): Effect.Effect<void, CacheInvalidInputError> =>
  Effect.suspend(() => {
    const checked = settingsOf(options)
    return Either.isLeft(checked) ? Effect.fail(checked.left) : Effect.void
  })

/** @internal */
export const make = (
  backend: Backend,
  options: Cache.Options = {}
): Effect.Effect<Cache.Service, CacheError, Scope.Scope> =>
  Effect.suspend(() => {
    const checked = settingsOf(options)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const { prefix, defaultTimeToLive, jitter } = checked.right
    const complete = Backends.complete(backend)
    // Every metric of the cache, the operations' and the rest (heals, refreshes, the tier's, fail-open), or none.
    const counted = options.metrics ?? true
    return Effect.flatMap(Effect.scope, (scope) =>
      Effect.map(localTier(backend, prefix, checked.right.local, counted), (local) =>
        makeService(
          {
            backend: complete,
            codec: options.codec ?? json,
            planner: Planner.make(defaultTimeToLive, jitter),
            scope,
            outage: Outage.make(backend.name, counted),
            local,
            observe: {
              backend: backend.name,
              server: backend.server,
              retry: options.retry,
              metrics: counted,
              spans: options.spans ?? true,
              spanKeys: options.spanKeys ?? false,
              synchronous: complete.synchronous
            }
          },
          { prefix, namespace: "" }
        )
      )
    )
  })

/** The local tier of a cache that asked for one, wired to the backend's coherence (set up in the scope). */
const localTier = (
  backend: Backend,
  prefix: string,
  settings: Local.LocalSettings | undefined,
  counted: boolean
): Effect.Effect<Local.Tier | undefined, CacheError, Scope.Scope> => {
  if (settings === undefined) return Effect.succeed(undefined)
  const { coherence } = backend
  if (coherence === undefined && settings.invalidation !== undefined) {
    return Effect.fail(
      new CacheInvalidInputError({
        operation: "make",
        code: "INVALID_ARGUMENT",
        reason: `local.invalidation "${settings.invalidation}": the ${backend.name} backend has no cross-process invalidation (its local tier follows this process's writes)`
      })
    )
  }
  return Effect.flatMap(Effect.clock, (clock) => {
    const tier = Local.make(
      settings,
      clock,
      [MetricLabel.make("backend", backend.name)],
      backend.expiryClock === "server",
      counted
    )
    if (coherence === undefined) return Effect.succeed(tier)
    return Effect.map(coherence({ prefix, mode: settings.invalidation, receive: tier.receive }), (made) => {
      tier.connect(made)
      return tier
    })
  })
}
