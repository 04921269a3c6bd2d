import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { cacheLocalStatements } from "../src/store/statement-cache.js";
import { openStore, type Store } from "../src/store/db.js";

interface Statement {
  all(...args: unknown[]): unknown[];
  raw(on?: boolean): Statement;
}
interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  close(): void;
}

/** The driver @libsql/client runs local files on, resolved the way statement-cache.ts resolves it. */
function libsqlDatabase(): new (path: string) => Database {
  const fromClient = createRequire(createRequire(import.meta.url).resolve("@libsql/client"));
  return fromClient("libsql") as new (path: string) => Database;
}

describe("statement cache for local libSQL files", () => {
  const opened: { close(): void }[] = [];
  afterEach(() => {
    for (const db of opened.splice(0)) db.close();
  });

  it("hands back the same prepared statement for the same SQL on one connection, and keeps connections apart", () => {
    cacheLocalStatements();
    const Database = libsqlDatabase();
    const a = new Database(":memory:");
    const b = new Database(":memory:");
    opened.push(a, b);
    expect(a.prepare("SELECT 1")).toBe(a.prepare("SELECT 1"));
    expect(a.prepare("SELECT 1")).not.toBe(b.prepare("SELECT 1"));
    expect(a.prepare("SELECT 2")).not.toBe(a.prepare("SELECT 1"));
  });

  it("is installed once: a second call changes nothing", () => {
    cacheLocalStatements();
    expect(cacheLocalStatements()).toBe(false);
  });

  it("keeps a bounded number of statements per connection, dropping the least recently used", () => {
    cacheLocalStatements();
    const Database = libsqlDatabase();
    const db = new Database(":memory:");
    opened.push(db);
    const first = db.prepare("SELECT 0");
    for (let i = 1; i <= 300; i++) db.prepare(`SELECT ${i}`);
    expect(db.prepare("SELECT 0")).not.toBe(first);
    // Used just now, so still there.
    expect(db.prepare("SELECT 300")).toBe(db.prepare("SELECT 300"));
  });

  describe("through the store", () => {
    let store: Store;
    afterEach(() => store?.close());

    it("a cached statement that failed runs again with other values, inside and outside transactions", async () => {
      store = await openStore({ url: ":memory:" });
      const { client } = store;
      await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
      const insert = "INSERT INTO t (v) VALUES (?) RETURNING id";
      expect((await client.execute({ sql: insert, args: ["a"] })).rows[0].id).toBe(1);
      await expect(client.execute({ sql: insert, args: ["a"] })).rejects.toThrow(/UNIQUE/);
      expect((await client.execute({ sql: insert, args: ["b"] })).rows[0].id).toBe(2);
      const tx = await client.transaction("write");
      await tx.execute({ sql: insert, args: ["c"] });
      await tx.rollback();
      await client.batch([{ sql: insert, args: ["d"] }], "write");
      const rows = (await client.execute("SELECT v FROM t ORDER BY id")).rows.map((row) => row.v);
      expect(rows).toEqual(["a", "b", "d"]);
    });

    it("a cached statement sees a column added after it was prepared", async () => {
      store = await openStore({ url: ":memory:" });
      const { client } = store;
      await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
      await client.execute("INSERT INTO t (id) VALUES (1)");
      expect((await client.execute("SELECT * FROM t")).columns).toEqual(["id"]);
      await client.execute("ALTER TABLE t ADD COLUMN v TEXT DEFAULT 'x'");
      const result = await client.execute("SELECT * FROM t");
      expect(result.columns).toEqual(["id", "v"]);
      expect(result.rows[0].v).toBe("x");
    });
  });
});
