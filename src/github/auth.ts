/**
 * A GitHub client for one repository, outside any webhook: as the app's
 * installation on that repository (APP_ID + private key), or with a plain
 * token (GITHUB_TOKEN). Both are Probot's Octokit, so pagination, retries and
 * rate-limit throttling come with it. Credentials live in memory only.
 */
import { getPrivateKey } from "@probot/get-private-key";
import { ProbotOctokit } from "probot";
import { splitRepo } from "./repo.js";

export type GitHubCredentials =
  | { kind: "token"; token: string }
  | { kind: "app"; appId: number; privateKey: string };

/** What the logs and summaries may say about the identity used: never the secret itself. */
export type GitHubIdentity = { kind: "token" } | { kind: "installation"; appId: number; installationId: number };

export interface GitHubLog {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export class CredentialsError extends Error {
  override name = "CredentialsError";
}

/**
 * The app's private key read the way Probot reads it (@probot/get-private-key):
 * PRIVATE_KEY as the PEM, the PEM with literal "\n" or the PEM in base64;
 * PRIVATE_KEY_PATH names a file; else the one *.pem file in `cwd`. Null when
 * there is none. The library's errors never quote the key; they become
 * CredentialsErrors.
 */
export function readPrivateKey(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): string | null {
  try {
    return getPrivateKey({ env, cwd })?.trim() ?? null;
  } catch (error) {
    if (env.PRIVATE_KEY) throw new CredentialsError("PRIVATE_KEY is not a PEM private key (nor base64 of one)");
    throw new CredentialsError((error as Error).message.replace(/^\[@probot\/get-private-key\] /, ""));
  }
}

/**
 * The app's own credentials win over GITHUB_TOKEN when both are present: the
 * installation sees exactly what the running app sees. `prefer` overrides.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv, prefer?: "app" | "token"): GitHubCredentials {
  const appId = env.APP_ID?.trim();
  const token = env.GITHUB_TOKEN?.trim() || env.GH_TOKEN?.trim();
  const wantApp = prefer !== "token" && Boolean(appId);
  if (wantApp && appId) {
    const privateKey = readPrivateKey(env);
    if (!privateKey) {
      if (prefer === "app" || !token) throw new CredentialsError("APP_ID is set but neither PRIVATE_KEY nor PRIVATE_KEY_PATH is");
    } else {
      const id = Number(appId);
      if (!Number.isInteger(id) || id <= 0) throw new CredentialsError(`APP_ID must be a number, not "${appId}"`);
      return { kind: "app", appId: id, privateKey };
    }
  }
  if (prefer === "app") throw new CredentialsError("--auth app needs APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH)");
  if (token) return { kind: "token", token };
  throw new CredentialsError("No GitHub credentials: set APP_ID with PRIVATE_KEY or PRIVATE_KEY_PATH (installation auth), or GITHUB_TOKEN");
}

/** `--base-url`, then GITHUB_API_URL, then GHE_HOST (Probot's variable); undefined means api.github.com. */
export function apiBaseUrlFromEnv(env: NodeJS.ProcessEnv, override?: string): string | undefined {
  const explicit = override?.trim() || env.GITHUB_API_URL?.trim();
  if (explicit) return explicit.replace(/\/+$/, "");
  const gheHost = env.GHE_HOST?.trim();
  if (gheHost) return `${env.GHE_PROTOCOL?.trim() || "https"}://${gheHost}/api/v3`;
  return undefined;
}

/** A wait longer than this for the primary limit is not worth holding a terminal for: re-run later, the cache makes it cheap. */
export const MAX_PRIMARY_RATE_LIMIT_WAIT_S = 15 * 60;

interface LimitedRequest {
  method: string;
  url: string;
}

/**
 * Throttle handlers for long reads: retry a rate-limited request up to
 * `maxRetries` times, saying so, then give up with the error GitHub sent.
 */
export function readThrottleOptions(log: GitHubLog, maxRetries = 2) {
  return {
    onRateLimit: (retryAfter: number, options: LimitedRequest, _octokit: unknown, retryCount: number) => {
      if (retryCount < maxRetries && retryAfter <= MAX_PRIMARY_RATE_LIMIT_WAIT_S) {
        log.warn(`Rate limit exhausted on ${options.method} ${options.url}: waiting ${retryAfter}s for the reset`);
        return true;
      }
      log.error(`Rate limit exhausted on ${options.method} ${options.url}: the reset is ${retryAfter}s away; giving up`);
      return false;
    },
    onSecondaryRateLimit: (retryAfter: number, options: LimitedRequest, _octokit: unknown, retryCount: number) => {
      if (retryCount < maxRetries) {
        log.warn(`Secondary rate limit on ${options.method} ${options.url}: retrying in ${retryAfter}s`);
        return true;
      }
      log.error(`Secondary rate limit on ${options.method} ${options.url} after ${retryCount} retries; giving up`);
      return false;
    },
  };
}

export interface RepoOctokitOptions {
  credentials: GitHubCredentials;
  /** owner/repo: the installation is looked up for it. */
  repo: string;
  baseUrl?: string | undefined;
  log: GitHubLog;
  /** Extra Octokit options (throttle, retry, request) merged over the defaults; tests shorten waits here. */
  octokitOptions?: Record<string, unknown>;
}

export interface RepoOctokit {
  octokit: ProbotOctokit;
  identity: GitHubIdentity;
}

function octokitLog(log: GitHubLog) {
  // Octokit plugins log pino-style (fields object first, message second); keep the message only.
  const line = (write: (message: string) => void) => (...args: unknown[]) => {
    const message = args.find((a): a is string => typeof a === "string");
    if (message !== undefined) write(message);
  };
  return { debug: line((m) => log.debug(m)), info: line((m) => log.info(m)), warn: line((m) => log.warn(m)), error: line((m) => log.error(m)) };
}

export async function createRepoOctokit(options: RepoOctokitOptions): Promise<RepoOctokit> {
  const { owner, repo } = splitRepo(options.repo);
  const extra = options.octokitOptions ?? {};
  const common = {
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    log: octokitLog(options.log),
    userAgent: "fixloop",
    ...extra,
    throttle: { ...readThrottleOptions(options.log), ...(extra.throttle as object | undefined) },
  };
  const { credentials } = options;
  if (credentials.kind === "token") {
    return { octokit: new ProbotOctokit({ ...common, auth: { token: credentials.token } }), identity: { kind: "token" } };
  }
  const appOctokit = new ProbotOctokit({ ...common, auth: { appId: credentials.appId, privateKey: credentials.privateKey } });
  let installationId: number;
  try {
    const { data } = await appOctokit.request("GET /repos/{owner}/{repo}/installation", { owner, repo });
    installationId = data.id;
  } catch (error) {
    if ((error as { status?: number }).status === 404) {
      throw new CredentialsError(`GitHub App ${credentials.appId} is not installed on ${owner}/${repo}`);
    }
    throw error;
  }
  // The installation id in the auth options makes every request carry an installation token, renewed before it expires.
  const octokit = new ProbotOctokit({
    ...common,
    auth: { appId: credentials.appId, privateKey: credentials.privateKey, installationId },
  });
  return { octokit, identity: { kind: "installation", appId: credentials.appId, installationId } };
}
