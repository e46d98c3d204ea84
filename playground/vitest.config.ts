import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "playground",
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
