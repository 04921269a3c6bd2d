/**
 * A TensorZero gateway stand-in on a real loopback port: the OpenAI-compatible
 * chat endpoint (`fixloop_patch`) and `POST /feedback`. It can go away
 * entirely (`down()`: the port refuses connections, as when the gateway is
 * unreachable) and come back on the same port (`up()`), or answer 503.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { v7 as uuidv7 } from "uuid";

export interface InferenceCall {
  inferenceId: string;
  episodeId: string;
  body: Record<string, any>;
}

export interface FeedbackCall {
  feedbackId: string;
  body: Record<string, any>;
}

export interface FakeTensorZero {
  url: string;
  inferences: InferenceCall[];
  feedback: FeedbackCall[];
  /** Requests answered 503 while `failing` was set. */
  refused: number;
  /** Answer every request with 503 (the gateway is up but its providers are not). */
  failing: boolean;
  /** Stop listening: connections are refused until `up()`. */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, any>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, any>;
}

/** `answer` gives the assistant text for an inference request (the model's patch). */
export async function startFakeTensorZero(answer: (body: Record<string, any>) => string, port = 0): Promise<FakeTensorZero> {
  const fake: FakeTensorZero = {
    url: "",
    inferences: [],
    feedback: [],
    refused: 0,
    failing: false,
    down: async () => {},
    up: async () => {},
    close: async () => {},
  };
  let server: Server | null = null;
  let boundPort = port;

  const handler = async (req: IncomingMessage, res: import("node:http").ServerResponse) => {
    const body = await readJson(req);
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    if (fake.failing) {
      fake.refused++;
      return reply(503, { error: "All variants failed: provider unavailable" });
    }
    if (req.method === "POST" && req.url === "/openai/v1/chat/completions") {
      const inferenceId = uuidv7();
      const episodeId = String(body["tensorzero::episode_id"] ?? uuidv7());
      fake.inferences.push({ inferenceId, episodeId, body });
      return reply(200, {
        id: inferenceId,
        episode_id: episodeId,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: "tensorzero::function_name::fixloop_patch::variant_name::fake_v1",
        choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: answer(body) } }],
        usage: { prompt_tokens: 1200, completion_tokens: 80, total_tokens: 1280 },
      });
    }
    if (req.method === "POST" && req.url === "/feedback") {
      const feedbackId = randomUUID();
      fake.feedback.push({ feedbackId, body });
      return reply(200, { feedback_id: feedbackId });
    }
    return reply(404, { error: `no route ${req.method} ${req.url}` });
  };

  async function listen(): Promise<void> {
    const created = createServer((req, res) => {
      handler(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    created.keepAliveTimeout = 500;
    await new Promise<void>((resolve, reject) => {
      created.once("error", reject);
      created.listen(boundPort, "127.0.0.1", () => resolve());
    });
    boundPort = (created.address() as AddressInfo).port;
    server = created;
    fake.url = `http://127.0.0.1:${boundPort}`;
  }

  async function stop(): Promise<void> {
    const current = server;
    server = null;
    if (!current) return;
    await new Promise<void>((resolve) => {
      current.close(() => resolve());
      current.closeAllConnections();
    });
  }

  fake.down = stop;
  fake.up = listen;
  fake.close = stop;
  await listen();
  return fake;
}
