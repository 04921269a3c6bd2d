/**
 * A client whose calls join the transaction its owner has open, so code
 * written against the store (the ingest handlers, the job queue) can run many
 * units of work inside one transaction without knowing it: the inbox
 * processor commits a batch of deliveries, their settlement included, at once.
 *
 * Outside `run()` every call goes to the base client as usual. Inside, calls
 * go to the open transaction, and a transaction asked for (Drizzle's
 * `db.transaction`) becomes a savepoint of it. Build one Drizzle instance over
 * `client` and keep it: its prepared statements then serve every batch.
 *
 * Only one owner may use a scope, one `run()` at a time: a call made on it
 * from elsewhere while a batch is open would land in that batch.
 */
import type { Client, InArgs, InStatement, ResultSet, Transaction } from "@libsql/client";
// Any libSQL entry wraps a client it is given; the HTTP one loads no native module (the Lambda bundle has none).
import { drizzle } from "drizzle-orm/libsql/http";
import type { Db, Store } from "./db.js";
import { overrideClient } from "./serialized-client.js";
import * as schema from "./schema.js";

export interface TransactionScope {
  /** Joins the open batch inside run(); the base client outside. */
  client: Client;
  /**
   * Runs `work` in one write transaction: committed when it resolves, rolled
   * back when it throws (the error is rethrown).
   */
  run<T>(work: () => Promise<T>): Promise<T>;
}

export function createTransactionScope(base: Client): TransactionScope {
  let open: Transaction | null = null;
  let savepoints = 0;

  /** A nested transaction inside the open one: a savepoint with Transaction's shape. */
  async function savepoint(tx: Transaction): Promise<Transaction> {
    const name = `scope_${++savepoints}`;
    await tx.execute(`SAVEPOINT ${name}`);
    let settled = false;
    const settle = async (sql: string) => {
      if (settled) return;
      settled = true;
      await tx.executeMultiple(sql);
    };
    return {
      execute: (stmt: InStatement) => tx.execute(stmt),
      batch: (stmts: InStatement[]) => tx.batch(stmts),
      executeMultiple: (sql: string) => tx.executeMultiple(sql),
      commit: () => settle(`RELEASE ${name}`),
      rollback: () => settle(`ROLLBACK TO ${name}; RELEASE ${name}`),
      close: () => void settle(`ROLLBACK TO ${name}; RELEASE ${name}`).catch(() => undefined),
      get closed() {
        return settled;
      },
    };
  }

  const joined: Partial<Client> = {
    execute: ((stmtOrSql: InStatement | string, args?: InArgs): Promise<ResultSet> => {
      if (!open) return typeof stmtOrSql === "string" ? base.execute(stmtOrSql, args) : base.execute(stmtOrSql);
      return open.execute(typeof stmtOrSql === "string" ? { sql: stmtOrSql, args: args ?? [] } : stmtOrSql);
    }) as Client["execute"],
    batch: ((stmts: InStatement[], mode) => (open ? open.batch(stmts) : base.batch(stmts, mode))) as Client["batch"],
    executeMultiple: (sql: string) => (open ? open.executeMultiple(sql) : base.executeMultiple(sql)),
    transaction: ((mode) => (open ? savepoint(open) : base.transaction(mode))) as Client["transaction"],
  };

  const client = overrideClient(base, joined);

  return {
    client,
    async run(work) {
      if (open) throw new Error("transaction scope: a batch is already open");
      const tx = await base.transaction("write");
      open = tx;
      try {
        const result = await work();
        await tx.commit();
        return result;
      } catch (error) {
        await tx.rollback().catch(() => undefined);
        throw error;
      } finally {
        open = null;
        tx.close();
      }
    },
  };
}

/**
 * What a write transaction reads once and keeps until it ends: while it is
 * open no other connection writes, so a value that the transaction's own work
 * never changes stays true (see hasStaleFixPrs). One memo per transaction: a
 * rolled-back transaction's is dropped with it.
 */
export class TransactionMemo {
  private readonly values = new Map<symbol, Promise<unknown>>();

  get<T>(key: symbol, read: () => Promise<T>): Promise<T> {
    let value = this.values.get(key) as Promise<T> | undefined;
    if (!value) this.values.set(key, (value = read()));
    return value;
  }
}

/** The same store with its calls going through another client (a scope's). */
export function storeOnClient(store: Store, client: Client): Store {
  const db: Db = drizzle(client, { schema });
  return { db, client, url: store.url, close: store.close };
}
