import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterEach, expect, test } from "vitest";
import { normaliseDatabaseUrl, openStore } from "../src/store/db.js";
import { parseSince } from "../src/time.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function schemaSnapshot(url: string) {
  const store = await openStore({ url });
  const rows = await store.db.all<{ type: string; name: string; sql: string | null }>(
    sql`SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`,
  );
  const migrations = await store.db.all<{ hash: string }>(sql`SELECT hash FROM __drizzle_migrations`);
  const journal = await store.db.get<{ journal_mode: string }>(sql`PRAGMA journal_mode`);
  store.close();
  return { rows, migrations, journal };
}

test("migrations apply at start-up and a second start changes nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fixloop-store-"));
  dirs.push(dir);
  // A nested directory that does not exist yet: openStore creates it.
  const url = `file:${join(dir, "nested", "fixloop.db")}`;
  const first = await schemaSnapshot(url);
  const second = await schemaSnapshot(url);
  expect(second).toEqual(first);
  expect(first.migrations.length).toBeGreaterThan(0);
  expect(first.journal?.journal_mode).toBe("wal");
  const tables = first.rows.filter((r) => r.type === "table").map((r) => r.name);
  expect(tables).toEqual(expect.arrayContaining(["delivery_records", "delivery_bodies", "pr_outcomes", "ci_runs", "jobs", "fix_attempts", "feedback", "commit_links"]));
  expect(first.rows.filter((r) => r.type === "view").map((r) => r.name)).toEqual(["deliveries"]);
  const indexes = first.rows.filter((r) => r.type === "index").map((r) => r.name);
  expect(indexes).toEqual(expect.arrayContaining(["ci_runs_commit_sha_idx", "ci_runs_provider_run_uq", "pr_outcomes_provider_repo_pr_uq"]));
});

test("two processes' worth of stores on one file share it (WAL + busy timeout)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fixloop-store-"));
  dirs.push(dir);
  const url = `file:${join(dir, "shared.db")}`;
  const [a, b] = await Promise.all([openStore({ url }), openStore({ url })]);
  await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      (i % 2 ? a : b).db.run(sql`INSERT INTO http_cache (key, fetched_at) VALUES (${`k${i}`}, ${"2024-01-01"})`),
    ),
  );
  const [row] = await a.db.all<{ n: number }>(sql`SELECT count(*) AS n FROM http_cache`);
  expect(Number(row.n)).toBe(40);
  a.close();
  b.close();
});

test("database URLs: bare paths get file:, remote URLs are kept", () => {
  expect(normaliseDatabaseUrl("./data/x.db")).toBe("file:./data/x.db");
  expect(normaliseDatabaseUrl("file:./data/x.db")).toBe("file:./data/x.db");
  expect(normaliseDatabaseUrl(":memory:")).toBe("file::memory:");
  expect(normaliseDatabaseUrl("libsql://fixloop-acme.turso.io")).toBe("libsql://fixloop-acme.turso.io");
});

test("--since accepts ages and dates and refuses nonsense", () => {
  const now = new Date("2024-05-31T00:00:00Z");
  expect(parseSince("30d", now)).toBe("2024-05-01T00:00:00.000Z");
  expect(parseSince("12h", now)).toBe("2024-05-30T12:00:00.000Z");
  expect(parseSince("2w", now)).toBe("2024-05-17T00:00:00.000Z");
  expect(parseSince("2024-05-01", now)).toBe("2024-05-01T00:00:00.000Z");
  expect(() => parseSince("soon", now)).toThrow(/Cannot read --since "soon"/);
});

test("a transaction open across awaits does not freeze other writes in the process", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fixloop-store-"));
  dirs.push(dir);
  const store = await openStore({ url: `file:${join(dir, "tx.db")}`, busyTimeoutMs: 3000 });
  const insert = (db: { run: typeof store.db.run }, key: string) => db.run(sql`INSERT INTO http_cache (key, fetched_at) VALUES (${key}, ${"2024-01-01"})`);
  await Promise.all([
    store.db.transaction(async (tx) => {
      await insert(tx, "in-tx-1");
      await new Promise((resolve) => setTimeout(resolve, 50));
      await insert(tx, "in-tx-2");
    }),
    // Issued while the transaction holds SQLite's write lock: it must wait its turn asynchronously.
    new Promise((resolve) => setTimeout(resolve, 10)).then(() => insert(store.db, "outside")),
  ]);
  const rows = await store.db.all<{ key: string }>(sql`SELECT key FROM http_cache ORDER BY key`);
  store.close();
  // Without the per-process turn, the outside write blocks the event loop for the whole busy
  // timeout (the transaction cannot finish meanwhile) and then fails with SQLITE_BUSY.
  expect(rows.map((r) => r.key)).toEqual(["in-tx-1", "in-tx-2", "outside"]);
});
