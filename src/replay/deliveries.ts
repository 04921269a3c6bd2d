/**
 * Reading recorded deliveries from files: a bare payload (event from the file
 * name or --event) or envelopes `{ "event" | "name", "id", "payload" }`, one or
 * an array of them.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";

export interface RecordedDelivery {
  id: string;
  name: string;
  payload: Record<string, unknown>;
}

export class ReplayInputError extends Error {
  override name = "ReplayInputError";
}

const EVENT_NAME = /^[a-z_]+$/;

/** `workflow_run.completed.json`, `pull_request.closed.fork.json` → the event name. */
export function eventFromFileName(file: string): string | null {
  const [event, action] = basename(file).split(".");
  return action && EVENT_NAME.test(event) && !/^json$/i.test(action) ? event : null;
}

/** A bare payload has no delivery id: derive one from its content so a second replay is a duplicate. */
export function contentDeliveryId(name: string, payload: unknown): string {
  return `replay-${createHash("sha256").update(name).update("\0").update(JSON.stringify(payload)).digest("hex").slice(0, 32)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isEnvelope(value: Record<string, unknown>): boolean {
  return "payload" in value && (typeof value.event === "string" || typeof value.name === "string");
}

function fromEnvelope(value: unknown, where: string): RecordedDelivery {
  if (!isObject(value) || !isEnvelope(value)) throw new ReplayInputError(`${where}: not an envelope {"event"|"name", "id", "payload"}`);
  const name = (value.event ?? value.name) as string;
  if (!isObject(value.payload)) throw new ReplayInputError(`${where}: "payload" must be a JSON object`);
  const id = typeof value.id === "string" || typeof value.id === "number" ? String(value.id) : contentDeliveryId(name, value.payload);
  return { id, name, payload: value.payload };
}

export function parseRecordedDeliveries(text: string, file: string, eventOverride?: string): RecordedDelivery[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ReplayInputError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (Array.isArray(data)) return data.map((item, i) => fromEnvelope(item, `${file}[${i}]`));
  if (!isObject(data)) throw new ReplayInputError(`${file}: expected a JSON object or an array of envelopes`);
  if (isEnvelope(data)) return [fromEnvelope(data, file)];
  const name = eventOverride ?? eventFromFileName(file);
  if (!name) {
    throw new ReplayInputError(`${file}: a bare payload needs --event, or a file named <event>.<action>.json`);
  }
  return [{ id: contentDeliveryId(name, data), name, payload: data }];
}
