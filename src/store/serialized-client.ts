/**
 * One writer at a time inside a process, for local libSQL files.
 *
 * The local client runs SQLite synchronously on the event loop and keeps a
 * pool of connections; a transaction holds one of them across awaits. If
 * another request then writes through a second connection, SQLite's busy
 * handler sleeps *synchronously* waiting for the lock — which the transaction
 * can never release, because its continuation needs the blocked event loop.
 * The process freezes for the whole busy timeout and the write fails.
 *
 * So every call waits its turn on an async queue, and a transaction keeps
 * the turn until it commits, rolls back or closes. Plain calls are
 * synchronous underneath, so the queue costs nothing when no transaction is
 * open. The rule that follows: inside `db.transaction(async (tx) => …)` use
 * `tx` only — a call on `db` there would wait for its own transaction.
 */
import type { Client, InArgs, InStatement, ResultSet, Transaction, TransactionMode } from "@libsql/client";

class Turns {
  #tail: Promise<void> = Promise.resolve();

  /** Resolves when it is the caller's turn, with the function that ends it. */
  take(): Promise<() => void> {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const ready = this.#tail.then(() => end);
    this.#tail = this.#tail.then(() => ended);
    return ready;
  }
}

export function serializeClient(client: Client): Client {
  const turns = new Turns();

  async function inTurn<T>(work: () => Promise<T>): Promise<T> {
    const end = await turns.take();
    try {
      return await work();
    } finally {
      end();
    }
  }

  function holdTurn(tx: Transaction, end: () => void): Transaction {
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        end();
      }
    };
    return new Proxy(tx, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        if (property === "commit" || property === "rollback") {
          return async (...args: unknown[]) => {
            try {
              return await value.apply(target, args);
            } finally {
              release();
            }
          };
        }
        if (property === "close") {
          return (...args: unknown[]) => {
            try {
              return value.apply(target, args);
            } finally {
              release();
            }
          };
        }
        return value.bind(target);
      },
    });
  }

  const serialized: Partial<Client> = {
    execute: ((stmtOrSql: InStatement | string, args?: InArgs) =>
      inTurn(() => (typeof stmtOrSql === "string" ? client.execute(stmtOrSql, args) : client.execute(stmtOrSql)))) as Client["execute"],
    batch: (stmts: Parameters<Client["batch"]>[0], mode?: TransactionMode): Promise<ResultSet[]> => inTurn(() => client.batch(stmts, mode)),
    migrate: (stmts: InStatement[]): Promise<ResultSet[]> => inTurn(() => client.migrate(stmts)),
    executeMultiple: (sql: string): Promise<void> => inTurn(() => client.executeMultiple(sql)),
    transaction: async (mode?: TransactionMode): Promise<Transaction> => {
      const end = await turns.take();
      try {
        return holdTurn(await client.transaction(mode), end);
      } catch (error) {
        end();
        throw error;
      }
    },
  };

  return overrideClient(client, serialized);
}

/** The client with some of its methods replaced; everything else is the client's own (methods bound to it). */
export function overrideClient(client: Client, overrides: Partial<Client>): Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property in overrides) return overrides[property as keyof Client];
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
