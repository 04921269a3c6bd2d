/**
 * Fault: 10 000 generated webhook requests (fast-check, fixed seed) against
 * the live server over loopback HTTP, 16 in flight on a keep-alive agent:
 * methods, paths, header presence and values (event, delivery id, signature
 * valid / absent / wrong secret / garbled / truncated / other algorithm /
 * for another body / repeated, content type), bodies (recorded payloads,
 * mutated payloads, random JSON, random bytes, text, empty, up to ~1.2 MB).
 *
 * Property, per request: the status is exactly what the ingress promises for
 * that request (405, 400, 415, 401 unless the HMAC of the exact bytes matches,
 * 400 for a body not shaped `{…}`) and never 5xx; a correctly signed body
 * shaped like a JSON object is stored and answered 202 (200 duplicate for an
 * id generated twice). Then the inbox is processed: a body that is not JSON
 * after all, or a signed payload that the handler of its event cannot read,
 * ends `failed` as malformed (so it can be inspected and redelivered),
 * nothing else fails and nothing is left waiting. Every stored delivery
 * belongs to such a correctly signed body; nothing is stored for any other
 * request; the server still answers.
 */
import { createHash, createHmac } from "node:crypto";
import { Agent } from "node:http";
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { FORGE_HANDLERS } from "../../src/forges/handlers.js";
import { INGEST_HANDLERS } from "../../src/handlers/index.js";
import { DEFAULT_WEBHOOK_PATH } from "../../src/http/webhooks.js";
import { deliveries } from "../../src/store/schema.js";
import { fixture, sign, startTestServer, WEBHOOK_SECRET, type TestServer } from "../helpers.js";
import { rawRequest } from "./support/http.js";
import { mapLimited, report } from "./support/scenario.js";

const SEED = 20_240_502;
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const IN_FLIGHT = 16;

const FIXTURES: { event: string; body: string }[] = [
  { event: "workflow_run", body: JSON.stringify(fixture("workflow_run.completed.json")) },
  { event: "workflow_run", body: JSON.stringify(fixture("workflow_run.in_progress.json")) },
  { event: "pull_request", body: JSON.stringify(fixture("pull_request.opened.json")) },
  { event: "check_suite", body: JSON.stringify(fixture("check_suite.completed.json")) },
  { event: "push", body: JSON.stringify(fixture("push.main.touches.json")) },
  { event: "pull_request_review", body: JSON.stringify(fixture("pull_request_review.submitted.json")) },
];
const KNOWN_EVENTS = [...Object.keys(INGEST_HANDLERS), "ping", "installation", "issues", "check_run"];

type SignatureKind = "valid" | "absent" | "empty" | "wrong-secret" | "garbled-hex" | "truncated" | "sha1" | "sha512" | "other-body" | "garbage" | "repeated";

interface FuzzCase {
  method: string;
  path: string;
  event: string | null;
  delivery: string | null;
  contentType: string | null;
  signature: SignatureKind;
  body: Buffer;
  bodyKind: string;
  extraHeaders: [string, string][];
}

/** Header values node will send: visible ASCII, space, and some Latin-1. */
const headerChar = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xff }) }).map((code) => String.fromCharCode(code));
const headerText = (maxLength: number) => fc.string({ unit: headerChar, minLength: 1, maxLength }).map((s) => s.trim() || "x");
/** Request-target characters node accepts unescaped. */
const pathChar = fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code));

