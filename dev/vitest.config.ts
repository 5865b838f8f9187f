import { defineProject } from "vitest/config"
import { sharedTestOptions } from "../vitest.shared.js"

export default defineProject({
  resolve: { conditions: ["@cachet/source"] },
  ssr: { resolve: { conditions: ["@cachet/source"] } },
  test: {
    ...sharedTestOptions,
    globalSetup: ["src/globalSetup.ts"],
    name: "dev",
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
