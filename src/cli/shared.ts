/** Pieces every fixloop subcommand shares: the store, a Probot for in-process delivery, output. */
import { existsSync } from "node:fs";
import { pino } from "pino";
import { Probot } from "probot";
import { openStore, type Store } from "../store/db.js";

export function loadDotEnv(): void {
  if (existsSync(".env")) process.loadEnvFile(".env");
}

export async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  loadDotEnv();
  const store = await openStore();
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/**
 * A Probot for running deliveries in-process. Pure ingest needs no GitHub
 * access; with APP_ID and a key in the environment it can reach GitHub too.
 */
export function inProcessProbot(): Probot {
  const privateKey = process.env.PRIVATE_KEY;
  const appId = process.env.APP_ID;
  const log = pino({ level: process.env.LOG_LEVEL ?? "warn" });
  if (appId && privateKey) return new Probot({ appId, privateKey, log });
  return new Probot({ githubToken: process.env.GITHUB_TOKEN ?? "no-github-access-during-replay", log });
}

/** Text for a table cell: whitespace runs (newlines too) folded to one space, cut to `width` with an ellipsis. */
export function oneLine(text: string | null | undefined, width: number): string | null {
  if (text === null || text === undefined) return null;
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table for terminals; no dependency needed for this much. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) {
    console.log("(none)");
    return;
  }
  const cells = rows.map((row) => columns.map((c) => (row[c] === null || row[c] === undefined ? "-" : String(row[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  console.log(line(columns));
  for (const row of cells) console.log(line(row));
}