const methodArb = fc.oneof({ weight: 18, arbitrary: fc.constant("POST") }, { weight: 2, arbitrary: fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD") });
const pathArb = fc.oneof(
  { weight: 16, arbitrary: fc.constant(DEFAULT_WEBHOOK_PATH) },
  { weight: 1, arbitrary: fc.constantFrom(`${DEFAULT_WEBHOOK_PATH}/`, `${DEFAULT_WEBHOOK_PATH}?a=1`, `${DEFAULT_WEBHOOK_PATH}//`, "/api/github/x/../webhooks", `${DEFAULT_WEBHOOK_PATH}%2F`, "/API/github/webhooks") },
  { weight: 1, arbitrary: fc.constantFrom("/", "/healthz", "/api/github", "/api/pr-outcomes", "/fixloop", "/fixloop/login", "/favicon.ico") },
  { weight: 1, arbitrary: fc.string({ unit: pathChar, maxLength: 60 }).map((s) => `/${s}`) },
);
const eventArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 6, arbitrary: fc.constant("matching") },
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_EVENTS) },
  { weight: 1, arbitrary: headerText(40) },
);
const deliveryArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 6, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: headerText(80) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom("a", "b", "-", "9"), minLength: 200, maxLength: 400 }) },
);
const contentTypeArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 10, arbitrary: fc.constant("application/json") },
  { weight: 2, arbitrary: fc.constantFrom("application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8") },
  { weight: 2, arbitrary: fc.constantFrom("application/x-www-form-urlencoded", "text/plain", "application/jsonp", "application/json-seq", "multipart/form-data; boundary=x") },
  { weight: 1, arbitrary: headerText(40) },
);
const signatureArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant<SignatureKind>("valid") },
  { weight: 1, arbitrary: fc.constantFrom<SignatureKind>("absent", "empty", "wrong-secret", "garbled-hex", "truncated", "sha1", "sha512", "other-body", "garbage", "repeated") },
);
const jsonText = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));
const bodyArb: fc.Arbitrary<{ kind: string; body: Buffer; event?: string }> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIXTURES).map((f) => ({ kind: "recorded payload", body: Buffer.from(f.body), event: f.event })) },
  {
    weight: 3,
    arbitrary: fc.record({ f: fc.constantFrom(...FIXTURES), key: fc.constantFrom("action", "repository", "installation", "workflow_run", "pull_request", "check_suite", "sender", "ref", "commits"), value: fc.jsonValue({ maxDepth: 2 }), drop: fc.boolean() }).map(({ f, key, value, drop }) => {
      const payload = JSON.parse(f.body) as Record<string, unknown>;
      if (drop) delete payload[key];
      else payload[key] = value;
      return { kind: "mutated payload", body: Buffer.from(JSON.stringify(payload)), event: f.event };
    }),
  },
  { weight: 3, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }).map((o) => ({ kind: "random JSON object", body: Buffer.from(JSON.stringify(o)) })) },
  { weight: 2, arbitrary: jsonText.map((t) => ({ kind: "random JSON", body: Buffer.from(t) })) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((b) => ({ kind: "random bytes", body: Buffer.from(b) })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300, unit: "binary" }).map((s) => ({ kind: "random text", body: Buffer.from(s) })) },
  { weight: 1, arbitrary: fc.constant({ kind: "empty", body: Buffer.alloc(0) }) },
  {
    weight: 1,
    arbitrary: fc.record({ size: fc.integer({ min: 300_000, max: 1_200_000 }), json: fc.boolean() }).map(({ size, json }) => ({
      kind: "huge",
      body: json ? Buffer.from(JSON.stringify({ action: "completed", padding: "x".repeat(size) })) : Buffer.alloc(size, 0xfe),
    })),
  },
);
const extraHeadersArb = fc.array(fc.tuple(fc.constantFrom("x-fuzz", "x-github-hook-id", "user-agent", "x-forwarded-for", "accept"), headerText(30)), { maxLength: 2 });

const caseArb: fc.Arbitrary<FuzzCase> = fc
  .record({ method: methodArb, path: pathArb, event: eventArb, delivery: deliveryArb, contentType: contentTypeArb, signature: signatureArb, body: bodyArb, extraHeaders: extraHeadersArb })
  .map((c) => ({
    method: c.method,
    path: c.path,
    event: c.event === "matching" ? (c.body.event ?? "workflow_run") : c.event,
    delivery: c.delivery,
    contentType: c.contentType,
    signature: c.signature,
    body: c.body.body,
    bodyKind: c.body.kind,
    extraHeaders: c.extraHeaders,
  }));

function hmac(algorithm: string, body: Buffer | string, secret = WEBHOOK_SECRET): string {
  return createHmac(algorithm, secret).update(body).digest("hex");
}

