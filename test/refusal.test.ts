/**
 * The refusal comment's edges (the PR case end to end is in fix-e2e): a push
 * run with no PR and a dry run post nothing; a locked PR (403) is logged and
 * left; a GitHub outage (5xx) is thrown so the job is retried.
 */
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { postRefusal } from "../src/fix/refusal.js";
import type { FixAttempt } from "../src/store/schema.js";
import { unthrottledOctokit } from "./faults/support/octokit.js";

const API = "https://api.github.com";
const octokit = new (unthrottledOctokit())({ auth: "ghs_test" });
const attempt = { id: "01a250ee-4b08-7710-9752-9d82210d8a22", attemptNumber: 1 } as FixAttempt;
let warnings: unknown[];
const base = () => ({ owner: "acme", repo: "widgets", attempt, violations: ["x.yml: no"], maxAttempts: 3, workflow: "CI", runId: "1", dryRun: false, log: { warn: (o: unknown) => void warnings.push(o) } });

beforeEach(() => {
  nock.disableNetConnect();
  warnings = [];
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe("postRefusal", () => {
  test("a push run with no PR, and a dry run: nothing is asked of GitHub", async () => {
    expect(await postRefusal(octokit as never, { ...base(), prNumber: null })).toBe(false);
    expect(await postRefusal(octokit as never, { ...base(), prNumber: 7, dryRun: true })).toBe(false);
  });

  test("a locked PR (403) is logged and left; the attempt keeps the reason", async () => {
    nock(API).get("/repos/acme/widgets/issues/7/comments").query(true).reply(200, []);
    nock(API).post("/repos/acme/widgets/issues/7/comments").reply(403, { message: "Unable to create comment because issue is locked." });
    expect(await postRefusal(octokit as never, { ...base(), prNumber: 7 })).toBe(false);
    expect(warnings).toHaveLength(1);
  });

  test("a GitHub outage is thrown, so the job is retried and says it then", async () => {
    nock(API).get("/repos/acme/widgets/issues/7/comments").query(true).reply(502, { message: "Bad Gateway" });
    await expect(postRefusal(octokit as never, { ...base(), prNumber: 7 })).rejects.toMatchObject({ status: 502 });
  });
});
