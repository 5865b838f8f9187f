// `@cachet/core/testing`: the conformance suite of `@cachet/testing` (an optional peer of the core).
export * from "@cachet/testing"
