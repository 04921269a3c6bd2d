import { defineConfig } from "vitest/config";

/**
 * `npm run test:faults`: the fault suite (duplicate floods, a worker killed
 * mid-job, a gateway outage, fuzzed webhooks, hostile diffs, unauthenticated
 * admin routes). Files are `test/faults/*.fault.ts`, so the default `npm test`
 * (test/**\/*.test.ts) never picks them up. Each prints the figures it
 * observed as `[fault] …` lines.
 */
export default defineConfig({
  test: {
    include: ["test/faults/**/*.fault.ts"],
    environment: "node",
    // The AWS SDK's "Node 20 support ends" notice is for operators of the SQS queue on Node 20, not for test runs.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    pool: "forks",
    // Load-heavy files (the flood, the fuzz) and child processes should not compete for two cores.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    setupFiles: ["test/faults/support/setup.ts"],
  },
});
