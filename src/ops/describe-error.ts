/**
 * Words for anything thrown: handlers, the inbox, the outbox and the job
 * queue all record errors on rows that the CLI, API and dashboard show, so
 * the text is redacted here, once, before it is stored or printed.
 */
import { redactText } from "../fix/redact.js";

/** Handlers may throw anything; the row and the log need words. */
export function describeError(error: unknown): string {
  // Stored on jobs, deliveries and the outbox, and shown by the CLI, API and dashboard.
  return redactText(describeUnredacted(error));
}

function describeUnredacted(error: unknown): string {
  if (error instanceof Error) return error.message ? `${error.name}: ${error.message}` : error.name;
  if (typeof error === "string") return error;
  try {
    const json = JSON.stringify(error);
    if (json !== undefined) return `non-Error thrown: ${json}`;
  } catch {
    // circular or otherwise unserialisable: fall through
  }
  return `non-Error thrown: ${String(error)}`;
}
