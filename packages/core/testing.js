// `@cachet/core/testing`: the conformance suite, which lives in `@cachet/testing` (an optional peer of the core) so
// that its test-runner peers never stand in the way of installing the core. Install it to import it from here.
export * from "@cachet/testing"
