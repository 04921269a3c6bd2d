/**
 * Fault: GitHub cannot be reached. `npm start`'s own entry (src/server.ts)
 * runs as a real child process with GHE_HOST naming a host that does not
 * resolve (github.invalid; the fault suite's DNS fence refuses it as well). A
 * red workflow run is delivered over HTTP; its fix job must wait with the DNS
 * failure as its reason within 5 s (no minutes of Octokit retries), the
 * attempt must say so, and the dashboard must show the GitHub banner. Then
 * SIGTERM: the process exits within 5 s. A second case holds a GitHub request
 * open forever (a socket that never answers): SIGTERM aborts it, hands the
 * running job back (lease released) and exits within 5 s.
 */
import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { desc } from "drizzle-orm";
import { afterEach, describe, expect, test } from "vitest";
import { openStore, type Store } from "../../src/store/db.js";
import { fixAttempts, jobs } from "../../src/store/schema.js";
import { ADMIN_TOKEN, sign, testPrivateKey, WEBHOOK_SECRET } from "../helpers.js";
import { startWorkerProcess, type WorkerProcess } from "./support/child.js";
import { startFakeTensorZero, type FakeTensorZero } from "./support/fake-tensorzero.js";
import { MODEL_ANSWER, redRunPayload, report, waitFor } from "./support/scenario.js";

const SERVER_ENTRY = fileURLToPath(new URL("../../src/server.ts", import.meta.url));

let child: WorkerProcess | undefined;
let gateway: FakeTensorZero | undefined;
let store: Store | undefined;
let blackHole: { server: Server; sockets: Set<Socket> } | undefined;
let dir: string | undefined;

afterEach(async () => {
  if (child && child.child.exitCode === null && child.child.signalCode === null) child.child.kill("SIGKILL");
  await gateway?.close();
  store?.client.close();
  if (blackHole) {
    for (const socket of blackHole.sockets) socket.destroy();
    await new Promise<void>((resolve) => blackHole!.server.close(() => resolve()));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  child = gateway = store = blackHole = dir = undefined;
});

/** A TCP server that accepts connections and never answers: a GitHub that hangs. */
async function startBlackHole(): Promise<{ server: Server; sockets: Set<Socket>; url: string; connections: () => number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { server, sockets, url: `http://127.0.0.1:${port}`, connections: () => connections };
}

/** npm start in a child process; resolves with its URL once the start-up banner is out. */
async function startServer(env: Record<string, string>): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), "fixloop-unreachable-"));
  const databaseUrl = `file:${join(dir, "fixloop.db")}`;
  child = startWorkerProcess(
    {
      APP_ID: "123",
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET,
      FIXLOOP_ADMIN_TOKEN: ADMIN_TOKEN,
      DATABASE_URL: databaseUrl,
      TENSORZERO_URL: gateway!.url,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      ...env,
    },
    SERVER_ENTRY,
  );
  const url = await waitFor(
    "the start-up banner",
    () => {
      if (child!.child.exitCode !== null) throw new Error(`server exited early:\n${child!.output()}`);
      return /listening\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(child!.output())?.[1] ?? null;
    },
    60_000,
  );
  store = await openStore({ url: databaseUrl });
  return url;
}

async function deliverRedRun(url: string): Promise<void> {
  const body = JSON.stringify(redRunPayload());
  const response = await fetch(`${url}/api/github/webhooks`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "workflow_run", "x-github-delivery": "red-run-1", "x-hub-signature-256": sign(body) },
    body,
  });
  expect(response.status).toBe(202);
}

