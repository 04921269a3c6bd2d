/**
 * A prepared-statement cache for local libSQL files.
 *
 * `@libsql/client` runs a local file on the `libsql` driver and prepares
 * every statement again on each call (it keeps no cache and has no option
 * for one). Compiling SQL was the largest single cost of processing a
 * delivery: about a fifth of the inbox thread's CPU, as much as running the
 * statements. Drizzle's prepared queries do not help, as they end in the
 * same `client.execute(sql)`.
 *
 * So `Database.prototype.prepare` of the driver the client loads is wrapped
 * once per process: each connection keeps its most recently used statements
 * by SQL text. That is safe for how the client uses them: it runs each one to
 * completion synchronously (`all()` or `run()`), and the driver resets a
 * statement before it binds again, after an error too.
 *
 * A schema change: SQLite recompiles a cached statement by itself, but the
 * driver keeps the column names it read at prepare time, so a `SELECT *`
 * would go on naming the old columns. Every cache of the process is emptied
 * when this process changes the schema (migrations, tests). Another process
 * migrating the file under a running one is not seen; fixloop's statements
 * name their columns (Drizzle's always do), which SQLite's recompile covers.
 */
import { createRequire } from "node:module";

/** Statements kept per connection: the hot ones are a few dozen; multi-row appends add one per group size. */
export const STATEMENTS_PER_CONNECTION = 256;

interface LibsqlStatement {
  raw(on?: boolean): LibsqlStatement;
  columns(): unknown[];
}
interface LibsqlDatabaseClass {
  prototype: { prepare(this: object, sql: string): LibsqlStatement; exec(this: object, sql: string): unknown; [CACHED]?: true };
}

const CACHED = Symbol.for("fixloop.statementCache");
/** SQL that may change the schema (a statement, or a script run through exec). */
const SCHEMA_CHANGE = /\b(?:CREATE|ALTER|DROP)\s/i;

/** The `libsql` module `@libsql/client` itself imports (resolved from its folder, so the same copy). */
function libsqlDatabaseClass(): LibsqlDatabaseClass {
  const require = createRequire(import.meta.url);
  const fromClient = createRequire(require.resolve("@libsql/client"));
  return fromClient("libsql") as LibsqlDatabaseClass;
}

/** Installs the cache (idempotent). Returns whether it was installed by this call. */
export function cacheLocalStatements(limit = STATEMENTS_PER_CONNECTION): boolean {
  const Database = libsqlDatabaseClass();
  const proto = Database.prototype;
  if (proto[CACHED]) return false;
  const { prepare, exec } = proto;
  let caches = new WeakMap<object, Map<string, LibsqlStatement>>();
  const forgetAll = () => void (caches = new WeakMap());
  proto.exec = function execForgetting(this: object, sql: string) {
    if (SCHEMA_CHANGE.test(sql)) forgetAll();
    return exec.call(this, sql);
  };
  proto.prepare = function cachedPrepare(this: object, sql: string) {
    let cache = caches.get(this);
    if (!cache) caches.set(this, (cache = new Map()));
    const hit = cache.get(sql);
    if (hit) {
      // Most recently used last: a Map iterates in insertion order, so the first key is the one to drop.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    // Only a miss can be a schema change: those are never cached.
    if (SCHEMA_CHANGE.test(sql)) {
      forgetAll();
      return prepare.call(this, sql);
    }
    const statement = rememberShape(prepare.call(this, sql));
    cache.set(sql, statement);
    if (cache.size > limit) cache.delete(cache.keys().next().value!);
    return statement;
  };
  proto[CACHED] = true;
  return true;
}

/**
 * What the client asks a statement on every call and a prepared statement
 * cannot change: its columns (the client reads them twice a call), and
 * whether it returns rows at all (the client finds out by calling `raw()`,
 * which throws for an INSERT or UPDATE without RETURNING: a native error
 * built on every call, ~2.5 % of the inbox thread in a profile).
 */
function rememberShape(statement: LibsqlStatement): LibsqlStatement {
  const { raw, columns } = statement;
  let returnsNoRows: unknown = null;
  let columnsRead: unknown[] | null = null;
  statement.raw = function rawRemembered(this: LibsqlStatement, on?: boolean) {
    if (returnsNoRows !== null) throw returnsNoRows;
    try {
      return raw.call(this, on);
    } catch (error) {
      returnsNoRows = error;
      throw error;
    }
  };
  statement.columns = function columnsRemembered(this: LibsqlStatement) {
    return (columnsRead ??= columns.call(this));
  };
  return statement;
}
