import { configDefaults, defineProject } from "vitest/config"
import { sharedTestOptions } from "../../vitest.shared.js"

export default defineProject({
  resolve: { conditions: ["@cachet/source"] },
  ssr: { resolve: { conditions: ["@cachet/source"] } },
  test: {
    ...sharedTestOptions,
    globalSetup: ["../../dev/src/globalSetup.ts"],
    name: "redis",
    include: ["test/**/*.test.ts"],
    // The soak is a project of its own, run after this one (vitest.soak.config.ts).
    exclude: [...configDefaults.exclude, "test/RedisSoak.test.ts"],
    // Fault tests wait on real servers (restarts, pauses, reconnect backoff); every operation is bounded inside.
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