function signatureHeader(c: FuzzCase): string | string[] | null {
  const valid = `sha256=${hmac("sha256", c.body)}`;
  switch (c.signature) {
    case "valid":
      return valid;
    case "absent":
      return null;
    case "empty":
      return "";
    case "wrong-secret":
      return `sha256=${hmac("sha256", c.body, "not-the-secret")}`;
    case "garbled-hex":
      return `sha256=${hmac("sha256", `${c.body.length}garble`)}`;
    case "truncated":
      return valid.slice(0, 40);
    case "sha1":
      return `sha1=${hmac("sha1", c.body)}`;
    case "sha512":
      return `sha512=${hmac("sha512", c.body)}`;
    case "other-body":
      return sign(`${c.body.toString("utf8")} `);
    case "garbage":
      return "sha256=zz\u00ff not hex at all";
    case "repeated":
      return [valid, valid];
  }
}

/** The route a request target names, without trailing slashes; null for one no URL parser accepts (it names no route at all). */
function routeOf(path: string): string | null {
  try {
    return new URL(`http://fixloop.test${path}`).pathname.replace(/\/+$/, "");
  } catch {
    return null;
  }
}

const isWebhookPath = (path: string) => routeOf(path) === DEFAULT_WEBHOOK_PATH;

/** One request; its status and the `status` field of a JSON answer (HTML pages and HEAD answers have none), or the client error. */
async function send(url: string, request: Parameters<typeof rawRequest>[1]): Promise<{ status: number; answer: string | null; error: string | null }> {
  try {
    const response = await rawRequest(url, request);
    let answer: { status?: string } = {};
    try {
      answer = JSON.parse(response.body.toString("utf8")) as { status?: string };
    } catch {
      // not JSON
    }
    return { status: response.status, answer: answer.status ?? null, error: null };
  } catch (error) {
    return { status: 0, answer: null, error: (error as Error).message };
  }
}
type Expected = { status: number; accepted: false; why: string } | { status: number; accepted: true; why: string };

/** The site root takes GitHub deliveries too (Probot's setup page registers the webhook there): POSTs that carry an event header. */
function isRootDelivery(c: FuzzCase): boolean {
  return routeOf(c.path) === "" && c.method === "POST" && c.event !== null;
}

/** What the ingress promises for this request. */
function expectedAnswer(c: FuzzCase): Expected | null {
  if (!isWebhookPath(c.path) && !isRootDelivery(c)) return null;
  if (c.method !== "POST") return { status: 405, accepted: false, why: "not POST" };
  const signature = signatureHeader(c);
  if (!c.event || !c.delivery || signature === null || signature === "") return { status: 400, accepted: false, why: "required header missing" };
  if (!/^\s*application\/json\s*(;|$)/i.test(c.contentType ?? "")) return { status: 415, accepted: false, why: "not application/json" };
  // The HMAC is checked over the exact bytes received (src/http/signature.ts): a correct one verifies whatever they are.
  if (c.signature !== "valid") return { status: 401, accepted: false, why: "signature not valid for the body" };
  // The request thread only looks at the shape; the processor parses the body (and fails it as malformed if it is not JSON).
  if (!shapedLikeJsonObject(c.body)) return { status: 400, accepted: false, why: "signed, not shaped like a JSON object" };
  return { status: 202, accepted: true, why: "signed, shaped like a JSON object" };
}

/** `{` … `}` once JSON's blanks are trimmed from both ends. */
function shapedLikeJsonObject(body: Buffer): boolean {
  const blank = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
  let first = 0;
  while (first < body.length && blank(body[first])) first++;
  let last = body.length - 1;
  while (last > first && blank(body[last])) last--;
  return last > first && body[first] === 0x7b && body[last] === 0x7d;
}

let server: TestServer;
let agent: Agent;

beforeAll(async () => {
  server = await startTestServer();
  agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
});

afterAll(async () => {
  agent?.destroy();
  await server?.close();
});

