/**
 * Migration 0006 splits `deliveries` into `delivery_records` and
 * `delivery_bodies` behind a view of the old name: rows stored before it keep
 * their body, status and arrival order.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { afterEach, expect, test } from "vitest";
import { claimDueDeliveries, readDeliveryBody } from "../src/inbox/rows.js";
import { MIGRATIONS_FOLDER, openStore } from "../src/store/db.js";
import { deliveries } from "../src/store/schema.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the migrations folder holding only the migrations before `tag`. */
function migrationsBefore(tag: string, into: string): string {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8")) as { entries: { tag: string }[] };
  const upTo = journal.entries.findIndex((entry) => entry.tag.startsWith(tag));
  expect(upTo).toBeGreaterThan(0);
  const folder = join(into, "migrations");
  mkdirSync(join(folder, "meta"), { recursive: true });
  for (const entry of journal.entries.slice(0, upTo)) cpSync(join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), join(folder, `${entry.tag}.sql`));
  writeFileSync(join(folder, "meta/_journal.json"), JSON.stringify({ ...journal, entries: journal.entries.slice(0, upTo) }));
  return folder;
}

test("deliveries stored before 0006 keep their body, status and order after it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fixloop-migration-"));
  dirs.push(dir);
  const url = `file:${join(dir, "fixloop.db")}`;
  const old = createClient({ url });
  await migrate(drizzle(old), { migrationsFolder: migrationsBefore("0006", dir) });
  const insert = "INSERT INTO deliveries (id, event, action, repo_slug, installation_id, received_at, claimed_at, status, payload, attempts, note) VALUES (?, 'push', NULL, 'acme/widgets', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', ?, ?, 1, ?)";
  await old.execute({ sql: insert, args: ["z-first", "processed", '{"n":1}', "done"] });
  await old.execute({ sql: insert, args: ["a-second", "received", '{"n":2}', null] });
  old.close();

  const store = await openStore({ url });
  try {
    const rows = await store.db.select().from(deliveries);
    expect(rows.map((r) => [r.id, r.status, r.payload, r.note])).toEqual([
      ["z-first", "processed", { n: 1 }, "done"],
      ["a-second", "received", { n: 2 }, null],
    ]);
    // The one still waiting is still due, with its body.
    const claimed = await claimDueDeliveries(store.client, 10, new Date("2026-01-02T00:00:00Z"), 60_000);
    expect(claimed).toEqual([{ id: "a-second", event: "push", attempts: 2, receivedAt: "2026-01-01T00:00:00.000Z" }]);
    expect(await readDeliveryBody(store.client, "a-second")).toBe('{"n":2}');
  } finally {
    store.close();
  }
});
