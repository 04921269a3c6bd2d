/**
 * The daily token budget is reserved before an inference, atomically: jobs
 * racing for the last room cannot all pass and overshoot the cap.
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAttempt, tokensSpentSince } from "../src/store/attempts.js";
import { join } from "node:path";
import { estimateInferenceTokens, releaseTokens, reserveInference, reserveTokens, ANSWER_TOKEN_ALLOWANCE, TEMPLATE_TOKEN_ALLOWANCE } from "../src/fix/budget.js";
import { openStore } from "../src/store/db.js";
import { fixAttempts } from "../src/store/schema.js";
import { createTempStore, type TempStore } from "./helpers.js";

let store: TempStore;
const SINCE = "2000-01-01T00:00:00.000Z";

beforeEach(async () => {
  store = await createTempStore();
});
afterEach(() => store.dispose());

async function attempts(n: number, repo = "acme/widgets") {
  return Promise.all(
    Array.from({ length: n }, (_, i) => createAttempt(store.db, { repoSlug: repo, chainId: `c${i}`, triggerProvider: "github-actions", triggerRunId: String(i), headSha: "a".repeat(40), status: "queued" })),
  );
}

describe("token budget reservations", () => {
  test("20 concurrent jobs, room for 3: exactly 3 reserve, the spend never passes the cap", async () => {
    const rows = await attempts(20);
    const results = await Promise.all(rows.map((a) => reserveTokens(store.db, a.id, 30_000, { repo: "acme/widgets", since: SINCE, perRepo: 100_000, global: null })));
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(await tokensSpentSince(store.db, SINCE, "acme/widgets")).toBe(90_000);
  });

  test("the global cap counts every repository", async () => {
    const [a] = await attempts(1, "acme/a");
    const [b] = await attempts(1, "acme/b");
    const caps = (repo: string) => ({ repo, since: SINCE, perRepo: 100_000, global: 50_000 });
    expect(await reserveTokens(store.db, a.id, 30_000, caps("acme/a"))).toBe(true);
    expect(await reserveTokens(store.db, b.id, 30_000, caps("acme/b"))).toBe(false);
  });

  test("settling replaces the estimate; a release gives the room back; re-reserving replaces, not adds", async () => {
    const [a, b] = await attempts(2);
    const caps = { repo: "acme/widgets", since: SINCE, perRepo: 50_000, global: null };
    expect(await reserveTokens(store.db, a.id, 40_000, caps)).toBe(true);
    expect(await reserveTokens(store.db, a.id, 45_000, caps)).toBe(true);
    expect(await tokensSpentSince(store.db, SINCE)).toBe(45_000);
    expect(await reserveTokens(store.db, b.id, 10_000, caps)).toBe(false);
    await store.db.update(fixAttempts).set({ inputTokens: 1_800, outputTokens: 100 }).where(eq(fixAttempts.id, a.id));
    expect(await reserveTokens(store.db, b.id, 10_000, caps)).toBe(true);
    await releaseTokens(store.db, b.id);
    expect(await tokensSpentSince(store.db, SINCE)).toBe(1_900);
  });

  test("jobs in two processes (two connections to one database file) racing for the room: the cap holds", async () => {
    const other = await openStore({ url: `file:${join(store.dir, "fixloop.db")}`, migrate: false });
    try {
      const rows = await attempts(24);
      const caps = { repo: "acme/widgets", since: SINCE, perRepo: 100_000, global: null };
      const results = await Promise.all(rows.map((a, i) => reserveTokens((i % 2 ? other : store).db, a.id, 12_000, caps)));
      expect(results.filter(Boolean)).toHaveLength(8);
      expect(await tokensSpentSince(store.db, SINCE, "acme/widgets")).toBe(96_000);
    } finally {
      other.close();
    }
  });

  test("the reason names the cap, today's spend with reservations, and what the inference needs", async () => {
    const [a, b] = await attempts(2);
    const caps = { repo: "acme/widgets", since: SINCE, perRepo: 50_000, global: 60_000 };
    expect(await reserveInference(store.db, a.id, 30_000, caps)).toBeNull();
    expect(await reserveInference(store.db, b.id, 30_000, caps)).toBe("budget: 30000 tokens spent or reserved today, this inference needs ~30000, max_tokens_per_day is 50000");
    expect(await reserveInference(store.db, b.id, 20_000, { ...caps, perRepo: 100_000, global: 45_000 })).toBe(
      "budget: 30000 tokens spent or reserved today across repositories, this inference needs ~20000, FIXLOOP_MAX_TOKENS_PER_DAY is 45000",
    );
  });

  test("the estimate: the arguments at 4 characters a token, plus the templates and the answer", () => {
    expect(estimateInferenceTokens({ a: "x".repeat(392) })).toBe(100 + TEMPLATE_TOKEN_ALLOWANCE + ANSWER_TOKEN_ALLOWANCE);
  });
});