test(`${RUNS} generated webhook requests: only the documented answers, nothing stored for bad ones, no crash`, async () => {
  const cases = fc.sample(caseArb, { seed: SEED, numRuns: RUNS });
  const started = performance.now();
  const results = await mapLimited(cases, IN_FLIGHT, async (c) => {
    const headers: Record<string, string | string[]> = { "content-length": String(c.body.length) };
    if (c.event !== null) headers["x-github-event"] = c.event;
    if (c.delivery !== null) headers["x-github-delivery"] = c.delivery;
    if (c.contentType !== null) headers["content-type"] = c.contentType;
    const signature = signatureHeader(c);
    if (signature !== null) headers["x-hub-signature-256"] = signature;
    for (const [name, value] of c.extraHeaders) headers[name] = value;
    return send(server.url, { method: c.method, path: c.path, headers, body: c.body, agent });
  });
  const elapsedMs = performance.now() - started;

  const histogram = new Map<number, number>();
  const byWhy = new Map<string, Map<number, number>>();
  const violations: string[] = [];
  const acceptedIds = new Set<string>();
  let unreadable = 0;
  results.forEach((result, i) => {
    const c = cases[i];
    histogram.set(result.status, (histogram.get(result.status) ?? 0) + 1);
    const expected = expectedAnswer(c);
    const why = expected?.why ?? "not the webhook path";
    const slot = byWhy.get(why) ?? new Map<number, number>();
    slot.set(result.status, (slot.get(result.status) ?? 0) + 1);
    byWhy.set(why, slot);
    const describe = () => `#${i} ${c.method} ${c.path} event=${JSON.stringify(c.event)} delivery=${JSON.stringify(c.delivery?.slice(0, 40))} type=${JSON.stringify(c.contentType)} sig=${c.signature} body=${c.bodyKind} (${c.body.length} B) → ${result.status}${result.error ? ` (${result.error})` : ""}`;
    if (result.error) return void violations.push(`client error: ${describe()}`);
    if (!expected) {
      if (result.status >= 500) violations.push(`5xx off the webhook path: ${describe()}`);
      return;
    }
    if (!expected.accepted) {
      if (result.status !== expected.status) violations.push(`expected ${expected.status} (${expected.why}): ${describe()}`);
      return;
    }
    acceptedIds.add(c.delivery!);
    if (result.status === 202 && result.answer === "accepted") return;
    // The same delivery id generated twice: stored once, the second is a duplicate.
    if (result.status === 200 && result.answer === "duplicate") return;
    violations.push(`expected 202 accepted (or 200 duplicate) for a signed body shaped like a JSON object: ${describe()} answer=${result.answer}`);
  });
  // Processing happens after the answers: a handler that cannot read a signed payload of its event fails the row for good.
  const processedAfter = await server.inbox.processor.drain();

  const violationKinds = new Map<string, number>();
  for (const violation of violations) {
    const kind = violation.replace(/: #\d+ .*$/, "").replace(/ \(.*\)$/, "");
    violationKinds.set(kind, (violationKinds.get(kind) ?? 0) + 1);
  }
  const stored = await server.store.db.select({ id: deliveries.id, status: deliveries.status }).from(deliveries);
  const storedForBadRequests = stored.filter((row) => !acceptedIds.has(row.id));
  const failedRows = await server.store.db
    .select({ id: deliveries.id, event: deliveries.event, error: deliveries.error })
    .from(deliveries)
    .where(eq(deliveries.status, "failed"));
  unreadable = failedRows.length;
  // A failed row is explained by a body that is not JSON after all, or a payload of an event fixloop reads that lacks what it must carry.
  const unexplainedFailures = failedRows.filter(
    (row) => !/not a JSON object/.test(row.error ?? "") && !(Object.hasOwn(INGEST_HANDLERS, row.event) && /malformed/.test(row.error ?? "")),
  );
  const stillWaiting = stored.filter((row) => row.status === "received");
  const health = await rawRequest(server.url, { method: "GET", path: "/healthz" });

  report(
    "webhook fuzz",
    `${RUNS} requests (seed ${SEED}, ${IN_FLIGHT} in flight) in ${(elapsedMs / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...histogram].sort((a, b) => a[0] - b[0])))}; ` +
      `by class ${JSON.stringify(Object.fromEntries([...byWhy].map(([why, counts]) => [why, Object.fromEntries(counts)])))}; ` +
      `5xx: ${[...histogram].filter(([s]) => s >= 500).reduce((n, [, k]) => n + k, 0)}; processed after the answers ${processedAfter}, of which signed but unreadable payloads (row failed as malformed): ${unreadable}; ` +
      `deliveries stored ${stored.length} = distinct ids of signed {…} bodies ${acceptedIds.size}; stored for bad requests: ${storedForBadRequests.length}; violations ${violations.length}${violations.length ? ` ${JSON.stringify(Object.fromEntries(violationKinds))}, e.g. ${violations.slice(0, 3).join(" | ")}` : ""}; /healthz afterwards ${health.status}`,
  );
  expect(violations.slice(0, 20)).toEqual([]);
  expect(storedForBadRequests).toEqual([]);
  expect(stored).toHaveLength(acceptedIds.size);
  expect(unexplainedFailures).toEqual([]);
  expect(stillWaiting).toEqual([]);
  expect(health.status).toBe(200);
}, 300_000);

// ---- GitLab and Gitea/Forgejo routes ------------------------------------------------------------------

/*
 * The same property for POST /api/webhooks/gitlab and /api/webhooks/gitea:
 * 405 for other methods, 401 for any credential but the right one (token,
 * or the hex HMAC of the exact bytes), 400 without an event header, 400 for
 * a body that is not a JSON object (nothing stored), then 200, or 400 with
 * the row kept as failed for an event fixloop reads whose payload it cannot.
 * Never a 5xx; nothing stored for a refused request.
 */
const FORGE_RUNS = 2_000;
const GITLAB_SECRET = "fuzz-gitlab-token";
const GITEA_SECRET = "fuzz-gitea-secret";

type Forge = "gitlab" | "gitea";
type ForgeCredential = "valid" | "absent" | "empty" | "wrong" | "truncated" | "extended" | "uppercase-hex" | "prefixed" | "other-body" | "garbage" | "repeated";

const FORGE_FIXTURES: Record<Forge, { event: string; body: string }[]> = {
  gitlab: [
    { event: "Merge Request Hook", body: JSON.stringify(fixture("gitlab/merge_request.open.json")) },
    { event: "Pipeline Hook", body: JSON.stringify(fixture("gitlab/pipeline.success.json")) },
    { event: "Job Hook", body: JSON.stringify(fixture("gitlab/job.created.json")) },
    { event: "Push Hook", body: JSON.stringify(fixture("gitlab/push.json")) },
    { event: "Note Hook", body: JSON.stringify(fixture("gitlab/note.merge_request.json")) },
  ],
  gitea: [
    { event: "pull_request", body: JSON.stringify(fixture("gitea/pull_request.opened.json")) },
    { event: "pull_request_approved", body: JSON.stringify(fixture("gitea/pull_request_approved.json")) },
    { event: "status", body: JSON.stringify(fixture("gitea/status.json")) },
    { event: "workflow_run", body: JSON.stringify(fixture("gitea/workflow_run.completed.json")) },
    { event: "workflow_job", body: JSON.stringify(fixture("gitea/workflow_job.in_progress.json")) },
    { event: "push", body: JSON.stringify(fixture("gitea/push.json")) },
  ],
};
const FORGE_EVENTS: Record<Forge, string[]> = {
  gitlab: Object.keys(FORGE_HANDLERS).flatMap((k) => (k.startsWith("gitlab:") ? [k.slice(7)] : [])).concat("System Hook", "Issue Hook", "Wiki Page Hook"),
  gitea: Object.keys(FORGE_HANDLERS).flatMap((k) => (k.startsWith("gitea:") ? [k.slice(6)] : [])).concat("issues", "create", "release"),
};

interface ForgeCase {
  forge: Forge;
  forgejo: boolean;
  method: string;
  path: string;
  event: string | null;
  delivery: string | null;
  credential: ForgeCredential;
  body: Buffer;
  bodyKind: string;
}

const forgeCaseArb: fc.Arbitrary<ForgeCase> = fc
  .record({
    forge: fc.constantFrom<Forge>("gitlab", "gitea"),
    forgejo: fc.boolean(),
    method: methodArb,
    pathVariant: fc.constantFrom("", "", "", "", "/", "?x=1"),
    event: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constant("") }, { weight: 6, arbitrary: fc.constant("matching") }, { weight: 2, arbitrary: fc.constant("known") }, { weight: 1, arbitrary: headerText(40) }),
    knownIndex: fc.nat(),
    fixtureIndex: fc.nat(),
    delivery: deliveryArb,
    credential: fc.oneof(
      { weight: 8, arbitrary: fc.constant<ForgeCredential>("valid") },
      { weight: 1, arbitrary: fc.constantFrom<ForgeCredential>("absent", "empty", "wrong", "truncated", "extended", "uppercase-hex", "prefixed", "other-body", "garbage", "repeated") },
    ),
    bodyChoice: fc.oneof(
      { weight: 4, arbitrary: fc.constant({ kind: "recorded payload" } as const) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("mutated payload" as const), key: fc.constantFrom("object_attributes", "project", "merge_request", "commits", "ref", "pull_request", "repository", "workflow_run", "workflow_job", "sha", "state", "id", "build_status"), value: fc.jsonValue({ maxDepth: 2 }), drop: fc.boolean() }) },
      { weight: 4, arbitrary: bodyArb.filter((b) => b.kind !== "recorded payload" && b.kind !== "mutated payload") },
    ),
  })
  .map((c) => {
    const fixtures = FORGE_FIXTURES[c.forge];
    const f = fixtures[c.fixtureIndex % fixtures.length];
    let body: Buffer;
    let bodyKind: string;
    if ("body" in c.bodyChoice) {
      body = c.bodyChoice.body;
      bodyKind = c.bodyChoice.kind;
    } else if (c.bodyChoice.kind === "mutated payload") {
      const payload = JSON.parse(f.body) as Record<string, unknown>;
      if (c.bodyChoice.drop) delete payload[c.bodyChoice.key];
      else payload[c.bodyChoice.key] = c.bodyChoice.value;
      body = Buffer.from(JSON.stringify(payload));
      bodyKind = "mutated payload";
    } else {
      body = Buffer.from(f.body);
      bodyKind = "recorded payload";
    }
    const known = FORGE_EVENTS[c.forge];
    const event = c.event === "matching" ? f.event : c.event === "known" ? known[c.knownIndex % known.length] : c.event;
    return { forge: c.forge, forgejo: c.forge === "gitea" && c.forgejo, method: c.method, path: `/api/webhooks/${c.forge}${c.pathVariant}`, event, delivery: c.delivery, credential: c.credential, body, bodyKind };
  });

