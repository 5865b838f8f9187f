import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@cachet/source"] },
  ssr: { resolve: { conditions: ["@cachet/source"] } },
  test: {
    name: "core",
    include: ["test/**/*.test.ts"]
  }
})
