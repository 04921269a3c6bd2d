/**
 * `fixloop migrate`: applies the pending migrations to DATABASE_URL once, as
 * a deploy step. The embedded server migrates on start; the Lambda functions
 * never do (a cold start must not race a schema change), so a Turso database
 * gets its schema from here. Running it again changes nothing.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { MIGRATIONS_FOLDER, migrateStore, openStore, type Store } from "../store/db.js";
import { loadDotEnv, printJson } from "./shared.js";

/** drizzle-orm's default bookkeeping table. */
const MIGRATIONS_TABLE = "__drizzle_migrations";

export interface Migration {
  tag: string;
  /** The journal's timestamp: drizzle applies every migration newer than the last one recorded. */
  when: number;
  hash: string;
}

export interface MigrationState {
  applied: Migration[];
  pending: Migration[];
  /** Applied migrations whose file no longer matches what was applied. */
  changed: string[];
}

export interface MigrateReport {
  database: string;
  before: MigrationState;
  applied: string[];
  after: MigrationState;
}

export function migrationsOnDisk(folder = MIGRATIONS_FOLDER): Migration[] {
  const journal = JSON.parse(readFileSync(join(folder, "meta", "_journal.json"), "utf8")) as { entries: { tag: string; when: number }[] };
  return journal.entries.map((entry) => ({
    tag: entry.tag,
    when: entry.when,
    // The same hash drizzle records: sha256 of the whole file.
    hash: createHash("sha256").update(readFileSync(join(folder, `${entry.tag}.sql`))).digest("hex"),
  }));
}

export async function migrationState(store: Store, onDisk: Migration[] = migrationsOnDisk()): Promise<MigrationState> {
  const table = await store.client.execute({ sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", args: [MIGRATIONS_TABLE] });
  const recorded =
    table.rows.length === 0
      ? []
      : (await store.client.execute(`SELECT hash, created_at FROM "${MIGRATIONS_TABLE}"`)).rows.map((row) => ({
          hash: String(row.hash),
          when: Number(row.created_at),
        }));
  const last = recorded.reduce((max, row) => Math.max(max, row.when), Number.NEGATIVE_INFINITY);
  const applied = onDisk.filter((m) => m.when <= last);
  const changed = applied.filter((m) => recorded.some((r) => r.when === m.when && r.hash !== m.hash)).map((m) => m.tag);
  return { applied, pending: onDisk.filter((m) => m.when > last), changed };
}

/** Applies what is pending and says what that was. */
export async function migrateDatabase(store: Store): Promise<MigrateReport> {
  const before = await migrationState(store);
  if (before.pending.length > 0) await migrateStore(store.db);
  const after = await migrationState(store);
  const applied = before.pending.filter((m) => after.applied.some((a) => a.tag === m.tag)).map((m) => m.tag);
  return { database: withoutSecrets(store.url), before, applied, after };
}

/** A URL may carry `?authToken=…`; what is printed never does. */
export function withoutSecrets(url: string): string {
  return url.replace(/\?.*$/, "");
}

export function describeMigrateReport(report: MigrateReport): string[] {
  const lines = [`database: ${report.database}`];
  const total = report.after.applied.length + report.after.pending.length;
  const head = report.after.applied.at(-1)?.tag ?? "(empty)";
  if (report.applied.length === 0) lines.push(`up to date: ${report.after.applied.length} of ${total} migrations applied, at ${head}; nothing to do`);
  else lines.push(`applied ${report.applied.length} migration${report.applied.length === 1 ? "" : "s"}: ${report.applied.join(", ")}`, `now at ${head} (${report.after.applied.length} of ${total})`);
  for (const tag of report.after.changed) lines.push(`warning: ${tag} was edited after it was applied; drizzle does not re-apply it (write a new migration instead)`);
  return lines;
}

export function registerMigrateCommand(program: Command): void {
  program
    .command("migrate")
    .description("Apply pending database migrations to DATABASE_URL (run once per deploy; the Lambda functions never migrate)")
    .option("--url <url>", "database URL (default: DATABASE_URL, then file:./data/fixloop.db); DATABASE_AUTH_TOKEN authenticates to Turso")
    .option("--check", "apply nothing: list pending migrations and exit 1 if there are any")
    .option("--json", "print the report as JSON")
    .action(async (options: { url?: string; check?: boolean; json?: boolean }) => {
      loadDotEnv();
      const store = await openStore({ url: options.url, migrate: false });
      try {
        if (options.check) {
          const state = await migrationState(store);
          if (options.json) printJson({ database: withoutSecrets(store.url), pending: state.pending.map((m) => m.tag), changed: state.changed });
          else {
            console.log(`database: ${withoutSecrets(store.url)}`);
            console.log(state.pending.length === 0 ? "no pending migrations" : `pending: ${state.pending.map((m) => m.tag).join(", ")}`);
          }
          if (state.pending.length > 0) process.exitCode = 1;
          return;
        }
        const report = await migrateDatabase(store);
        if (options.json) printJson({ database: report.database, applied: report.applied, at: report.after.applied.at(-1)?.tag ?? null, changed: report.after.changed });
        else for (const line of describeMigrateReport(report)) console.log(line);
      } finally {
        store.close();
      }
    });
}
