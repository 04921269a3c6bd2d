/**
 * A statement Drizzle builds once and the libSQL client runs with positional
 * arguments. A Drizzle prepared query fills its placeholders on every call
 * (an entity check per parameter, with its prototype walk) and runs through
 * its session; for the ingest's hot writes, ~20 parameters each, that cost
 * about as much as binding them in SQLite. Here each parameter is resolved
 * once to what it is: a constant, a placeholder, or a placeholder bound to a
 * column, whose encoder still turns the value into the driver's (a JSON
 * column's array into its text). The SQL is Drizzle's, unchanged.
 */
import type { Client, InValue, ResultSet } from "@libsql/client";
import { is, Param, Placeholder } from "drizzle-orm";
import type { Db } from "./db.js";

type Encode = (value: unknown) => unknown;

export interface LeanStatement {
  readonly sql: string;
  /** The positional arguments for these placeholder values (a missing one throws, as Drizzle does). */
  args(values: Record<string, unknown>): InValue[];
  run(client: Client, values: Record<string, unknown>): Promise<ResultSet>;
}

/** The libSQL client a Drizzle instance runs on (Drizzle's `$client`): the transaction scope's inside a batch. */
export function clientOf(db: Db): Client {
  const client = (db as Db & { $client?: Client }).$client;
  if (!client) throw new Error("this Drizzle instance does not say which libSQL client it runs on ($client)");
  return client;
}

/** Compiles what a Drizzle builder's `toSQL()` gives (its params keep their placeholders). */
export function leanStatement(builder: { toSQL(): { sql: string; params: unknown[] } }): LeanStatement {
  const { sql, params } = builder.toSQL();
  const names: (string | null)[] = [];
  const encoders: (Encode | null)[] = [];
  const constants: unknown[] = [];
  for (const param of params) {
    if (is(param, Placeholder)) {
      names.push(param.name);
      encoders.push(null);
    } else if (is(param, Param) && is(param.value, Placeholder)) {
      const { encoder } = param;
      names.push(param.value.name);
      encoders.push((value) => encoder.mapToDriverValue(value));
    } else {
      names.push(null);
      encoders.push(null);
    }
    constants.push(param);
  }
  const args = (values: Record<string, unknown>): InValue[] => {
    const out = new Array<InValue>(names.length);
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (name === null) {
        out[i] = constants[i] as InValue;
        continue;
      }
      if (!(name in values)) throw new Error(`No value for placeholder "${name}" was provided`);
      const encode = encoders[i];
      out[i] = (encode ? encode(values[name]) : values[name]) as InValue;
    }
    return out;
  };
  return { sql, args, run: (client, values) => client.execute({ sql, args: args(values) }) };
}
