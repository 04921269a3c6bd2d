/**
 * Conditional requests for an Octokit: every cacheable GET carries the stored
 * ETag (If-None-Match) or Last-Modified (If-Modified-Since); a 304 is answered
 * from the store as if it were the original 200, Link header included, so
 * pagination walks on. GitHub does not charge the rate limit for a 304.
 *
 * The installer also counts what actually went over the wire (retries
 * included) and remembers the last rate-limit headers seen.
 *
 * GitHub's ETags are specific to the token that fetched them: with a
 * long-lived token (GITHUB_TOKEN) a re-run is all 304s; an installation token
 * is minted anew per run, so its first pass answers 200 again (GitHub support
 * confirmed this is expected). The stored rows still do not change.
 */
import type { ProbotOctokit } from "probot";
import type { Db } from "../store/db.js";
import { readCachedResponse, writeCachedResponse, type CachedResponse } from "../store/http-cache.js";
import { nowIso } from "../time.js";

export type GitHubOctokit = InstanceType<typeof ProbotOctokit>;

export interface RateLimitSnapshot {
  limit: number | null;
  remaining: number;
  /** When the window resets, ISO. */
  resetAt: string | null;
  /** core, search, graphql…: which budget the numbers belong to. */
  resource: string | null;
}

/** Live counters of one Octokit; read them before and after a piece of work to get its cost. */
export interface RequestStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** 304 answers served from the cache. */
  notModified: number;
  /** 200 answers stored for next time. */
  cacheWrites: number;
  rateLimit: RateLimitSnapshot | null;
}

/** Set on a response served from the cache, so callers can tell if they care. */
export const CACHE_HIT_HEADER = "x-fixloop-cache";

/** Response headers kept with a cached body: what pagination needs. */
const KEPT_HEADERS = ["link"];

const installed = new WeakMap<object, RequestStats>();

export function requestStatsOf(octokit: GitHubOctokit): RequestStats | undefined {
  return installed.get(octokit);
}

type FetchFunction = typeof globalThis.fetch;

/** Token-minting and app routes are never cached: their bodies can hold credentials. */
function isCacheableRoute(method: string, url: string): boolean {
  if (method !== "GET") return false;
  const path = new URL(url, "https://api.github.invalid").pathname;
  return !/\/app(\/|$)|\/access_tokens$|\/applications\//.test(path);
}

function cacheKeyOf(method: string, url: string, accept: unknown): string {
  // GitHub varies the body on Accept; the default media type is left out of the key to keep it readable.
  const media = typeof accept === "string" && accept !== "application/vnd.github.v3+json" ? ` accept=${accept}` : "";
  return `${method} ${url}${media}`;
}

function numberHeader(headers: Headers, name: string): number | null {
  const value = headers.get(name);
  if (value === null || value.trim() === "") return null;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : null;
}

function readRateLimit(headers: Headers): RateLimitSnapshot | null {
  const remaining = numberHeader(headers, "x-ratelimit-remaining");
  if (remaining === null) return null;
  const reset = numberHeader(headers, "x-ratelimit-reset");
  return {
    limit: numberHeader(headers, "x-ratelimit-limit"),
    remaining,
    resetAt: reset === null ? null : new Date(reset * 1000).toISOString(),
    resource: headers.get("x-ratelimit-resource"),
  };
}

function countingFetch(stats: RequestStats, inner: FetchFunction | undefined): FetchFunction {
  return async (input, init) => {
    stats.requests += 1;
    // Resolved per call so a fetch patched later (tests, proxies) is still the one used.
    const response = await (inner ?? globalThis.fetch)(input, init);
    const rateLimit = readRateLimit(response.headers);
    if (rateLimit) stats.rateLimit = rateLimit;
    return response;
  };
}

function isStatusError(error: unknown, status: number): error is { status: number; response?: { url?: string; headers?: Record<string, string> } } {
  return typeof error === "object" && error !== null && (error as { status?: unknown }).status === status;
}

function hasHeader(headers: Record<string, unknown>, name: string): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase() === name);
}

/**
 * Installs the cache on an Octokit (once; a second call returns the same
 * counters). Install it on an Octokit used for reads: cached bodies are kept
 * in `http_cache` until overwritten.
 */
export function installConditionalRequestCache(octokit: GitHubOctokit, db: Db): RequestStats {
  const existing = installed.get(octokit);
  if (existing) return existing;
  const stats: RequestStats = { requests: 0, notModified: 0, cacheWrites: 0, rateLimit: null };
  installed.set(octokit, stats);

  octokit.hook.wrap("request", async (request, options) => {
    // Hooks further in are bound to this same options object, so changes are made on it; nested objects are
    // replaced rather than mutated because they can be shared (Octokit's defaults, a paginator's headers).
    options.request = { ...options.request, fetch: countingFetch(stats, options.request?.fetch as FetchFunction | undefined) };
    const { method, url, headers } = octokit.request.endpoint.parse(options);
    // A caller that sends its own validators manages its own caching.
    const callerIsConditional = hasHeader(headers, "if-none-match") || hasHeader(headers, "if-modified-since");
    if (callerIsConditional || !isCacheableRoute(method, url)) return request(options);

    const key = cacheKeyOf(method, url, headers.accept);
    const cached = await readCachedResponse(db, key);
    if (cached?.etag) options.headers = { ...options.headers, "if-none-match": cached.etag };
    else if (cached?.lastModified) options.headers = { ...options.headers, "if-modified-since": cached.lastModified };

    try {
      const response = await request(options);
      const etag = response.headers.etag ?? null;
      const lastModified = response.headers["last-modified"] ?? null;
      // Only JSON bodies with a validator are worth keeping: nothing else can be asked for conditionally.
      if ((etag || lastModified) && typeof response.data === "object" && response.data !== null) {
        const kept = Object.fromEntries(
          KEPT_HEADERS.flatMap((name) => (response.headers[name] === undefined ? [] : [[name, String(response.headers[name])]])),
        );
        const entry: CachedResponse = { key, etag, lastModified, body: { data: response.data, headers: kept }, fetchedAt: nowIso() };
        // Awaited before returning: the body is serialised before pagination reshapes response.data in place.
        await writeCachedResponse(db, entry);
        stats.cacheWrites += 1;
      }
      return response;
    } catch (error) {
      if (!cached || !isStatusError(error, 304)) throw error;
      stats.notModified += 1;
      return {
        status: 200,
        url: error.response?.url || url,
        // Fresh headers from the 304 (rate limit, date), then the stored ones pagination needs.
        headers: { ...(error.response?.headers ?? {}), ...cached.body.headers, [CACHE_HIT_HEADER]: "hit" },
        data: cached.body.data,
      };
    }
  });
  return stats;
}

export function snapshotStats(stats: RequestStats): RequestStats {
  return { ...stats, rateLimit: stats.rateLimit ? { ...stats.rateLimit } : null };
}
