import { join } from "node:path";
import { Command } from "commander";
import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { parsePrRef, registerAttributeCommand, runAttributeCommit, runAttributePr, type AttributeIo } from "../src/cli/attribute.js";
import { AGENT_TRAILERS, agentSessionId, coAuthorAgents } from "../src/outcomes/attribution-agents.js";
import { attributeCommits, attributeCommitsDetailed, parseCommitRefs, type PushedCommit } from "../src/outcomes/attribution.js";
import { explainCommit, explainPr } from "../src/outcomes/attribution-explain.js";
import { recordAuthoredLink, refreshPrLinks } from "../src/store/commit-links.js";
import { formatCommitAttribution } from "../src/outcomes/attribution-format.js";
import { touchConfidence } from "../src/store/link-confidence.js";
import { openStore } from "../src/store/db.js";
import { commitLinks, fixAttempts, prOutcomes, type FixAttempt } from "../src/store/schema.js";
import { ADMIN_TOKEN, createTempStore, startTestServer, type TempStore } from "./helpers.js";

const REPO = "acme/widgets";
const T0 = Date.parse("2024-06-01T10:00:00.000Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const sha = (c: string) => c.repeat(40);

let attemptCounter = 0;
async function seedAttempt(store: Pick<TempStore, "db">, values: Partial<typeof fixAttempts.$inferInsert> = {}): Promise<FixAttempt> {
  attemptCounter += 1;
  const createdAt = values.createdAt ?? at(0);
  const [row] = await store.db
    .insert(fixAttempts)
    .values({
      id: `attempt-${attemptCounter}`,
      repoSlug: REPO,
      chainId: `chain-${attemptCounter}`,
      triggerProvider: "github-actions",
      triggerRunId: String(9000 + attemptCounter),
      workflowName: "CI",
      headSha: sha("0"),
      status: "ci_passed",
      variant: "gpt_4o_mini",
      inferenceId: `0190c0de-0000-7000-8000-00000000000${attemptCounter % 10}`,
      changedFiles: ["src/app.ts"],
      createdAt,
      updatedAt: createdAt,
      ...values,
    })
    .returning();
  return row;
}

async function seedPr(store: Pick<TempStore, "db">, values: Partial<typeof prOutcomes.$inferInsert> & { prNumber: number }) {
  await store.db.insert(prOutcomes).values({
    provider: "github",
    repoSlug: REPO,
    title: "a PR",
    state: "open",
    headRef: "feature",
    baseRef: "main",
    rawJson: {},
    recordedAt: at(0),
    ...values,
  });
}

function commit(values: Partial<PushedCommit> & { sha: string }): PushedCommit {
  return { message: "change things", authorLogin: "jane", authorEmail: "jane@example.com", timestamp: at(5), files: ["src/app.ts"], ...values };
}

async function prLinks(store: TempStore, number: number): Promise<string[]> {
  const [row] = await store.db.select().from(prOutcomes).where(and(eq(prOutcomes.repoSlug, REPO), eq(prOutcomes.prNumber, number)));
  return row.linkedSessionIds;
}

let store: TempStore;
beforeEach(async () => {
  store = await createTempStore();
});
afterEach(() => {
  store.dispose();
});

describe("co-authored-by trailers", () => {
  test.each([
    ["Claude", "Co-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>"],
    ["Claude", "co-authored-by: Claude <noreply@anthropic.com>"],
    ["GitHub Copilot", "Co-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>"],
    ["GitHub Copilot", "Co-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>"],
    ["Cursor", "Co-authored-by: Cursor Agent <cursoragent@cursor.com>"],
    ["Devin", "Co-Authored-By: Devin <158243242+devin-ai-integration[bot]@users.noreply.github.com>"],
    ["OpenAI Codex", "Co-authored-by: Codex <codex@openai.com>"],
    ["OpenAI Codex", "Co-Authored-By: OpenAI Codex <noreply@openai.com>"],
    ["Aider", "Co-authored-by: aider (gpt-4o) <noreply@aider.chat>"],
    ["Google Jules", "Co-authored-by: google-labs-jules[bot] <161369871+google-labs-jules[bot]@users.noreply.github.com>"],
    ["Gemini Code Assist", "Co-authored-by: gemini-code-assist[bot] <176961590+gemini-code-assist[bot]@users.noreply.github.com>"],
    ["Amazon Q Developer", "Co-authored-by: Amazon Q Developer <208079219+amazon-q-developer[bot]@users.noreply.github.com>"],
  ])("%s: %s", (agent, trailer) => {
    const message = `Fix the parser\r\n\r\nLonger explanation.\r\n\r\n${trailer}\r\nSigned-off-by: Jane <jane@example.com>\r\n`;
    expect(coAuthorAgents(message)).toEqual([{ agent, trailer: trailer.slice(trailer.indexOf(":") + 1).trim() }]);
  });

  test("human co-authors, look-alike names and prose are not agents", () => {
    expect(coAuthorAgents("Pair work\n\nCo-authored-by: Jane Doe <jane@example.com>")).toEqual([]);
    // The name alone proves nothing: the address is a person's.
    expect(coAuthorAgents("Paint\n\nCo-authored-by: Claude Monet <claude@monet.example>")).toEqual([]);
    expect(coAuthorAgents("Docs\n\nCo-authored-by: ChatGPT <noreply@openai.com>")).toEqual([]);
    expect(coAuthorAgents("Explain that Co-authored-by: Claude <noreply@anthropic.com> credits the agent")).toEqual([]);
  });

  test("each agent once, in order, from a squash message that repeats trailers", () => {
    const message = [
      "Add search (#12)",
      "",
      "* first\n\nCo-authored-by: Claude <noreply@anthropic.com>",
      "* second\n\nCo-authored-by: Claude Sonnet 4.5 <noreply@anthropic.com>",
      "Co-authored-by: Jane Doe <jane@example.com>",
      "Co-authored-by: Cursor Agent <cursoragent@cursor.com>",
    ].join("\n");
    expect(coAuthorAgents(message)).toEqual([
      { agent: "Claude", trailer: "Claude <noreply@anthropic.com>" },
      { agent: "Cursor", trailer: "Cursor Agent <cursoragent@cursor.com>" },
    ]);
  });

  test("every listed agent gets a stable session id", () => {
    expect(agentSessionId("Claude")).toBe("agent:claude");
    expect(agentSessionId("GitHub Copilot")).toBe("agent:github-copilot");
    expect(new Set(AGENT_TRAILERS.map((t) => agentSessionId(t.agent))).size).toBe(new Set(AGENT_TRAILERS.map((t) => t.agent)).size);
  });

  test("a Claude trailer becomes a co-authored link; a human one does not", async () => {
    const links = await attributeCommits(store.db, {
      repo: REPO,
      branch: "refs/heads/main",
      commits: [
        commit({ sha: sha("a"), message: "Refactor\n\nCo-Authored-By: Claude <noreply@anthropic.com>", files: ["docs/x.md"] }),
        commit({ sha: sha("b"), message: "Pair\n\nCo-authored-by: Jane Doe <jane@example.com>", files: ["docs/y.md"] }),
      ],
    });
    expect(links).toHaveLength(1);
    expect(links[0]).toMatchObject({ commitSha: sha("a"), sessionId: "agent:claude", linkType: "co-authored", confidence: 0.9 });
    expect(links[0].evidenceJson).toMatchObject({ rule: "co-authored-by-trailer", agent: "Claude", branch: "main" });
  });

  test("an agent's own account as the commit author is a co-authored link", async () => {
    const links = await attributeCommits(store.db, {
      repo: REPO,
      branch: "copilot/fix-12",
      commits: [commit({ sha: sha("c"), authorLogin: "Copilot", authorEmail: "198982749+Copilot@users.noreply.github.com", files: ["x.ts"] })],
    });
    expect(links).toMatchObject([{ sessionId: "agent:github-copilot", linkType: "co-authored", confidence: 0.95 }]);
  });
});

describe("commit messages", () => {
  test("merge, squash and fixloop's own message", () => {
    expect(parseCommitRefs("Merge pull request #57 from acme/fixloop/run-9001\n\nfixloop: fix CI")).toMatchObject({
      mergedPr: 57,
      mergedBranch: "fixloop/run-9001",
      squashPr: null,
      isMerge: true,
    });
    expect(parseCommitRefs("fixloop: fix CI on main (#57)\n\nbody")).toMatchObject({ mergedPr: null, squashPr: 57, isMerge: false });
    expect(parseCommitRefs("Merge branch 'main' into feature").isMerge).toBe(true);
    expect(parseCommitRefs("fixloop: fix CI\n\nTensorZero inference 0190c0de-aaaa-7000-8000-000000000001, variant v").inferenceIds).toEqual([
      "0190c0de-aaaa-7000-8000-000000000001",
    ]);
  });
});

describe("authored links", () => {
  test("recordAuthoredLink → explainCommit says it came from the attempt at 1.0, with how it fared", async () => {
    const attempt = await seedAttempt(store, { prNumber: 57, fixBranch: "fixloop/run-9001", fixCommitSha: sha("f") });
    await seedPr(store, { prNumber: 57, state: "merged", headRef: "fixloop/run-9001", headSha: sha("f"), mergedAt: at(30), downstreamTouchCount: 2 });
    await recordAuthoredLink(store.db, { repo: REPO, commitSha: sha("f").toUpperCase(), attemptId: attempt.id, evidence: { publishedBy: "pipeline" } });

    const answer = await explainCommit(store.db, { sha: "fffffff" });
    expect(answer).toMatchObject({ sha: sha("f"), repo: REPO, hiddenCount: 0 });
    expect(answer?.links).toHaveLength(1);
    expect(answer?.links[0]).toMatchObject({
      sessionId: attempt.id,
      linkType: "authored",
      confidence: 1,
      evidence: { rule: "fix-commit", publishedBy: "pipeline" },
      attempt: { id: attempt.id, variant: "gpt_4o_mini", triggerRunId: attempt.triggerRunId, ci: "passed", prNumber: 57 },
      pr: { number: 57, merged: true, reverted: false, downstreamTouchCount: 2 },
    });
    expect(formatCommitAttribution(answer!)).toEqual([
      `fffffff in ${REPO} came from fix attempt ${attempt.id} (variant gpt_4o_mini, run ${attempt.triggerRunId}, PR #57; CI passed; merged; not reverted; touched 2 times since). [authored, confidence 1.00]`,
    ]);
    // Recording the publish also linked the PR.
    expect(await prLinks(store, 57)).toEqual([attempt.id]);
    // GitHub's owner/name are case-insensitive, and so is every lookup by repository.
    expect(await explainCommit(store.db, { sha: "fffffff", repo: REPO.toUpperCase() })).toEqual(answer);
  });

  test("a fixloop commit pushed before the attempt knows its sha is recognised by its message on the fix branch", async () => {
    const attempt = await seedAttempt(store);
    const links = await attributeCommits(store.db, {
      repo: REPO,
      branch: "fixloop/run-9001",
      commits: [commit({ sha: sha("e"), message: `fixloop: fix CI failure\n\nAttempt 1 of 3 for run 1.\nTensorZero inference ${attempt.inferenceId}, variant v.` })],
    });
    // Authored, and not also an inferred follow-up of itself.
    expect(links).toMatchObject([{ sessionId: attempt.id, linkType: "authored", confidence: 1 }]);
  });

  test("the squash commit that lands a fix PR is authored by the attempt", async () => {
    const attempt = await seedAttempt(store, { prNumber: 57, fixBranch: "fixloop/run-9001" });
    await seedPr(store, { prNumber: 57, state: "merged", headRef: "fixloop/run-9001" });
    const links = await attributeCommits(store.db, {
      repo: REPO,
      branch: "main",
      commits: [commit({ sha: sha("5"), message: "fixloop: fix CI on main (#57)", timestamp: at(20) })],
    });
    expect(links).toMatchObject([{ sessionId: attempt.id, linkType: "authored", confidence: 0.9, evidenceJson: { rule: "merge-of-fix-pr", pr: 57 } }]);
  });
});

describe("inferred-by-touch", () => {
  test("a commit touching the fix's file minutes later, with nothing else around, is linked at ≥ 0.7", async () => {
    const attempt = await seedAttempt(store, { changedFiles: ["src/app.ts", "src/util.ts"] });
    const links = await attributeCommits(store.db, { repo: REPO, branch: "main", commits: [commit({ sha: sha("1"), timestamp: at(6) })] });
    expect(links).toHaveLength(1);
    expect(links[0]).toMatchObject({ sessionId: attempt.id, linkType: "inferred-by-touch" });
    expect(links[0].confidence).toBeGreaterThanOrEqual(0.7);
    expect(links[0].confidence).toBe(0.9);
    expect(links[0].evidenceJson).toMatchObject({ files: ["src/app.ts"], minutesAfter: 6, onlyFixFiles: true, competitors: 1 });

    const answer = await explainCommit(store.db, { sha: sha("1"), repo: "ACME/Widgets" });
    expect(formatCommitAttribution(answer!)[0]).toBe(
      `1111111 in ${REPO} probably followed up fix attempt ${attempt.id} (variant gpt_4o_mini, run ${attempt.triggerRunId}, no PR; CI passed): it touched src/app.ts 6 min after the fix. [inferred-by-touch, confidence 0.90]`,
    );
  });

  test("the rubric: later, or touching more than the fix, is less sure", async () => {
    expect(touchConfidence({ afterMs: 5 * 60_000, onlyFixFiles: true, competitors: 1 })).toBe(0.9);
    expect(touchConfidence({ afterMs: 5 * 60_000, onlyFixFiles: false, competitors: 1 })).toBe(0.8);
    expect(touchConfidence({ afterMs: 90 * 60_000, onlyFixFiles: true, competitors: 1 })).toBe(0.7);
    expect(touchConfidence({ afterMs: 90 * 60_000, onlyFixFiles: false, competitors: 1 })).toBe(0.6);
    expect(touchConfidence({ afterMs: 5 * 60_000, onlyFixFiles: true, competitors: 2 })).toBe(0.4);
    expect(touchConfidence({ afterMs: 90 * 60_000, onlyFixFiles: false, competitors: 3 })).toBe(0.2);
  });

  test("outside the window, before the fix, or on other files: no link", async () => {
    await seedAttempt(store);
    const links = await attributeCommits(store.db, {
      repo: REPO,
      branch: "main",
      commits: [
        commit({ sha: sha("2"), timestamp: at(121) }),
        commit({ sha: sha("3"), timestamp: at(-1) }),
        commit({ sha: sha("4"), timestamp: at(5), files: ["src/other.ts"] }),
        commit({ sha: sha("6"), timestamp: at(5), message: "Merge branch 'main' into feature" }),
      ],
    });
    expect(links).toEqual([]);
  });

  test("two candidate fixes: both links stay below 0.5 and the default answer hides them", async () => {
    const first = await seedAttempt(store, { createdAt: at(0) });
    const second = await seedAttempt(store, { createdAt: at(2) });
    const links = await attributeCommits(store.db, { repo: REPO, branch: "main", commits: [commit({ sha: sha("7"), timestamp: at(10) })] });
    expect(links.map((l) => l.sessionId).sort()).toEqual([first.id, second.id].sort());
    for (const link of links) expect(link.confidence).toBeLessThan(0.5);

    const answer = await explainCommit(store.db, { sha: sha("7") });
    expect(answer).toMatchObject({ links: [], hiddenCount: 2 });
    expect(formatCommitAttribution(answer!)).toEqual([
      `7777777 in ${REPO}: no session linked at confidence ≥ 0.50.`,
      "(2 weaker candidates below confidence 0.50 not shown; --min-confidence 0 shows them)",
    ]);
    expect((await explainCommit(store.db, { sha: sha("7"), minConfidence: 0 }))?.links).toHaveLength(2);
  });

  test("fixloop's own commit is never another fix's follow-up, whether found now or recorded before", async () => {
    const other = await seedAttempt(store, { createdAt: at(0) });
    const mine = await seedAttempt(store, { createdAt: at(1), fixCommitSha: sha("a"), fixBranch: "fixloop/run-2" });
    const found = await attributeCommits(store.db, {
      repo: REPO,
      branch: "fixloop/run-2",
      commits: [commit({ sha: sha("a"), timestamp: at(5) })],
    });
    expect(found.map((l) => [l.sessionId, l.linkType])).toEqual([[mine.id, "authored"]]);

    // The pipeline recorded the commit as published (a sha no attempt row points at yet).
    await recordAuthoredLink(store.db, { repo: REPO, commitSha: sha("b"), attemptId: mine.id });
    const recorded = await attributeCommits(store.db, { repo: REPO, branch: "fixloop/run-2", commits: [commit({ sha: sha("b"), timestamp: at(6) })] });
    expect(recorded.map((l) => [l.sessionId, l.linkType])).toEqual([[mine.id, "authored"]]);
    expect(recorded.some((l) => l.sessionId === other.id)).toBe(false);

    // The same, when the push names the repository in another case (owner/name are case-insensitive on GitHub).
    await recordAuthoredLink(store.db, { repo: REPO, commitSha: sha("c"), attemptId: mine.id });
    const otherCase = await attributeCommits(store.db, { repo: REPO.toUpperCase(), branch: "fixloop/run-2", commits: [commit({ sha: sha("c"), timestamp: at(7) })] });
    expect(otherCase.map((l) => [l.sessionId, l.linkType])).toEqual([[mine.id, "authored"]]);
  });

  test("an agent trailer competes with a single touch candidate", async () => {
    await seedAttempt(store);
    const links = await attributeCommits(store.db, {
      repo: REPO,
      branch: "main",
      commits: [commit({ sha: sha("8"), message: "Tweak\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>" })],
    });
    const byType = Object.fromEntries(links.map((l) => [l.linkType, l.confidence]));
    expect(byType["co-authored"]).toBe(0.9);
    expect(byType["inferred-by-touch"]).toBeLessThan(0.5);
  });
});

describe("PRs", () => {
  test("a PR is linked by its branch: its head ref is the attempt's fix branch", async () => {
    const attempt = await seedAttempt(store, { fixBranch: "fixloop/run-9001", createdAt: at(-600) });
    await seedPr(store, { prNumber: 58, headRef: "fixloop/run-9001" });
    const result = await attributeCommitsDetailed(store.db, {
      repo: REPO,
      branch: "refs/heads/fixloop/run-9001",
      commits: [commit({ sha: sha("9"), files: ["README.md"] })],
    });
    expect(result.prsUpdated).toEqual([58]);
    expect(await prLinks(store, 58)).toEqual([attempt.id]);

    const answer = await explainPr(store.db, { repo: "Acme/Widgets", number: 58 });
    expect(answer?.sessions).toMatchObject([
      { sessionId: attempt.id, kind: "fix-attempt", linkType: "authored", confidence: 1, via: ["the PR's head branch is the attempt's fix branch"] },
    ]);
    expect(answer?.linkedSessionIds).toEqual([attempt.id]);
  });

  test("agent commits pushed to a PR's branch before the PR was recorded are found when it is", async () => {
    await attributeCommits(store.db, {
      repo: REPO,
      branch: "claude/add-search",
      commits: [commit({ sha: sha("c"), message: "Add search\n\nCo-Authored-By: Claude <noreply@anthropic.com>", files: ["src/search.ts"] })],
    });
    await seedPr(store, { prNumber: 60, headRef: "claude/add-search" });
    expect(await refreshPrLinks(store.db, { repo: REPO, number: 60 })).toBe(true);
    expect(await prLinks(store, 60)).toEqual(["agent:claude"]);
    expect(await refreshPrLinks(store.db, { repo: REPO, number: 60 })).toBe(false);
    const answer = await explainPr(store.db, { repo: REPO, number: 60 });
    expect(answer?.sessions).toMatchObject([{ sessionId: "agent:claude", kind: "agent", agent: "Claude", commits: [sha("c")] }]);
  });

  test("unknown PR → null", async () => {
    expect(await explainPr(store.db, { repo: REPO, number: 999 })).toBeNull();
  });
});

test("re-running attribution over the same commits changes nothing", async () => {
  const attempt = await seedAttempt(store, { prNumber: 57, fixBranch: "fixloop/run-9001", fixCommitSha: sha("f") });
  await seedAttempt(store, { createdAt: at(1), changedFiles: ["lib/x.ts"] });
  await seedPr(store, { prNumber: 57, state: "merged", headRef: "fixloop/run-9001", headSha: sha("f"), mergeCommitSha: sha("5") });
  const input = {
    repo: REPO,
    branch: "main",
    now: new Date(at(60)),
    commits: [
      commit({ sha: sha("5"), message: "fixloop: fix CI (#57)\n\nCo-authored-by: Claude <noreply@anthropic.com>", timestamp: at(20) }),
      commit({ sha: sha("1"), timestamp: at(7) }),
      commit({ sha: sha("2"), timestamp: at(8), files: ["lib/x.ts", "src/app.ts"] }),
    ],
  };
  const first = await attributeCommitsDetailed(store.db, input);
  expect(first.written).toBeGreaterThan(0);
  const rowsAfterFirst = await store.db.select().from(commitLinks);
  const prAfterFirst = await prLinks(store, 57);
  expect(prAfterFirst).toEqual(["agent:claude", attempt.id].sort());

  const second = await attributeCommitsDetailed(store.db, { ...input, now: new Date(at(600)) });
  expect(second.written).toBe(0);
  expect(second.prsUpdated).toEqual([]);
  expect(second.links).toEqual(first.links);
  expect(await store.db.select().from(commitLinks)).toEqual(rowsAfterFirst);
  expect(await prLinks(store, 57)).toEqual(prAfterFirst);

  // A stronger link for the same session raises the row; a weaker one never lowers it.
  await recordAuthoredLink(store.db, { repo: REPO, commitSha: sha("1"), attemptId: attempt.id });
  const [raised] = await store.db.select().from(commitLinks).where(and(eq(commitLinks.commitSha, sha("1")), eq(commitLinks.sessionId, attempt.id)));
  expect(raised).toMatchObject({ linkType: "authored", confidence: 1 });
  await attributeCommits(store.db, input);
  const [kept] = await store.db.select().from(commitLinks).where(and(eq(commitLinks.commitSha, sha("1")), eq(commitLinks.sessionId, attempt.id)));
  expect(kept).toEqual(raised);
});

describe("explainCommit questions", () => {
  test("other modules' rows in commit_links (the outcomes touch ledger) are not attribution", async () => {
    const attempt = await seedAttempt(store);
    const ledger = { repoSlug: REPO, linkType: "inferred-by-touch" as const, confidence: 0, establishedTs: at(0) };
    await store.db.insert(commitLinks).values([
      { ...ledger, commitSha: sha("d"), sessionId: `downstream:${attempt.id}`, evidenceJson: { rule: "downstream-touch", fixPr: 57 } },
      { ...ledger, commitSha: sha("e"), sessionId: `downstream:${attempt.id}`, evidenceJson: { rule: "downstream-touch", fixPr: 57 } },
    ]);
    expect(await explainCommit(store.db, { sha: sha("d"), minConfidence: 0 })).toBeNull();
    await attributeCommits(store.db, { repo: REPO, branch: "main", commits: [commit({ sha: sha("e"), message: "x\n\nCo-authored-by: Claude <noreply@anthropic.com>", files: ["a.md"] })] });
    expect(await explainCommit(store.db, { sha: sha("e") })).toMatchObject({ links: [{ sessionId: "agent:claude" }], hiddenCount: 0 });
  });

  test("unknown sha → null; not a sha or ambiguous → error", async () => {
    expect(await explainCommit(store.db, { sha: sha("d") })).toBeNull();
    await expect(explainCommit(store.db, { sha: "not-a-sha" })).rejects.toThrow(/not a commit sha/);
    await attributeCommits(store.db, {
      repo: REPO,
      branch: "main",
      commits: [
        commit({ sha: `abcd${"1".repeat(36)}`, message: "x\n\nCo-authored-by: Claude <noreply@anthropic.com>" }),
        commit({ sha: `abcd${"2".repeat(36)}`, message: "y\n\nCo-authored-by: Claude <noreply@anthropic.com>" }),
      ],
    });
    await expect(explainCommit(store.db, { sha: "abcd" })).rejects.toThrow(/matches several commits/);
    expect((await explainCommit(store.db, { sha: "abcd1" }))?.links).toHaveLength(1);
  });
});

describe("API", () => {
  test("attribution routes: token required, 200 for a known commit and PR, 404 for unknown, 400 for nonsense", async () => {
    const server = await startTestServer();
    try {
      const attempt = await seedAttempt(server.store, { prNumber: 57, fixBranch: "fixloop/run-9001", fixCommitSha: sha("f") });
      await seedPr(server.store, { prNumber: 57, state: "merged", headRef: "fixloop/run-9001", headSha: sha("f") });
      await recordAuthoredLink(server.store.db, { repo: REPO, commitSha: sha("f"), attemptId: attempt.id });
      const get = (path: string, token: string | null = ADMIN_TOKEN) =>
        fetch(`${server.url}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });

      for (const path of [`/api/attribution/commit/${sha("f")}`, "/api/attribution/pr/acme/widgets/57"]) {
        const denied = await get(path, null);
        expect(denied.status).toBe(401);
        expect((await get(path, "wrong")).status).toBe(401);
      }
      const commitAnswer = await get(`/api/attribution/commit/${sha("f").slice(0, 10)}?repo=acme/widgets`);
      expect(commitAnswer.status).toBe(200);
      expect(await commitAnswer.json()).toMatchObject({ sha: sha("f"), links: [{ sessionId: attempt.id, linkType: "authored", confidence: 1 }] });

      const prAnswer = await get("/api/attribution/pr/acme/widgets/57");
      expect(prAnswer.status).toBe(200);
      expect(await prAnswer.json()).toMatchObject({ number: 57, pr: { merged: true }, sessions: [{ sessionId: attempt.id }] });

      const unknown = await get(`/api/attribution/commit/${sha("d")}`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ error: `no attribution for commit ${sha("d")}` });
      expect((await get("/api/attribution/pr/acme/widgets/999")).status).toBe(404);
      expect((await get("/api/attribution/commit/zzz")).status).toBe(400);
      expect((await get(`/api/attribution/commit/${sha("f")}?min_confidence=2`)).status).toBe(400);
      expect((await get("/api/attribution/pr/acme/widgets/x")).status).toBe(400);
      expect((await get("/api/attribution/commit")).status).toBe(404);
      // The old exact routes still answer.
      expect((await get("/api/pr-outcomes")).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe("CLI", () => {
  function captureIo(): AttributeIo & { out: () => string; err: () => string } {
    let out = "";
    let err = "";
    return {
      stdout: { write: (chunk: string) => (out += chunk) },
      stderr: { write: (chunk: string) => (err += chunk) },
      openStore: () => openStore({ url: `file:${join(store.dir, "fixloop.db")}` }),
      out: () => out,
      err: () => err,
    };
  }

  async function seedMergedFix() {
    const attempt = await seedAttempt(store, { prNumber: 57, fixBranch: "fixloop/run-9001", fixCommitSha: sha("f") });
    await seedPr(store, {
      prNumber: 57,
      state: "merged",
      headRef: "fixloop/run-9001",
      headSha: sha("f"),
      mergedAt: at(30),
      revertedAt: at(90),
      downstreamTouchCount: 1,
    });
    await recordAuthoredLink(store.db, { repo: REPO, commitSha: sha("f"), attemptId: attempt.id });
    return attempt;
  }

  test("attribute commit: one sentence, or the structure with --json", async () => {
    const attempt = await seedMergedFix();
    const io = captureIo();
    expect(await runAttributeCommit("fffffffff", {}, io)).toBe(true);
    expect(io.out()).toBe(
      `fffffff in ${REPO} came from fix attempt ${attempt.id} (variant gpt_4o_mini, run ${attempt.triggerRunId}, PR #57; CI passed; merged; reverted; touched once since). [authored, confidence 1.00]\n`,
    );

    const json = captureIo();
    await runAttributeCommit(sha("f"), { json: true, repo: REPO }, json);
    const parsed = JSON.parse(json.out());
    expect(parsed).toMatchObject({ sha: sha("f"), repo: REPO, minConfidence: 0.5, hiddenCount: 0 });
    expect(parsed.links[0]).toMatchObject({ attempt: { id: attempt.id, ci: "passed" }, pr: { number: 57, reverted: true, downstreamTouchCount: 1 } });

    const missing = captureIo();
    expect(await runAttributeCommit(sha("d"), {}, missing)).toBe(false);
    expect(missing.err()).toMatch(/no attribution recorded for commit/);
  });

  test("attribute pr: owner/repo#N, human and --json", async () => {
    const attempt = await seedMergedFix();
    const io = captureIo();
    expect(await runAttributePr("acme/widgets#57", {}, io)).toBe(true);
    expect(io.out()).toBe(
      `${REPO}#57 came from fix attempt ${attempt.id} (variant gpt_4o_mini, run ${attempt.triggerRunId}; CI passed; merged; reverted; touched once since). [authored, confidence 1.00; the attempt opened this PR, the PR's head branch is the attempt's fix branch, authored commit]\n`,
    );
    const json = captureIo();
    await runAttributePr("https://github.com/acme/widgets/pull/57", { json: true }, json);
    expect(JSON.parse(json.out())).toMatchObject({ repo: REPO, number: 57, linkedSessionIds: [attempt.id], sessions: [{ sessionId: attempt.id, commits: [sha("f")] }] });
    expect(() => parsePrRef("acme/widgets")).toThrow(/owner\/repo#N/);
  });

  test("the subcommands are wired into commander", async () => {
    await seedMergedFix();
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = `file:${join(store.dir, "fixloop.db")}`;
    let out = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      const program = new Command().exitOverride();
      registerAttributeCommand(program);
      await program.parseAsync(["attribute", "commit", sha("f"), "--json", "--min-confidence", "0.95"], { from: "user" });
    } finally {
      vi.restoreAllMocks();
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
    expect(JSON.parse(out)).toMatchObject({ sha: sha("f"), minConfidence: 0.95, links: [{ confidence: 1 }] });
  });
});