function forgeCredentialHeader(c: ForgeCase): string | string[] | null {
  const valid = c.forge === "gitlab" ? GITLAB_SECRET : hmac("sha256", c.body, GITEA_SECRET);
  switch (c.credential) {
    case "valid":
      return valid;
    case "absent":
      return null;
    case "empty":
      return "";
    case "wrong":
      return c.forge === "gitlab" ? "not-the-token" : hmac("sha256", c.body, "not-the-secret");
    case "truncated":
      return valid.slice(0, valid.length - 1);
    case "extended":
      return `${valid}0`;
    case "uppercase-hex":
      return valid.toUpperCase();
    case "prefixed":
      return `sha256=${valid}`;
    case "other-body":
      return c.forge === "gitlab" ? `${GITLAB_SECRET} ` : hmac("sha256", Buffer.concat([c.body, Buffer.from(" ")]), GITEA_SECRET);
    case "garbage":
      return "zz\u00ff not a credential";
    case "repeated":
      return [valid, valid];
  }
}

/** Whether the credential sent is the right one: GitLab's token exactly (header whitespace aside), Gitea's HMAC in either case. */
function credentialValid(c: ForgeCase): boolean {
  if (c.credential === "valid") return true;
  if (c.credential === "other-body") return c.forge === "gitlab"; // a trailing space is header whitespace, not part of the value
  if (c.credential === "uppercase-hex") return c.forge === "gitea"; // hex digits in either case are the same digest
  return false;
}

