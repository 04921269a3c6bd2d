/**
 * `fixloop migrate`, the deploy step that gives a remote (Turso) database its
 * schema, since the Lambda functions never migrate. A libSQL file stands in
 * for the remote database.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { describeMigrateReport, migrateDatabase, migrationsOnDisk, migrationState, withoutSecrets } from "../src/cli/migrate.js";
import { MIGRATIONS_FOLDER, openStore, type Store } from "../src/store/db.js";

const run = promisify(execFile);

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "fixloop-migrate-"));
  store = await openStore({ url: `file:${join(dir, "remote.db")}`, migrate: false });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Everything that defines the schema, plus drizzle's bookkeeping rows. */
async function schemaSnapshot(s: Store) {
  const objects = await s.client.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name");
  const recorded = await s.client.execute('SELECT hash, created_at FROM "__drizzle_migrations" ORDER BY created_at');
  return { objects: objects.rows.map((r) => ({ ...r })), recorded: recorded.rows.map((r) => ({ ...r })) };
}

describe("fixloop migrate", () => {
  test("an empty database gets every migration, in order, and says which", async () => {
    const onDisk = migrationsOnDisk();
    expect(onDisk.length).toBeGreaterThan(0);
    expect(await migrationState(store)).toMatchObject({ applied: [], pending: onDisk });

    const report = await migrateDatabase(store);

    expect(report.applied).toEqual(onDisk.map((m) => m.tag));
    expect(report.after).toMatchObject({ pending: [], changed: [] });
    const tables = (await store.client.execute("SELECT name FROM sqlite_master WHERE type = 'table'")).rows.map((r) => String(r.name));
    expect(tables).toEqual(expect.arrayContaining(["delivery_records", "delivery_bodies", "jobs", "feedback", "fix_attempts"]));
    expect(describeMigrateReport(report)[1]).toBe(`applied ${onDisk.length} migration${onDisk.length === 1 ? "" : "s"}: ${onDisk.map((m) => m.tag).join(", ")}`);
  });

  test("running it twice changes nothing the second time", async () => {
    await migrateDatabase(store);
    const before = await schemaSnapshot(store);
    const second = await migrateDatabase(store);
    expect(second.applied).toEqual([]);
    expect(await schemaSnapshot(store)).toEqual(before);
    expect(describeMigrateReport(second)[1]).toMatch(/^up to date: \d+ of \d+ migrations applied, at .+; nothing to do$/);
  });

  test("a database that is one migration behind gets only the rest", async () => {
    const onDisk = migrationsOnDisk();
    expect(onDisk.length).toBeGreaterThanOrEqual(2);
    // Bring the database to the state of the first migration alone, as an older deploy left it.
    await store.client.execute('CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)');
    const first = readFileSync(join(MIGRATIONS_FOLDER, `${onDisk[0].tag}.sql`), "utf8");
    for (const statement of first.split("--> statement-breakpoint")) if (statement.trim()) await store.client.execute(statement);
    await store.client.execute({ sql: 'INSERT INTO "__drizzle_migrations" ("hash", "created_at") VALUES (?, ?)', args: [onDisk[0].hash, onDisk[0].when] });

    const report = await migrateDatabase(store);
    expect(report.applied).toEqual(onDisk.slice(1).map((m) => m.tag));
  });

  test("an applied migration whose file was edited afterwards is reported", async () => {
    await migrateDatabase(store);
    const edited = migrationsOnDisk().map((m, i) => (i === 0 ? { ...m, hash: "0".repeat(64) } : m));
    expect((await migrationState(store, edited)).changed).toEqual([edited[0].tag]);
  });

  test("an auth token in the URL is never printed", () => {
    expect(withoutSecrets("libsql://fixloop-acme.turso.io?authToken=secret")).toBe("libsql://fixloop-acme.turso.io");
  });

  test("the command: migrate, migrate again, --check", { timeout: 60_000 }, async () => {
    const url = `file:${join(dir, "cli.db")}`;
    const cli = (...args: string[]) => run(process.execPath, ["--import", "tsx", "src/cli/index.ts", "migrate", "--url", url, ...args], { env: { ...process.env, DATABASE_URL: "" } });

    const pending = await cli("--check").catch((error: { code: number; stdout: string }) => error);
    expect((pending as { code: number }).code).toBe(1);
    expect((pending as { stdout: string }).stdout).toMatch(/pending: 0000_init/);

    const first = await cli();
    expect(first.stdout).toMatch(/^database: file:.*cli\.db\napplied \d+ migrations?: 0000_init/);
    const second = await cli();
    expect(second.stdout).toMatch(/nothing to do/);
    const check = await cli("--check", "--json");
    expect(JSON.parse(check.stdout)).toMatchObject({ pending: [], changed: [] });
  });
});
