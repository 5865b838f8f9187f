import { defineProject } from "vitest/config"
import { sharedTestOptions } from "../../vitest.shared.js"

export default defineProject({
  resolve: { conditions: ["@cachet/source"] },
  ssr: { resolve: { conditions: ["@cachet/source"] } },
  test: {
    ...sharedTestOptions,
    name: "memory",
    include: ["test/**/*.test.ts"]
  }
})
