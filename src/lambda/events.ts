/**
 * The few fields of AWS's event shapes fixloop reads, typed here rather than
 * through @types/aws-lambda, and turned into plain requests.
 */

/** API Gateway HTTP API, payload format 2.0 (the REST API's 1.0 shape is read too: httpMethod, path). */
export interface HttpApiEvent {
  version?: string;
  rawPath?: string;
  path?: string;
  httpMethod?: string;
  headers?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: { http?: { method?: string; path?: string }; requestId?: string };
}

export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
  eventSourceARN?: string;
}

export interface SqsEvent {
  Records: SqsRecord[];
}

/** The partial batch response: the records listed here go back to the queue, the rest are deleted. */
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** What Lambda passes as the second argument; only the clock is used. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  awsRequestId?: string;
}

export interface HttpRequest {
  method: string;
  path: string;
  /** Lower-case names: HTTP headers are case-insensitive and API Gateway passes them as sent. */
  headers: Record<string, string>;
  body: string;
}

export function lowercaseHeaders(headers: Record<string, string | undefined> | null | undefined): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined && value !== null) lower[name.toLowerCase()] = String(value);
  }
  return lower;
}

/** Method, path, headers and the body as text, decoding what API Gateway base64-encoded. */
export function httpRequestOf(event: HttpApiEvent): HttpRequest {
  const method = (event.requestContext?.http?.method ?? event.httpMethod ?? "GET").toUpperCase();
  const path = event.rawPath ?? event.requestContext?.http?.path ?? event.path ?? "/";
  const raw = event.body ?? "";
  const body = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  return { method, path, headers: lowercaseHeaders(event.headers), body };
}

export function jsonResult(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpApiResult {
  return { statusCode, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(body) };
}
