import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    // Each file gets its own database and nock scope; files run in parallel forks.
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 20_000,
    setupFiles: ["test/setup.ts"],
  },
});
