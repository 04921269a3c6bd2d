import nock from "nock";
import { describe, expect, it } from "vitest";
import { GatewayUnavailableError, TensorZeroModelClient } from "../src/fix/model.js";
import { buildPatchRequestArguments, buildPatchSystemArguments } from "../src/fix/prompt.js";
import { nockGuard } from "./nock-guard.js";

const GATEWAY = "http://tensorzero.test";

function modelClient() {
  return new TensorZeroModelClient({
    gateway: { url: GATEWAY },
    retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 },
    sleep: async () => {},
  });
}

function proposal() {
  const input = { repo: "acme/widgets", workflow: "CI", job: "test", failingStep: "test", failureClass: "test", errorLines: ["boom"], logExcerpt: "boom", files: [], attempt: 1, maxAttempts: 3 };
  return {
    episodeId: "0192e5a4-1111-7000-8000-000000000002",
    tags: { repo: "acme/widgets", run: "1", attempt: "1" },
    system: buildPatchSystemArguments({ maxFiles: 5, maxChangedLines: 200, protectedPaths: [] }),
    user: (factor: number) => buildPatchRequestArguments(input, { tokenBudget: 6_000 * factor }),
  };
}

// The suite-wide guard (test/setup.ts) checks after each test; these tests take what they provoke
// themselves, so the check after them sees a clean test.
describe("nock guard", () => {
  it("names a mock the code never called", () => {
    const guard = nockGuard();
    nock("https://api.github.com").get("/repos/acme/widgets").reply(200, {});
    expect(guard.takeLeftovers()).toEqual([expect.stringMatching(/1 nock mock\(s\) never called:\n {2}GET https:\/\/api\.github\.com:443\/repos\/acme\/widgets/)]);
    expect(guard.takeLeftovers()).toEqual([]);
  });

  it("makes an unmatched gateway request loud although the model client retries it as a connection error", async () => {
    const guard = nockGuard();
    nock(GATEWAY).post("/feedback").optionally().reply(200, {});
    // Nothing answers the chat completion path: the client sees a connection error, retries, and gives up.
    const error = await modelClient().proposePatch(proposal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayUnavailableError);
    const leftovers = guard.takeLeftovers();
    expect(leftovers).toHaveLength(1);
    expect(leftovers[0]).toMatch(/2 request\(s\) no nock mock matched:\n {2}POST tensorzero\.test\/openai\/v1\/chat\/completions/);
  });
});
