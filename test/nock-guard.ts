/**
 * What a test leaves behind in nock: mocks it set up that the code never
 * called, and requests to a non-loopback host that no mock answered. Code
 * under test often swallows the error nock raises for the latter (the model
 * client retries "connection errors", a job records the failure), so without
 * this a test passes on a path it never meant to take. test/setup.ts fails
 * every test whose leftovers are not empty.
 */
import nock from "nock";

export const LOOPBACK = /^(127\.0\.0\.1|localhost|::1|\[::1\])(:\d+)?$/;

type RequestOptions = { method?: string; host?: string; hostname?: string; path?: string };

export interface NockGuard {
  /** The problems since the last call, as readable lines (empty when clean); clears all mocks. */
  takeLeftovers(): string[];
}

let started: NockGuard | undefined;

/** The one guard of this test process (nock's emitter is global, so two guards would both see every request). */
export function nockGuard(): NockGuard {
  return (started ??= startNockGuard());
}

function startNockGuard(): NockGuard {
  const unmatched: string[] = [];
  // nock emits (options), (request) or (request, options, body) depending on the path the request took.
  const onNoMatch = (...args: unknown[]) => {
    const options = (args.length >= 2 ? args[1] : args[0]) as RequestOptions;
    const host = options.hostname ?? options.host ?? "?";
    if (LOOPBACK.test(host)) return;
    unmatched.push(`${options.method ?? "GET"} ${host}${options.path ?? ""}`);
  };
  nock.emitter.on("no match", onNoMatch);
  return {
    takeLeftovers() {
      const pending = nock.pendingMocks();
      const stray = unmatched.splice(0);
      nock.cleanAll();
      return [
        ...(pending.length > 0 ? [`${pending.length} nock mock(s) never called:\n  ${pending.join("\n  ")}`] : []),
        ...(stray.length > 0 ? [`${stray.length} request(s) no nock mock matched:\n  ${stray.join("\n  ")}`] : []),
      ];
    },
  };
}
