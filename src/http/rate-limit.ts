/**
 * Failed-authentication limiting for the admin API and the dashboard login:
 * at most `maxFailures` wrong tokens per client within `windowMs`; past that
 * the client is answered 429 with Retry-After until its oldest failure leaves
 * the window. Only failures count, so an operator with the right token is
 * never slowed down by its own use. While a client is held back even the
 * right token is answered 429: checking it would tell a guesser when it hit.
 * The client is the socket's address (an IPv6 client by its /64, which one
 * host usually owns whole): headers such as X-Forwarded-For are the client's
 * to forge, and would give each guess a fresh allowance. The table is held
 * in memory, per process, and bounded: past `maxClients` the stalest client
 * is forgotten.
 */
import type { IncomingMessage } from "node:http";

export interface FailureLimiterOptions {
  maxFailures?: number;
  windowMs?: number;
  /** Clients remembered at most; the stalest are forgotten first. */
  maxClients?: number;
  now?: () => number;
}

export interface FailureLimiter {
  /** Seconds until this client may try again, or null when it may try now. */
  retryAfter(client: string): number | null;
  /** Records a failed attempt. */
  fail(client: string): void;
  /** Clients remembered now (at most maxClients). */
  readonly size: number;
}

export const DEFAULT_MAX_FAILURES = 10;
export const DEFAULT_WINDOW_MS = 60_000;

export function createFailureLimiter(options: FailureLimiterOptions = {}): FailureLimiter {
  const maxFailures = options.maxFailures ?? DEFAULT_MAX_FAILURES;
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const maxClients = options.maxClients ?? 10_000;
  const now = options.now ?? Date.now;
  const failures = new Map<string, number[]>();

  const recent = (client: string, at: number): number[] => {
    const times = (failures.get(client) ?? []).filter((t) => t > at - windowMs);
    if (times.length === 0) failures.delete(client);
    else failures.set(client, times);
    return times;
  };

  return {
    retryAfter(client) {
      const at = now();
      const times = recent(client, at);
      if (times.length < maxFailures) return null;
      return Math.max(1, Math.ceil((times[times.length - maxFailures] + windowMs - at) / 1000));
    },
    fail(client) {
      const at = now();
      const times = recent(client, at);
      times.push(at);
      // Re-inserted last: the Map's first keys are the stalest clients.
      failures.delete(client);
      failures.set(client, times);
      while (failures.size > maxClients) failures.delete(failures.keys().next().value!);
    },
    get size() {
      return failures.size;
    },
  };
}

/** The socket's address; IPv6 by its /64 (a host gets a whole /64 and could rotate through it). */
export function clientOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? "unknown";
  if (!address.includes(":") || address.startsWith("::ffff:")) return address;
  return `${expandIpv6(address).slice(0, 4).join(":")}::/64`;
}

function expandIpv6(address: string): string[] {
  const [head, tail = ""] = address.split("%")[0].split("::");
  const left = head ? head.split(":") : [];
  const right = address.includes("::") && tail ? tail.split(":") : [];
  const zeros = address.includes("::") ? Array(Math.max(0, 8 - left.length - right.length)).fill("0") : [];
  return [...left, ...zeros, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ""));
}

/**
 * The gate before a token check: answers 429 with Retry-After (true) while
 * the client is held back; otherwise returns a function to call when the
 * token turns out wrong.
 */
export function holdBack(limiter: FailureLimiter, req: IncomingMessage, refuse: (retryAfterSeconds: number) => true): true | (() => void) {
  const client = clientOf(req);
  const wait = limiter.retryAfter(client);
  if (wait !== null) return refuse(wait);
  return () => limiter.fail(client);
}
