/**
 * GitHub must see the same answers from the node server and from Lambda: the
 * same requests go to both. Refusals match in status and body. A verified
 * delivery is a 2xx from both and leaves the same row behind; only the body
 * differs by design: the node server answers once the delivery is stored in
 * its inbox (202 accepted, processed right after), the Lambda webhook once it
 * is processed (200 with how it went).
 */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, expect, test } from "vitest";
import { createLambdaHandlers, type LambdaHandlers } from "../src/lambda.js";
import { createSqsQueue } from "../src/queue/sqs.js";
import { createTempStore, createTestProbot, fixture, sign, startTestServer, type TempStore, type TestServer } from "./helpers.js";

const sqsMock = mockClient(SQSClient);
let server: TestServer;
let store: TempStore;
let lambda: LambdaHandlers;

beforeEach(async () => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "m" });
  server = await startTestServer();
  store = await createTempStore();
  const client = new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  const queue = createSqsQueue({ store, client, queueUrl: "https://sqs.eu-west-1.amazonaws.com/1/q" });
  lambda = createLambdaHandlers({ store, queue, probot: createTestProbot(), env: {}, model: null });
});
afterEach(async () => {
  await server.close();
  store.dispose();
});

interface Case {
  name: string;
  /** A verified delivery: stored by both (see above), rather than refused. */
  stored?: true;
  method?: string;
  headers: Record<string, string>;
  body: string;
}

const pr = JSON.stringify(fixture("pull_request.opened.json"));
const red = JSON.stringify(fixture("workflow_run.completed.json"));
const headers = (event: string, id: string, body: string, extra: Record<string, string> = {}) => ({
  "content-type": "application/json",
  "x-github-event": event,
  "x-github-delivery": id,
  "x-hub-signature-256": sign(body),
  ...extra,
});

const CASES: Case[] = [
  { name: "processed", stored: true, headers: headers("pull_request", "p-1", pr), body: pr },
  { name: "duplicate", stored: true, headers: headers("pull_request", "p-1", pr), body: pr },
  { name: "fix enqueued", stored: true, headers: headers("workflow_run", "p-2", red), body: red },
  { name: "ignored", stored: true, headers: headers("star", "p-3", '{"action":"created"}'), body: '{"action":"created"}' },
  { name: "bad signature", headers: headers("pull_request", "p-4", pr, { "x-hub-signature-256": sign("other") }), body: pr },
  { name: "no signature", headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": "p-5" }, body: "{}" },
  { name: "not JSON", headers: headers("push", "p-6", "{nope"), body: "{nope" },
  { name: "JSON array", headers: headers("push", "p-7", "[]"), body: "[]" },
  { name: "form encoded", headers: headers("push", "p-8", "payload=%7B%7D", { "content-type": "application/x-www-form-urlencoded" }), body: "payload=%7B%7D" },
  { name: "GET", method: "GET", headers: {}, body: "" },
];

test("every request gets the same status and body from the node server and the Lambda function", async () => {
  for (const c of CASES) {
    const method = c.method ?? "POST";
    const node = await fetch(`${server.url}/api/github/webhooks`, { method, headers: c.headers, body: method === "GET" ? undefined : c.body });
    const fromLambda = await lambda.webhook({
      version: "2.0",
      rawPath: "/api/github/webhooks",
      headers: c.headers,
      body: c.body,
      isBase64Encoded: false,
      requestContext: { http: { method } },
    });
    const nodeBody = (await node.json()) as Record<string, unknown>;
    const lambdaBody = JSON.parse(fromLambda.body) as Record<string, unknown>;
    if (!c.stored) {
      expect({ case: c.name, status: fromLambda.statusCode, body: lambdaBody }).toEqual({ case: c.name, status: node.status, body: nodeBody });
      continue;
    }
    await server.inbox.processor.drain();
    const duplicate = c.name === "duplicate";
    expect({ case: c.name, status: node.status, body: nodeBody }).toEqual({
      case: c.name,
      status: duplicate ? 200 : 202,
      body: { id: c.headers["x-github-delivery"], status: duplicate ? "duplicate" : "accepted" },
    });
    expect({ case: c.name, status: fromLambda.statusCode, id: lambdaBody.id }).toEqual({ case: c.name, status: 200, id: c.headers["x-github-delivery"] });
  }
  // The same rows, with the same outcome, on both sides.
  const rows = async (s: TempStore) =>
    (await s.client.execute("SELECT id, event, action, status, note, error, payload FROM deliveries ORDER BY id")).rows.map((r) => ({ ...r }));
  expect(await rows(store)).toEqual(await rows(server.store));
  expect((await rows(store)).map((r) => `${r.id} ${r.status}`)).toEqual(["p-1 processed", "p-2 processed", "p-3 ignored"]);
});
