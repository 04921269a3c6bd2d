import type { IncomingMessage, ServerResponse } from "node:http";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
  return true;
}

export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/** Reads a request body, refusing more than `limit` bytes without buffering them. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError(`body of ${declared} bytes exceeds ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(`body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export class BadRequestUrlError extends Error {
  override name = "BadRequestUrlError";
}

/**
 * The request's URL. Resolved as a path, never as a URL reference: `//api/x`
 * would otherwise name a host "api" and a path "/x".
 */
export function requestUrl(req: IncomingMessage): URL {
  const raw = req.url ?? "/";
  try {
    return new URL(`http://localhost${raw.startsWith("/") ? raw : `/${raw}`}`);
  } catch {
    throw new BadRequestUrlError(`request URL could not be parsed: ${JSON.stringify(raw.slice(0, 200))}`);
  }
}
