/**
 * `npx tsx bench/unverified-bodies.ts`: how much the server process grows
 * while 16 concurrent unsigned 25 MB bodies hit the GitHub webhook route,
 * with the unverified-body budget (50 MB, the default) and without one
 * (the budget set past any total, as before it existed). The server runs in
 * a child process so its RSS is not the sender's; the sender reuses one 1 MB
 * buffer. Prints the peak RSS growth over the idle server, and the answers.
 */
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { request } from "node:http";
import { pino } from "pino";
import { Probot } from "probot";
import { createBodyBudget, DEFAULT_UNVERIFIED_BODY_BYTES } from "../src/http/body-budget.js";
import { createWebhookIngress } from "../src/http/webhooks.js";

const MB = 1024 * 1024;
const BODIES = 16;
const BODY_BYTES = 25 * MB;

async function serve(limit: number): Promise<void> {
  const { createServer } = await import("node:http");
  const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const probot = new Probot({ appId: 1, privateKey, secret: "bench-secret-0123456789", log: pino({ level: "silent" }) });
  const ingress = createWebhookIngress({ probot, bodyBudget: createBodyBudget(limit) });
  let peak = process.memoryUsage().rss;
  setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5).unref();
  const server = createServer(async (req, res) => {
    if (req.url === "/rss") {
      global.gc?.();
      const now = process.memoryUsage().rss;
      res.end(JSON.stringify({ now, peak }));
      peak = now;
      return;
    }
    if (!(await ingress(req, res))) res.writeHead(404).end();
  });
  server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
}

function post(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/api/github/webhooks", method: "POST", headers: {
      "content-type": "application/json", "content-length": String(BODY_BYTES), "x-github-event": "push",
      "x-github-delivery": crypto.randomUUID(), "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
    } });
    req.on("response", (res) => res.resume().on("end", () => resolve(res.statusCode!)));
    req.on("error", () => {}); // a refused upload's socket closes under the rest of its body
    const chunk = Buffer.alloc(MB, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < BODY_BYTES) {
        sent += MB;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

async function measure(label: string, limit: number): Promise<void> {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", new URL(import.meta.url).pathname, "--serve", String(limit)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(JSON.parse(d.toString()).port as number)));
  const rss = async () => (await (await fetch(`http://127.0.0.1:${port}/rss`)).json()) as { now: number; peak: number };
  await post(port); // warm up: the first request loads what every later one uses
  const idle = (await rss()).now;
  const statuses = await Promise.all(Array.from({ length: BODIES }, () => post(port)));
  const { peak } = await rss();
  child.kill();
  const counts = Object.entries(statuses.reduce<Record<number, number>>((c, s) => ({ ...c, [s]: (c[s] ?? 0) + 1 }), {})).map(([s, n]) => `${n}×${s}`).join(" ");
  console.log(`${label.padEnd(28)} idle ${(idle / MB).toFixed(0).padStart(4)} MB  peak ${(peak / MB).toFixed(0).padStart(4)} MB  growth ${((peak - idle) / MB).toFixed(0).padStart(4)} MB  answers ${counts}`);
}

if (process.argv[2] === "--serve") {
  await serve(Number(process.argv[3]));
} else {
  console.log(`${BODIES} concurrent unsigned ${BODY_BYTES / MB} MB bodies to the GitHub webhook route`);
  await measure(`budget ${DEFAULT_UNVERIFIED_BODY_BYTES / MB} MB (default)`, DEFAULT_UNVERIFIED_BODY_BYTES);
  await measure("no budget (before)", Number.MAX_SAFE_INTEGER);
}