function forgeDeliveryId(c: ForgeCase): string {
  const key = c.delivery?.trim() ? c.delivery.trim() : `sha256-${createHash("sha256").update(c.event!.trim()).update("\0").update(c.body).digest("hex")}`;
  return `${c.forge}:${key}`;
}

function expectedForgeAnswer(c: ForgeCase): Expected {
  if (c.method !== "POST") return { status: 405, accepted: false, why: "not POST" };
  if (!credentialValid(c)) return { status: 401, accepted: false, why: "credential not valid" };
  if (!c.event?.trim()) return { status: 400, accepted: false, why: "event header missing" };
  let payload: unknown;
  try {
    payload = JSON.parse(c.body.toString("utf8"));
  } catch {
    return { status: 400, accepted: false, why: "authenticated, not JSON" };
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return { status: 400, accepted: false, why: "authenticated, JSON but not an object" };
  return { status: 200, accepted: true, why: "authenticated JSON object" };
}

test(`${FORGE_RUNS} generated GitLab and Gitea/Forgejo webhook requests: only the documented answers, nothing stored for bad ones, no crash`, async () => {
  const forgeServer = await startTestServer({ forgeSecrets: { gitlab: GITLAB_SECRET, gitea: GITEA_SECRET } });
  const forgeAgent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  try {
    const cases = fc.sample(forgeCaseArb, { seed: SEED + 1, numRuns: FORGE_RUNS });
    const started = performance.now();
    const results = await mapLimited(cases, IN_FLIGHT, async (c) => {
      const headers: Record<string, string | string[]> = { "content-length": String(c.body.length), "content-type": "application/json" };
      const prefix = c.forge === "gitlab" ? "x-gitlab" : c.forgejo ? "x-forgejo" : "x-gitea";
      if (c.event !== null) headers[`${prefix}-event`] = c.event;
      if (c.delivery !== null) headers[c.forge === "gitlab" ? "idempotency-key" : `${prefix}-delivery`] = c.delivery;
      const credential = forgeCredentialHeader(c);
      if (credential !== null) headers[c.forge === "gitlab" ? "x-gitlab-token" : `${prefix}-signature`] = credential;
      return send(forgeServer.url, { method: c.method, path: c.path, headers, body: c.body, agent: forgeAgent });
    });
    const elapsedMs = performance.now() - started;

    const histogram = new Map<string, number>();
    const violations: string[] = [];
    const acceptedIds = new Set<string>();
    const failedIds = new Set<string>();
    results.forEach((result, i) => {
      const c = cases[i];
      const expected = expectedForgeAnswer(c);
      const key = `${c.forge} ${result.status}`;
      histogram.set(key, (histogram.get(key) ?? 0) + 1);
      const describe = () => `#${i} ${c.method} ${c.path}${c.forgejo ? " (forgejo)" : ""} event=${JSON.stringify(c.event)} cred=${c.credential} body=${c.bodyKind} (${c.body.length} B) → ${result.status}${result.error ? ` (${result.error})` : ""}`;
      if (result.error) return void violations.push(`client error: ${describe()}`);
      if (!expected.accepted) {
        if (result.status !== expected.status) violations.push(`expected ${expected.status} (${expected.why}): ${describe()}`);
        return;
      }
      const id = forgeDeliveryId(c);
      acceptedIds.add(id);
      if (result.status === 200) return;
      if (result.status === 400 && result.answer === "failed" && Object.hasOwn(FORGE_HANDLERS, `${c.forge}:${c.event!.trim()}`)) {
        failedIds.add(id);
        return;
      }
      violations.push(`expected 200 (or a handler's 400) for an authenticated JSON object: ${describe()} answer=${result.answer}`);
    });
    const stored = await forgeServer.store.db.select({ id: deliveries.id, status: deliveries.status }).from(deliveries);
    const storedForBadRequests = stored.filter((row) => !acceptedIds.has(row.id));
    const unexplainedFailures = stored.filter((row) => row.status === "failed" && !failedIds.has(row.id));
    const health = await rawRequest(forgeServer.url, { method: "GET", path: "/healthz" });
    report(
      "forge webhook fuzz",
      `${FORGE_RUNS} requests (seed ${SEED + 1}) in ${(elapsedMs / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...histogram].sort()))}; ` +
        `deliveries stored ${stored.length} = distinct authenticated-JSON-object ids ${acceptedIds.size}; unreadable payloads kept as failed ${failedIds.size}; stored for bad requests: ${storedForBadRequests.length}; ` +
        `violations ${violations.length}${violations.length ? `, e.g. ${violations.slice(0, 3).join(" | ")}` : ""}; /healthz afterwards ${health.status}`,
    );
    expect(violations.slice(0, 20)).toEqual([]);
    expect(storedForBadRequests).toEqual([]);
    expect(stored).toHaveLength(acceptedIds.size);
    expect(unexplainedFailures).toEqual([]);
    expect(health.status).toBe(200);
  } finally {
    forgeAgent.destroy();
    await forgeServer.close();
  }
}, 600_000);
