/**
 * ProbotOctokit for talking to a loopback fake GitHub: no retries, no
 * throttling. Probot 14 puts its own `throttle` options over the class's
 * defaults, so `ProbotOctokit.defaults({ throttle: { enabled: false } })` is
 * silently undone and every write waits for the plugin's one-write-a-second
 * spacing. A defaults function runs after Probot's and has the last word.
 */
import { ProbotOctokit } from "probot";

export function unthrottledOctokit(): typeof ProbotOctokit {
  return ProbotOctokit.defaults((options: Record<string, any>) => ({
    ...options,
    retry: { ...options.retry, enabled: false },
    throttle: { ...options.throttle, enabled: false },
  }));
}