async function dashboardHtml(url: string): Promise<string> {
  const login = await fetch(`${url}/fixloop/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
    redirect: "manual",
  });
  expect(login.status).toBe(303);
  const cookie = login.headers.get("set-cookie")!.split(";")[0];
  const overview = await fetch(`${url}/fixloop`, { headers: { cookie } });
  expect(overview.status).toBe(200);
  return overview.text();
}

async function sigtermExitMs(): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null }> {
  const started = Date.now();
  child!.child.kill("SIGTERM");
  const exit = await Promise.race([child!.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000))]);
  if (!exit) throw new Error(`still running 10 s after SIGTERM:\n${child!.output()}`);
  return { ms: Date.now() - started, ...exit };
}

describe("GitHub unreachable", { timeout: 120_000 }, () => {
  test("an address that does not resolve: the job waits with the reason within 5 s, the dashboard shows the banner, SIGTERM exits within 5 s", async () => {
    gateway = await startFakeTensorZero(() => MODEL_ANSWER);
    const url = await startServer({ GHE_HOST: "github.invalid", GHE_PROTOCOL: "http" });
    const delivered = Date.now();
    await deliverRedRun(url);

    const job = await waitFor(
      "the fix job waiting with a reason",
      async () => {
        const [row] = await store!.db.select().from(jobs).orderBy(desc(jobs.id)).limit(1);
        return row && row.status === "queued" && row.lastError ? row : null;
      },
      10_000,
    );
    const waitedAfterMs = Date.now() - delivered;
    expect(waitedAfterMs).toBeLessThan(5_000);
    expect(job.kind).toBe("fix");
    expect(job.lastError).toMatch(/ENOTFOUND|github\.invalid/);
    expect(job.attempts).toBe(0);
    expect(new Date(job.runAfter).getTime()).toBeGreaterThan(Date.now() + 30_000);
    const [attempt] = await store!.db.select().from(fixAttempts).orderBy(desc(fixAttempts.createdAt)).limit(1);
    if (attempt) expect(attempt).toMatchObject({ status: "queued", reason: expect.stringMatching(/^waiting: .*(ENOTFOUND|github\.invalid)/) });
    expect(gateway.inferences).toHaveLength(0);

    const page = await dashboardHtml(url);
    expect(page).toContain("GitHub cannot be reached");
    expect(page).toMatch(/data-banner="bad"/);
    expect(page).toMatch(/github\.invalid/);

    // One line per failure, no stack dumps in the log.
    expect(child!.output()).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);

    const exit = await sigtermExitMs();
    expect(exit.ms).toBeLessThan(5_000);
    expect(exit.code).toBe(0);
    report("GitHub unresolvable (npm start child)", `job waited ${waitedAfterMs} ms after delivery: "${job.lastError}"; SIGTERM exit in ${exit.ms} ms (code ${exit.code})`);
  });

  test("a GitHub request that never answers: SIGTERM aborts it, the job is handed back, the process exits within 5 s", async () => {
    gateway = await startFakeTensorZero(() => MODEL_ANSWER);
    const hole = await startBlackHole();
    blackHole = hole;
    const url = await startServer({ GITHUB_API_URL: hole.url, GHE_HOST: hole.url.replace(/^http:\/\//, ""), GHE_PROTOCOL: "http" });
    await deliverRedRun(url);
    const running = await waitFor(
      "the fix job running against the silent GitHub",
      async () => {
        const [row] = await store!.db.select().from(jobs).orderBy(desc(jobs.id)).limit(1);
        return row?.status === "running" && hole.connections() > 0 ? row : null;
      },
      15_000,
    );

    const exit = await sigtermExitMs();
    expect(exit.ms).toBeLessThan(5_000);
    const [after] = await store!.db.select().from(jobs).orderBy(desc(jobs.id)).limit(1);
    expect(after.id).toBe(running.id);
    // Handed back: queued, due now, lease gone, the interrupted try not counted; another worker takes it at once.
    expect(after).toMatchObject({ status: "queued", leaseExpiresAt: null, attempts: running.attempts - 1 });
    expect(new Date(after.runAfter).getTime()).toBeLessThanOrEqual(Date.now());
    expect(after.lastError).toContain("handed back");
    report("GitHub hangs (npm start child)", `SIGTERM exit in ${exit.ms} ms (code ${exit.code}); job ${after.id} handed back: ${after.status}, due ${after.runAfter}, "${after.lastError}"`);
  });
});
