import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@cachet/source"] },
  ssr: { resolve: { conditions: ["@cachet/source"] } },
  test: {
    name: "memory",
    include: ["test/**/*.test.ts"]
  }
})
