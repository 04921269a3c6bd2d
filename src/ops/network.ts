/**
 * Unreachable services: an address that does not resolve, a refused
 * connection or a TLS failure is not a hiccup that a retry in a second fixes.
 * Such errors are recognised here, remembered per service (the readiness
 * check and the dashboard banner show them), and turned into
 * ServiceUnreachableError, which a job answers by waiting with the reason
 * instead of spending minutes in retries.
 */

export type ServiceName = "GitHub" | "TensorZero";

/** Error codes that mean "this address cannot be reached now", from DNS, TCP and TLS. */
const UNREACHABLE_CODES = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EAI_NONAME",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "UND_ERR_CONNECT_TIMEOUT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

export interface UnreachableCause {
  code: string;
  /** The lowest-level message, e.g. "getaddrinfo ENOTFOUND api.github.com". */
  message: string;
  host: string | null;
}

/** The DNS/TCP/TLS failure somewhere in an error's cause chain (fetch hides it under "fetch failed"), or null. */
export function unreachableCause(error: unknown): UnreachableCause | null {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (!current || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    if (current instanceof ServiceUnreachableError) return current.detail;
    const { code, message, hostname, cause, errors } = current as { code?: unknown; message?: unknown; hostname?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === "string" && UNREACHABLE_CODES.has(code)) {
      const text = typeof message === "string" && message !== "" ? message : code;
      const host = typeof hostname === "string" ? hostname : (/\b(?:ENOTFOUND|EAI_AGAIN)\s+(\S+)/.exec(text)?.[1] ?? null);
      return { code, message: text, host };
    }
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return null;
}

/** A service could not be reached at all; the job should wait, not retry at once. */
export class ServiceUnreachableError extends Error {
  override name = "ServiceUnreachableError";
  constructor(
    readonly service: ServiceName,
    readonly detail: UnreachableCause,
    options?: { cause?: unknown },
  ) {
    super(`${service} unreachable: ${detail.message}`, options);
  }
}

/** The ServiceUnreachableError somewhere in an error's cause chain, or null. */
export function findUnreachable(error: unknown): ServiceUnreachableError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current && typeof current === "object"; depth++) {
    if (current instanceof ServiceUnreachableError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

export interface ServiceProblem {
  service: ServiceName;
  message: string;
  code: string;
  since: Date;
  lastSeen: Date;
}

/**
 * What this process has seen of each service lately: the first failure of a
 * streak is kept (for "since"), and any success clears it.
 */
export interface Reachability {
  failed(service: ServiceName, cause: UnreachableCause, at?: Date): void;
  succeeded(service: ServiceName): void;
  /** Problems seen within `withinMs` of `now`. */
  problems(now?: Date, withinMs?: number): ServiceProblem[];
  reset(): void;
}

export const RECENT_PROBLEM_MS = 5 * 60_000;

export function createReachability(): Reachability {
  const current = new Map<ServiceName, ServiceProblem>();
  return {
    failed(service, cause, at = new Date()) {
      const previous = current.get(service);
      current.set(service, { service, message: cause.message, code: cause.code, since: previous?.since ?? at, lastSeen: at });
    },
    succeeded(service) {
      current.delete(service);
    },
    problems(now = new Date(), withinMs = RECENT_PROBLEM_MS) {
      return [...current.values()].filter((p) => now.getTime() - p.lastSeen.getTime() <= withinMs);
    },
    reset() {
      current.clear();
    },
  };
}

/** The process's own record, shared by the GitHub client, the gateway client, /readyz and the dashboard. */
export const reachability = createReachability();

/**
 * A `fetch` for a service: failures to reach it are recorded and thrown as
 * ServiceUnreachableError; everything else passes through untouched.
 */
export function watchedFetch(service: ServiceName, inner: typeof fetch = fetch, record: Reachability = reachability): typeof fetch {
  return async (input, init) => {
    try {
      const response = await inner(input, init);
      record.succeeded(service);
      return response;
    } catch (error) {
      const cause = unreachableCause(error);
      if (!cause) throw error;
      record.failed(service, cause);
      throw new ServiceUnreachableError(service, cause, { cause: error });
    }
  };
}
