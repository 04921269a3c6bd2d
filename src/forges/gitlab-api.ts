/**
 * A small GitLab REST v4 client on plain `fetch`: the token in PRIVATE-TOKEN,
 * pagination by the `Link` header (keyset or offset alike), and GitLab's rate
 * limits honoured — `Retry-After` on 429/503, and a pause until
 * `RateLimit-Reset` once `RateLimit-Remaining` reaches 0. Transient errors
 * (5xx, network) are retried with backoff; 401/403/404 are said plainly.
 */
export const DEFAULT_GITLAB_URL = "https://gitlab.com";

export class GitlabApiError extends Error {
  override name = "GitlabApiError";
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface GitlabClientOptions {
  /** GITLAB_URL: the instance (https://gitlab.com, or a self-managed host); /api/v4 is added. */
  baseUrl?: string;
  /** GITLAB_TOKEN: a personal, project or group access token with read_api. */
  token: string;
  fetch?: typeof fetch;
  /** How waits happen (tests record them instead of sleeping). */
  sleep?: (ms: number) => Promise<void>;
  maxRetries?: number;
  /** The longest a rate-limit wait may be before the request fails instead. */
  maxWaitMs?: number;
  now?: () => number;
}

export interface GitlabPage<T> {
  items: T[];
  /** X-Total when GitLab sends it (it omits it past 10 000 rows). */
  total: number | null;
}

export interface GitlabClient {
  paginate<T>(path: string, query?: Record<string, string>): AsyncGenerator<GitlabPage<T>>;
  readonly stats: { requests: number; waitedMs: number };
}

export function apiRoot(baseUrl: string | undefined): string {
  const root = (baseUrl || DEFAULT_GITLAB_URL).replace(/\/+$/, "");
  return /\/api\/v4$/.test(root) ? root : `${root}/api/v4`;
}

/** `group/sub/project` as the API's project id. */
export function projectPath(project: string): string {
  return `/projects/${encodeURIComponent(project)}`;
}

function nextLink(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (match) return match[1];
  }
  return null;
}

/** Retry-After is seconds or an HTTP date. */
function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function resetWaitMs(headers: Headers, now: number): number | null {
  if (headers.get("ratelimit-remaining") !== "0") return null;
  const reset = Number(headers.get("ratelimit-reset"));
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : null;
}

export function createGitlabClient(options: GitlabClientOptions): GitlabClient {
  if (!options.token) throw new GitlabApiError("GITLAB_TOKEN is not set: create an access token with the read_api scope", null);
  const root = apiRoot(options.baseUrl);
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const maxRetries = options.maxRetries ?? 5;
  const maxWaitMs = options.maxWaitMs ?? 15 * 60_000;
  const stats = { requests: 0, waitedMs: 0 };
  let pauseUntil = 0;

  async function wait(ms: number, why: string): Promise<void> {
    if (ms > maxWaitMs) throw new GitlabApiError(`${why}: GitLab asks to wait ${Math.ceil(ms / 1000)} s, longer than allowed`, 429);
    stats.waitedMs += ms;
    await sleep(ms);
  }

  async function get(url: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      if (pauseUntil > now()) await wait(pauseUntil - now(), "rate limit reached");
      stats.requests++;
      let response: Response;
      try {
        response = await doFetch(url, { headers: { "private-token": options.token, accept: "application/json" } });
      } catch (error) {
        if (attempt >= maxRetries) throw new GitlabApiError(`GitLab unreachable: ${(error as Error).message}`, null);
        await wait(Math.min(30_000, 500 * 2 ** attempt), "network error");
        continue;
      }
      const reset = resetWaitMs(response.headers, now());
      if (reset !== null) pauseUntil = now() + reset;
      if (response.ok) return response;
      const body = (await response.text()).slice(0, 300);
      if (response.status === 429 || response.status >= 500) {
        if (attempt >= maxRetries) throw new GitlabApiError(`GitLab answered ${response.status} after ${attempt + 1} tries: ${body}`, response.status);
        const asked = retryAfterMs(response.headers.get("retry-after"), now()) ?? reset;
        await wait(asked ?? Math.min(30_000, 1000 * 2 ** attempt), `GitLab answered ${response.status}`);
        continue;
      }
      const hint =
        response.status === 401 ? " (check GITLAB_TOKEN)" : response.status === 403 ? " (the token needs read_api on this project)" : response.status === 404 ? " (no such project, or the token cannot see it)" : "";
      throw new GitlabApiError(`GitLab answered ${response.status}${hint}: ${body}`, response.status);
    }
  }

  async function* paginate<T>(path: string, query: Record<string, string> = {}): AsyncGenerator<GitlabPage<T>> {
    const first = new URL(`${root}${path}`);
    for (const [key, value] of Object.entries({ per_page: "100", ...query })) first.searchParams.set(key, value);
    let url: string | null = first.toString();
    while (url) {
      const response = await get(url);
      const items = (await response.json()) as unknown;
      if (!Array.isArray(items)) throw new GitlabApiError(`GitLab answered ${path} with something other than a list`, response.status);
      const total = Number(response.headers.get("x-total"));
      yield { items: items as T[], total: Number.isFinite(total) && response.headers.has("x-total") ? total : null };
      url = nextLink(response.headers.get("link"));
    }
  }

  return { paginate, stats };
}
