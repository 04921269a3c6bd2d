/**
 * Brute force against the admin API and the dashboard login: after 10 wrong
 * tokens a minute from one client, 429 with Retry-After, for both; the right
 * token from another client still works.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { IncomingMessage } from "node:http";
import { clientOf, createFailureLimiter } from "../src/http/rate-limit.js";
import { ADMIN_TOKEN, startTestServer, type TestServer } from "./helpers.js";

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => server.close());

describe("failed-authentication limit", () => {
  test("the limiter: 10 failures per window, then a wait until the oldest leaves it", () => {
    let t = 0;
    const limiter = createFailureLimiter({ now: () => t });
    for (let i = 0; i < 10; i++) {
      expect(limiter.retryAfter("a")).toBeNull();
      limiter.fail("a");
      t += 1000;
    }
    expect(limiter.retryAfter("a")).toBe(50);
    expect(limiter.retryAfter("b")).toBeNull();
    t = 60_001;
    expect(limiter.retryAfter("a")).toBeNull();
  });

  test("the table is bounded: past maxClients the stalest client is forgotten", () => {
    const limiter = createFailureLimiter({ maxClients: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(100);
    for (let i = 0; i < 10; i++) limiter.fail("198.51.100.7");
    expect(limiter.retryAfter("198.51.100.7")).toBe(60);
    expect(limiter.size).toBe(100);
  });

  test("an IPv6 client is counted by its /64; IPv4 (mapped or not) by its address", () => {
    const at = (remoteAddress: string) => clientOf({ socket: { remoteAddress } } as unknown as IncomingMessage);
    expect(at("2001:db8:1:2::1")).toBe(at("2001:0db8:0001:0002:ffff:eeee:dddd:cccc"));
    expect(at("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(at("2001:db8:1:3::1")).not.toBe(at("2001:db8:1:2::1"));
    expect(at("::1")).toBe("0:0:0:0::/64");
    expect(at("::ffff:127.0.0.1")).toBe("::ffff:127.0.0.1");
    expect(at("203.0.113.9")).toBe("203.0.113.9");
  });

  test("admin API: wrong tokens get 401 ten times, then 429 with Retry-After, even for the right token", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await fetch(`${server.url}/api/pr-outcomes`, { headers: { authorization: `Bearer wrong-token-${i}-xxxxxxxx` } });
      statuses.push(response.status);
      if (response.status === 429) expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      await response.arrayBuffer();
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    const right = await fetch(`${server.url}/api/pr-outcomes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(right.status).toBe(429);
  });

  test("dashboard login shares the count with the API", async () => {
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${server.url}/api/pr-outcomes`, { headers: { authorization: "Bearer nope-nope-nope-nope" } });
      await response.arrayBuffer();
    }
    const login = await fetch(`${server.url}/fixloop/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${ADMIN_TOKEN}`, redirect: "manual" });
    expect(login.status).toBe(429);
    expect(login.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  test("/mcp counts against the same allowance", async () => {
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${server.url}/mcp`, { method: "POST", headers: { authorization: "Bearer nope-nope-nope-nope", "content-type": "application/json" }, body: "{}" });
      expect(response.status).toBe(401);
      await response.arrayBuffer();
    }
    const api = await fetch(`${server.url}/api/pr-outcomes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(429);
    await api.arrayBuffer();
  });

  test("wrong dashboard logins count too: the 11th is 429 without reading the token", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const login = await fetch(`${server.url}/fixloop/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "token=guess-guess-guess-guess", redirect: "manual" });
      statuses.push(login.status);
      await login.arrayBuffer();
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
  });

  test("/healthz detail is a token check too: wrong tokens count, and a held-back client gets the public verdict even with the right one", async () => {
    for (let i = 0; i < 10; i++) {
      const probe = await fetch(`${server.url}/healthz`, { headers: { authorization: `Bearer guess-${i}-guess-guess-guess` } });
      expect(await probe.json()).toEqual({ ok: true });
    }
    const right = await fetch(`${server.url}/healthz`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ ok: true });
    const api = await fetch(`${server.url}/api/pr-outcomes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(429);
    await api.arrayBuffer();
  });

  test("the right token is never counted", async () => {
    for (let i = 0; i < 15; i++) {
      const response = await fetch(`${server.url}/api/pr-outcomes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
  });
});
