/**
 * The fault suite's network fence. It runs real HTTP servers and clients on
 * loopback, so nock's interceptor (test/setup.ts) is left out: it sits in
 * every client request and trips over paths the webhook fuzz sends on
 * purpose. Instead, name resolution refuses every host but localhost, so a
 * request meant for a fake that went to api.github.com or a real gateway
 * fails at once rather than leaving the machine. (IP literals need no
 * lookup; the fakes all listen on 127.0.0.1.)
 */
import dns from "node:dns";

const LOCAL = /^(localhost|127\.\d+\.\d+\.\d+|::1)$/i;
const original = dns.lookup;

function refusingLookup(hostname: string, ...rest: unknown[]): void {
  const callback = rest[rest.length - 1] as (error: NodeJS.ErrnoException | null, ...values: unknown[]) => void;
  if (LOCAL.test(hostname)) return void (original as (...args: unknown[]) => void)(hostname, ...rest);
  const error: NodeJS.ErrnoException = new Error(`fault suite is offline: refused to resolve ${hostname}`);
  error.code = "ENOTFOUND";
  process.nextTick(() => callback(error));
}

dns.lookup = refusingLookup as typeof dns.lookup;
dns.promises.lookup = (async (hostname: string, options?: unknown) => {
  if (!LOCAL.test(hostname)) throw Object.assign(new Error(`fault suite is offline: refused to resolve ${hostname}`), { code: "ENOTFOUND" });
  return original.__promisify__(hostname, options as dns.LookupOptions);
}) as typeof dns.promises.lookup;
