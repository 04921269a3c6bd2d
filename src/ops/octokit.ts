/**
 * The GitHub client class the server runs with: Probot's Octokit, except that
 * an address that cannot be reached fails at once (ServiceUnreachableError,
 * recorded for /readyz and the dashboard) instead of going through Octokit's
 * retry plugin, which would spend 1 + 4 + 9 s on every request of a job; and
 * every request is cut short when the process shuts down.
 *
 * Server errors (5xx, 408) are still retried, the same 3 times with the
 * plugin's quadratic spacing; rate limits stay with Probot's throttling.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ProbotOctokit } from "probot";
import { reachability, ServiceUnreachableError, unreachableCause, type Reachability } from "./network.js";

export interface NetworkAwareOptions {
  /** Retries of a request GitHub answered with 5xx or 408 (default 3). */
  retries?: number;
  /** The n-th retry waits n² × this (default 1 s, like @octokit/plugin-retry). */
  retryBaseMs?: number;
  /** Aborts every request in flight (shutdown). */
  signal?: AbortSignal;
  record?: Reachability;
}

type RequestOptions = { request?: { signal?: AbortSignal } & Record<string, unknown> } & Record<string, unknown>;

function retryable(error: unknown): boolean {
  const { status, response } = error as { status?: number; response?: unknown };
  return response !== undefined && typeof status === "number" && (status >= 500 || status === 408);
}

export function networkAwareOctokit(Base: typeof ProbotOctokit = ProbotOctokit, options: NetworkAwareOptions = {}): typeof ProbotOctokit {
  const retries = options.retries ?? 3;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const record = options.record ?? reachability;
  const plugin = (octokit: { hook: { wrap(name: "request", hook: (request: (o: RequestOptions) => Promise<unknown>, o: RequestOptions) => Promise<unknown>): void } }) => {
    octokit.hook.wrap("request", async (request, requestOptions) => {
      const signals = [requestOptions.request?.signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
      const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
      // before-after-hook binds every inner hook to these very options: change them in place, not by copy.
      if (signal) requestOptions.request = Object.assign(requestOptions.request ?? {}, { signal });
      for (let attempt = 0; ; attempt++) {
        try {
          const response = await request(requestOptions);
          record.succeeded("GitHub");
          return response;
        } catch (error) {
          const cause = unreachableCause(error);
          if (cause) {
            record.failed("GitHub", cause);
            throw new ServiceUnreachableError("GitHub", cause, { cause: error });
          }
          if (attempt >= retries || !retryable(error) || signal?.aborted) throw error;
          await sleep((attempt + 1) ** 2 * retryBaseMs, undefined, signal ? { signal } : {});
        }
      }
    });
  };
  // Probot applies its own options after the class defaults; a defaults function has the last word.
  return (Base.plugin(plugin as never) as typeof ProbotOctokit).defaults((instanceOptions: Record<string, any>) => ({
    ...instanceOptions,
    retry: { ...instanceOptions.retry, enabled: false },
  })) as typeof ProbotOctokit;
}
