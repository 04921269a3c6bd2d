/**
 * The store on Lambda: the same schema on a remote libSQL / Turso URL,
 * reached over libSQL's HTTP protocol. `@libsql/client/http` is pure
 * JavaScript, so the bundle ships no native module (the default
 * `@libsql/client` entry loads the platform-specific `libsql` binary for
 * file databases). Migrations are not run here: they run once per deploy
 * with `fixloop migrate`, never on a cold start.
 */
import { createClient } from "@libsql/client/http";
import { drizzle } from "drizzle-orm/libsql/http";
import type { Db, Store } from "../store/db.js";
import * as schema from "../store/schema.js";

export interface RemoteStoreOptions {
  url: string;
  authToken?: string;
}

/** libsql://, https:// and http:// URLs; a file URL needs the node entry (openStore) and is refused here. */
export function openRemoteStore(options: RemoteStoreOptions): Store {
  const url = options.url.trim();
  if (!/^(libsql|https?):\/\//i.test(url)) {
    throw new Error(`DATABASE_URL must be a remote libSQL URL on Lambda (libsql://… or https://…), got "${url.replace(/\?.*$/, "")}"`);
  }
  const client = createClient({ url, authToken: options.authToken });
  // Same driver core and schema as openStore; only the transport differs.
  const db: Db = drizzle(client, { schema });
  return { db, client, url, close: () => client.close() };
}

export function remoteStoreFromEnv(env: NodeJS.ProcessEnv = process.env): Store {
  const url = env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: the Lambda functions need the remote libSQL / Turso URL");
  return openRemoteStore({ url, authToken: env.DATABASE_AUTH_TOKEN || undefined });
}
