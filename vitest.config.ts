import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    // The AWS SDK's "Node 20 support ends" notice is for operators of the SQS queue on Node 20, not for test runs.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    // Each file gets its own database and nock scope; files run in parallel forks.
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 20_000,
    setupFiles: ["test/setup.ts"],
  },
});
