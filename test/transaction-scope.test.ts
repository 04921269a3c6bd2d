/**
 * The transaction scope under the inbox's batch transactions: calls made on
 * its client join the open batch, a nested transaction is a savepoint of it,
 * and a rollback takes back everything since the batch began.
 */
import { createClient } from "@libsql/client";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, test } from "vitest";
import { createTransactionScope, storeOnClient } from "../src/store/transaction-scope.js";
import { createTempStore, type TempStore } from "./helpers.js";

const stores: TempStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.dispose();
});

async function scopedStore() {
  const store = await createTempStore();
  stores.push(store);
  await store.client.execute("CREATE TABLE notes (text TEXT NOT NULL)");
  const scope = createTransactionScope(store.client);
  return { store, scope, scoped: storeOnClient(store, scope.client) };
}

async function notes(store: TempStore): Promise<string[]> {
  return (await store.client.execute("SELECT text FROM notes ORDER BY rowid")).rows.map((row) => String(row.text));
}

describe("transaction scope", () => {
  test("outside a batch its calls go straight to the store", async () => {
    const { store, scoped } = await scopedStore();
    await scoped.db.run(sql`INSERT INTO notes VALUES ('alone')`);
    expect(await notes(store)).toEqual(["alone"]);
  });

  test("calls inside run() commit together, and are not visible elsewhere before the commit", async () => {
    const { store, scope, scoped } = await scopedStore();
    let seenByOthersMidway: string[] | null = null;
    await scope.run(async () => {
      await scoped.db.run(sql`INSERT INTO notes VALUES ('one')`);
      await scoped.client.execute({ sql: "INSERT INTO notes VALUES (?)", args: ["two"] });
      // Another connection to the same file reads the last committed state.
      const reader = createClient({ url: store.url });
      seenByOthersMidway = (await reader.execute("SELECT text FROM notes")).rows.map((row) => String(row.text));
      reader.close();
    });
    expect(seenByOthersMidway).toEqual([]);
    expect(await notes(store)).toEqual(["one", "two"]);
  });

  test("a throw rolls the whole batch back and is rethrown", async () => {
    const { store, scope, scoped } = await scopedStore();
    await expect(
      scope.run(async () => {
        await scoped.db.run(sql`INSERT INTO notes VALUES ('lost')`);
        throw new Error("handler failed");
      }),
    ).rejects.toThrow("handler failed");
    expect(await notes(store)).toEqual([]);
    // The scope is usable again.
    await scope.run(() => scoped.db.run(sql`INSERT INTO notes VALUES ('kept')`));
    expect(await notes(store)).toEqual(["kept"]);
  });

  test("a Drizzle transaction inside the batch is a savepoint: its rollback takes back only its own writes", async () => {
    const { store, scope, scoped } = await scopedStore();
    await scope.run(async () => {
      await scoped.db.run(sql`INSERT INTO notes VALUES ('before')`);
      await expect(
        scoped.db.transaction(async (tx) => {
          await tx.run(sql`INSERT INTO notes VALUES ('inner')`);
          throw new Error("inner failed");
        }),
      ).rejects.toThrow("inner failed");
      await scoped.db.transaction(async (tx) => {
        await tx.run(sql`INSERT INTO notes VALUES ('nested ok')`);
        // Drizzle's own savepoint inside ours.
        await tx.transaction((inner) => inner.run(sql`INSERT INTO notes VALUES ('deeper')`));
      });
      await scoped.db.run(sql`INSERT INTO notes VALUES ('after')`);
    });
    expect(await notes(store)).toEqual(["before", "nested ok", "deeper", "after"]);
  });

  test("only one batch at a time", async () => {
    const { scope } = await scopedStore();
    await scope.run(async () => {
      await expect(scope.run(async () => undefined)).rejects.toThrow(/already open/);
    });
  });
});
