/**
 * Counts the database round trips a piece of code makes: a store whose
 * libSQL client (and the Drizzle instance over it) goes through a counting
 * proxy. On the remote (HTTP) client each counted call is one request to the
 * database: a statement, a batch, and inside an interactive transaction its
 * BEGIN, each statement and the COMMIT/ROLLBACK.
 */
import type { Client, Transaction } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import type { Db, Store } from "../../src/store/db.js";
import * as schema from "../../src/store/schema.js";

export interface CountedStore {
  store: Store;
  count(): number;
  /** What was sent, in order: the SQL's first words (or "batch of n", "tx: begin", "tx: commit"). */
  log: string[];
  reset(): void;
}

function firstWords(statement: unknown): string {
  const sql = typeof statement === "string" ? statement : ((statement as { sql?: string })?.sql ?? "?");
  return sql.trim().split(/\s+/).slice(0, 3).join(" ");
}

function counting<T extends object>(target: T, log: string[], prefix: string, onTransaction?: (tx: Transaction) => Transaction): T {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object) as unknown;
      if (typeof value !== "function") return value;
      const call = (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(object, args);
      switch (property) {
        case "execute":
          return (...args: unknown[]) => (log.push(`${prefix}${firstWords(args[0])}`), call(...args));
        case "batch":
          return (...args: unknown[]) => (log.push(`${prefix}batch of ${(args[0] as unknown[]).length}`), call(...args));
        case "executeMultiple":
          return (...args: unknown[]) => (log.push(`${prefix}executeMultiple`), call(...args));
        case "commit":
        case "rollback":
          return (...args: unknown[]) => (log.push(`${prefix}${String(property)}`), call(...args));
        case "transaction":
          return async (...args: unknown[]) => (log.push("tx: begin"), onTransaction!((await call(...args)) as Transaction));
        default:
          return value.bind(object);
      }
    },
  });
}

export function countRoundTrips(store: Store): CountedStore {
  const log: string[] = [];
  const client = counting(store.client, log, "", (tx) => counting(tx, log, "tx: "));
  const db = drizzle(client as Client, { schema }) as unknown as Db;
  return { store: { ...store, client, db }, count: () => log.length, log, reset: () => void log.splice(0) };
}
