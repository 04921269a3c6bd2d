import { eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/store/db.js";
import { clientOf, leanStatement } from "../src/store/lean-statement.js";
import { ciRuns, type NewCiRun } from "../src/store/schema.js";

describe("lean statements (Drizzle's SQL, positional arguments)", () => {
  let store: Store | undefined;
  afterEach(() => store?.close());

  it("runs Drizzle's SQL with each placeholder's value, a column's encoder applied, constants kept", async () => {
    store = await openStore({ url: ":memory:" });
    const builder = store.db
      .update(ciRuns)
      .set({ prNumbers: sql.placeholder("prNumbers") as unknown as number[], status: "cancelled", conclusion: sql.placeholder("conclusion") as unknown as string })
      .where(eq(ciRuns.runId, sql.placeholder("runId")));
    const statement = leanStatement(builder);
    expect(statement.sql).toBe(builder.toSQL().sql);
    // Table column order, as Drizzle writes the SET: status (a constant), conclusion, pr_numbers (JSON, encoded).
    expect(statement.args({ prNumbers: [7, 9], conclusion: "failure", runId: "42" })).toEqual(["cancelled", "failure", "[7,9]", "42"]);
    expect(() => statement.args({ prNumbers: [], conclusion: null })).toThrow(/No value for placeholder "runId"/);

    const row: NewCiRun = { provider: "github-actions", repoSlug: "o/r", runId: "42", commitSha: "a".repeat(40), status: "in_progress", recordedAt: "2026-01-01T00:00:00.000Z" };
    await store.db.insert(ciRuns).values(row);
    const result = await statement.run(clientOf(store.db), { prNumbers: [7, 9], conclusion: "failure", runId: "42" });
    expect(result.rowsAffected).toBe(1);
    const [stored] = await store.db.select({ prNumbers: ciRuns.prNumbers, status: ciRuns.status, conclusion: ciRuns.conclusion }).from(ciRuns);
    expect(stored).toEqual({ prNumbers: [7, 9], status: "cancelled", conclusion: "failure" });
  });
});
