/**
 * The delivery the ingest benchmark sends: the recorded-looking ~19 KB
 * `workflow_run` completed payload, compact as GitHub sends it, signed once
 * (the signature covers only the body; each request gets its own delivery id).
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

export const BENCH_EVENT = "workflow_run";
export const BENCH_FIXTURE = "workflow_run.completed.large.json";

export interface SignedDelivery {
  event: string;
  body: Buffer;
  signature: string;
}

export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function loadBenchDelivery(secret: string): SignedDelivery {
  const pretty = readFileSync(new URL(`../fixtures/${BENCH_FIXTURE}`, import.meta.url), "utf8");
  const body = Buffer.from(JSON.stringify(JSON.parse(pretty)));
  return { event: BENCH_EVENT, body, signature: signBody(body, secret) };
}

/** Headers of one delivery; only `x-github-delivery` changes between requests. */
export function deliveryHeaders(delivery: SignedDelivery, id: string): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/bench",
    "x-github-event": delivery.event,
    "x-github-delivery": id,
    "x-github-hook-id": "482914730",
    "x-github-hook-installation-target-type": "integration",
    "x-github-hook-installation-target-id": "1",
    "x-hub-signature-256": delivery.signature,
  };
}
