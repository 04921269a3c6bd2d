import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createdQuery, splitCreatedWindow, utcDay } from "../src/backfill/windows.js";
import { apiBaseUrlFromEnv, credentialsFromEnv, CredentialsError, readPrivateKey } from "../src/github/auth.js";
import { installConditionalRequestCache } from "../src/github/conditional-cache.js";
import { countCachedResponses, readCachedResponse } from "../src/store/http-cache.js";
import { createTempStore, testPrivateKey, type TempStore } from "./helpers.js";
import { splitRepo } from "../src/github/repo.js";

describe("run date windows", () => {
  it("spells GitHub's created filter", () => {
    expect(createdQuery({ from: "2024-05-25", to: null })).toBe(">=2024-05-25");
    expect(createdQuery({ from: "2024-05-25", to: "2024-05-28" })).toBe("2024-05-25..2024-05-28");
    expect(createdQuery({ from: "2024-05-25", to: "2024-05-25" })).toBe("2024-05-25");
  });

  it("halves a window into two that cover the same days, keeping the newest open-ended", () => {
    expect(splitCreatedWindow({ from: "2024-05-25", to: null }, "2024-06-01")).toEqual([
      { from: "2024-05-25", to: "2024-05-28" },
      { from: "2024-05-29", to: null },
    ]);
    expect(splitCreatedWindow({ from: "2024-05-29", to: "2024-05-30" }, "2024-06-01")).toEqual([
      { from: "2024-05-29", to: "2024-05-29" },
      { from: "2024-05-30", to: "2024-05-30" },
    ]);
    // Across a month end.
    expect(splitCreatedWindow({ from: "2024-02-27", to: "2024-03-02" }, "2024-06-01")).toEqual([
      { from: "2024-02-27", to: "2024-02-29" },
      { from: "2024-03-01", to: "2024-03-02" },
    ]);
  });

  it("cannot split a single day", () => {
    expect(splitCreatedWindow({ from: "2024-05-30", to: "2024-05-30" }, "2024-06-01")).toBeNull();
    expect(splitCreatedWindow({ from: "2024-06-01", to: null }, "2024-06-01")).toBeNull();
  });

  it("takes the UTC day of an instant", () => {
    expect(utcDay("2024-05-24T23:30:00-02:00")).toBe("2024-05-25");
  });
});

