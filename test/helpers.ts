/**
 * Shared test wiring: a real libSQL file per test, a real Probot with a real
 * webhook secret, and fixloop's HTTP server on 127.0.0.1.
 */
import { createHmac, generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client, InStatement } from "@libsql/client";
import { pino } from "pino";
import { Probot } from "probot";
import { fixloopApp, type FixloopDeps } from "../src/app.js";
import { createHttpServer, listen, type RunningServer } from "../src/http/server.js";
import { createInbox, type Inbox } from "../src/inbox/index.js";
import { createBodyBudget } from "../src/http/body-budget.js";
import { createLibsqlQueue } from "../src/queue/index.js";
import { openStore, type Store } from "../src/store/db.js";
import { unthrottledOctokit } from "./faults/support/octokit.js";

export const WEBHOOK_SECRET = "fixloop-test-secret";
export const ADMIN_TOKEN = "test-admin-token";

let privateKey: string | undefined;
/** A real RSA key so Probot can sign app JWTs that nock then sees. */
export function testPrivateKey(): string {
  privateKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  return privateKey;
}

/** The client, and how many statements run in transactions begun on it had SQL containing `fragment`. */
export function countingTransactionStatements(base: Client, fragment: string): { client: Client; count: () => number } {
  let count = 0;
  const client = new Proxy(base, {
    get(target, property, receiver) {
      if (property === "transaction") {
        return async (...args: Parameters<Client["transaction"]>) => {
          const tx = await target.transaction(...args);
          const execute = tx.execute.bind(tx);
          tx.execute = (stmt: InStatement) => {
            if ((typeof stmt === "string" ? stmt : stmt.sql).includes(fragment)) count += 1;
            return execute(stmt);
          };
          return tx;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { client, count: () => count };
}

export function silentLog() {
  return pino({ level: "silent" });
}

export function createTestProbot(): Probot {
  return new Probot({
    appId: 123,
    privateKey: testPrivateKey(),
    secret: WEBHOOK_SECRET,
    log: silentLog(),
    // No retries or throttling in tests: nock answers exactly what each test says.
    Octokit: unthrottledOctokit(),
  });
}

export interface TempStore extends Store {
  dir: string;
  dispose(): void;
}

export async function createTempStore(): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), "fixloop-test-"));
  const store = await openStore({ url: `file:${join(dir, "fixloop.db")}` });
  return {
    ...store,
    dir,
    dispose() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8")) as T;
}

export function sign(body: string, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface TestServer extends RunningServer {
  probot: Probot;
  store: TempStore;
  inbox: Inbox;
  /**
   * Sends a signed delivery and, once it is answered, processes what the inbox
   * holds (the server's processor loop is not running in tests), so a test
   * reads the rows the delivery produced. `process: false` leaves it queued.
   */
  post(
    event: string,
    payload: unknown,
    options?: { id?: string; secret?: string; signature?: string | null; body?: string; process?: boolean },
  ): Promise<Response>;
  /** Sends a signed delivery, processes it, and returns how it went: `duplicate`, or its row's status, note and error. */
  deliver(event: string, payload: unknown, options?: { id?: string }): Promise<{ id: string; status: string; note: string | null; error: string | null }>;
}

export async function startTestServer(deps: Partial<FixloopDeps> = {}): Promise<TestServer> {
  const store = await createTempStore();
  const probot = createTestProbot();
  const queue = deps.queue ?? createLibsqlQueue(store);
  const inbox = deps.inbox ?? createInbox({ store, log: silentLog(), queue });
  const bodyBudget = deps.bodyBudget ?? createBodyBudget();
  const server = await createHttpServer({
    probot,
    app: fixloopApp({ store, adminToken: ADMIN_TOKEN, ...deps, queue, inbox, bodyBudget }),
    inbox,
    bodyBudget,
    webhookSecret: WEBHOOK_SECRET,
  });
  const running = await listen(server, 0, "127.0.0.1");
  const testServer: TestServer = {
    ...running,
    probot,
    store,
    inbox,
    async close() {
      await running.close();
      store.dispose();
    },
    async post(event, payload, options = {}) {
      const body = options.body ?? JSON.stringify(payload);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": options.id ?? randomUUID(),
      };
      const signature = options.signature === undefined ? sign(body, options.secret) : options.signature;
      if (signature !== null) headers["x-hub-signature-256"] = signature;
      const response = await fetch(`${running.url}/api/github/webhooks`, { method: "POST", headers, body });
      if (options.process !== false) await inbox.processor.drain();
      return response;
    },
    async deliver(event, payload, options = {}) {
      const response = await testServer.post(event, payload, options);
      const { id, status } = (await response.json()) as { id: string; status: string };
      const result = await store.client.execute({ sql: "SELECT status, note, error FROM deliveries WHERE id = ?", args: [id] });
      const row = result.rows[0] as unknown as { status: string; note: string | null; error: string | null } | undefined;
      if (!row) throw new Error(`delivery ${id} was not stored (HTTP ${response.status})`);
      return { id, status: status === "duplicate" ? status : row.status, note: row.note, error: row.error };
    },
  };
  return testServer;
}