describe("GitHub credentials from the environment", () => {
  const key = () => testPrivateKey();

  it("prefers the app's installation when APP_ID and a key are set, GITHUB_TOKEN otherwise", () => {
    expect(credentialsFromEnv({ APP_ID: "912345", PRIVATE_KEY: key(), GITHUB_TOKEN: "t" })).toEqual({ kind: "app", appId: 912345, privateKey: key().trim() });
    expect(credentialsFromEnv({ APP_ID: "912345", PRIVATE_KEY: key(), GITHUB_TOKEN: "t" }, "token")).toEqual({ kind: "token", token: "t" });
    expect(credentialsFromEnv({ GITHUB_TOKEN: " t " })).toEqual({ kind: "token", token: "t" });
    // APP_ID without a key still works with a token beside it.
    expect(credentialsFromEnv({ APP_ID: "912345", GITHUB_TOKEN: "t" })).toEqual({ kind: "token", token: "t" });
  });

  it("refuses what cannot work, without echoing secrets", () => {
    expect(() => credentialsFromEnv({})).toThrow(CredentialsError);
    expect(() => credentialsFromEnv({ APP_ID: "912345" })).toThrow("neither PRIVATE_KEY nor PRIVATE_KEY_PATH");
    expect(() => credentialsFromEnv({ GITHUB_TOKEN: "t" }, "app")).toThrow("--auth app needs APP_ID");
    expect(() => credentialsFromEnv({ APP_ID: "fixloop", PRIVATE_KEY: key() })).toThrow('APP_ID must be a number, not "fixloop"');
    const bogus = "not-a-key-but-a-secret-value";
    expect(() => credentialsFromEnv({ APP_ID: "1", PRIVATE_KEY: bogus })).toThrow(/not a PEM private key/);
    try {
      credentialsFromEnv({ APP_ID: "1", PRIVATE_KEY: bogus });
    } catch (error) {
      expect((error as Error).message).not.toContain(bogus);
    }
  });

  it("reads the key as .env files and CI secrets hold it: escaped newlines, base64, or a file", () => {
    const pem = key();
    expect(readPrivateKey({ PRIVATE_KEY: pem.replace(/\n/g, "\\n") })).toBe(pem.trim());
    expect(readPrivateKey({ PRIVATE_KEY: Buffer.from(pem).toString("base64") })).toBe(pem.trim());
    const dir = mkdtempSync(join(tmpdir(), "fixloop-key-"));
    try {
      writeFileSync(join(dir, "app.pem"), pem);
      expect(readPrivateKey({ PRIVATE_KEY_PATH: "app.pem" }, dir)).toBe(pem.trim());
      // As Probot does: without either variable, the one *.pem file of the working directory.
      expect(readPrivateKey({}, dir)).toBe(pem.trim());
      expect(() => readPrivateKey({ PRIVATE_KEY_PATH: "missing.pem" }, dir)).toThrow(CredentialsError);
      expect(() => readPrivateKey({ PRIVATE_KEY_PATH: "missing.pem" }, dir)).toThrow(/does not exist.*missing.pem/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const empty = mkdtempSync(join(tmpdir(), "fixloop-nokey-"));
    expect(readPrivateKey({}, empty)).toBeNull();
    rmSync(empty, { recursive: true, force: true });
  });

  it("finds the API root for GitHub Enterprise Server", () => {
    expect(apiBaseUrlFromEnv({})).toBeUndefined();
    expect(apiBaseUrlFromEnv({ GITHUB_API_URL: "https://ghe.example.com/api/v3/" })).toBe("https://ghe.example.com/api/v3");
    expect(apiBaseUrlFromEnv({ GITHUB_API_URL: "https://a.example/api/v3" }, "https://b.example/api/v3")).toBe("https://b.example/api/v3");
    expect(apiBaseUrlFromEnv({ GHE_HOST: "ghe.example.com" })).toBe("https://ghe.example.com/api/v3");
    expect(apiBaseUrlFromEnv({ GHE_HOST: "ghe.local", GHE_PROTOCOL: "http" })).toBe("http://ghe.local/api/v3");
  });

  it("reads owner/repo", () => {
    expect(splitRepo("acme/widgets.js")).toEqual({ owner: "acme", repo: "widgets.js" });
    expect(() => splitRepo("acme")).toThrow("owner/repo");
    expect(() => splitRepo("acme/widgets/extra")).toThrow("owner/repo");
  });
});

describe("conditional-request cache", () => {
  const API = "https://api.github.com";
  let store: TempStore;
  beforeEach(async () => {
    store = await createTempStore();
  });
  afterEach(() => store.dispose());

  const plainOctokit = () => new ProbotOctokit({ auth: { token: "t" }, throttle: { enabled: false }, retry: { enabled: false } });

  it("caches GETs only, never app or token routes, and installs once", async () => {
    const octokit = plainOctokit();
    const stats = installConditionalRequestCache(octokit, store.db);
    expect(installConditionalRequestCache(octokit, store.db)).toBe(stats);
    nock(API)
      .get("/repos/acme/widgets")
      .reply(200, { full_name: "acme/widgets" }, { etag: '"r"' })
      .post("/repos/acme/widgets/issues")
      .reply(201, { number: 1 }, { etag: '"i"' })
      .get("/app/installations/51234567")
      .reply(200, { id: 51234567 }, { etag: '"a"' });
    await octokit.request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "widgets" });
    await octokit.request("POST /repos/{owner}/{repo}/issues", { owner: "acme", repo: "widgets", title: "x" });
    await octokit.request("GET /app/installations/{installation_id}", { installation_id: 51234567 });
    expect(nock.isDone()).toBe(true);
    // Installed twice, counted once per request.
    expect(stats).toMatchObject({ requests: 3, cacheWrites: 1, notModified: 0 });
    expect(await countCachedResponses(store.db)).toBe(1);
    expect(await readCachedResponse(store.db, `GET ${API}/repos/acme/widgets`)).toMatchObject({
      etag: '"r"',
      body: { data: { full_name: "acme/widgets" }, headers: {} },
    });
  });

  it("falls back to If-Modified-Since when GitHub sent only Last-Modified", async () => {
    const octokit = plainOctokit();
    const stats = installConditionalRequestCache(octokit, store.db);
    const lastModified = "Thu, 30 May 2024 17:25:51 GMT";
    nock(API, { badheaders: ["if-modified-since"] })
      .get("/repos/acme/widgets/pulls/56")
      .reply(200, { number: 56 }, { "last-modified": lastModified });
    await octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", { owner: "acme", repo: "widgets", pull_number: 56 });
    nock(API).get("/repos/acme/widgets/pulls/56").matchHeader("if-modified-since", lastModified).reply(304);
    const again = await octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", { owner: "acme", repo: "widgets", pull_number: 56 });
    expect(nock.isDone()).toBe(true);
    expect(again.status).toBe(200);
    expect(again.data).toEqual({ number: 56 });
    expect(stats.notModified).toBe(1);
  });

  it("leaves a caller's own conditional request alone: its 304 reaches the caller", async () => {
    const octokit = plainOctokit();
    installConditionalRequestCache(octokit, store.db);
    nock(API).get("/repos/acme/widgets").matchHeader("if-none-match", '"mine"').reply(304);
    await expect(
      octokit.request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "widgets", headers: { "if-none-match": '"mine"' } }),
    ).rejects.toMatchObject({ status: 304 });
    expect(nock.isDone()).toBe(true);
    expect(await countCachedResponses(store.db)).toBe(0);
  });
});
