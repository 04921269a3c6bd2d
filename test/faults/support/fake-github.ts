/**
 * A small GitHub REST stand-in on a real loopback port, for fault tests that
 * nock cannot serve (a child process) or that need GitHub to keep state
 * between two workers (a branch or PR created by a process that then died).
 *
 * It serves exactly what one fix job asks of GitHub (installation token,
 * config, jobs, logs via a 302 to a blob URL, base-branch runs, trees (recursive too), compare, PR files, blobs,
 * then blobs/trees/commits/refs/pulls/labels writes and the reads a resumed
 * publish makes), keeps one in-memory repository, and records every request.
 * Anything else is answered 404 and counted as unexpected.
 *
 * `holdNext(match)` arms a hold: the next matching request takes effect (the
 * ref or PR exists afterwards, as when GitHub did the work) but its answer is
 * withheld until `release()` or until the client goes away: the moment a
 * worker is killed mid-request.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RepoFile {
  /** Text, or bytes for a binary file. For a symlink: the link target. */
  content: string | Buffer;
  mode?: "100644" | "100755" | "120000";
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, percent-decoding left as sent. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** Answer status; null while held or when the client went away first. */
  status: number | null;
}

export interface FakePull {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
  state: "open" | "closed";
  labels: string[];
  headSha: string;
}

export interface FakeGitHubOptions {
  owner?: string;
  repo?: string;
  /** The tree every commit of the repository has (the failing commit included). */
  files: Record<string, RepoFile>;
  /** `.github/fixloop.yml`; null answers 404 (defaults apply). */
  config: string | null;
  /** The failed job's log text. */
  jobLog: string;
  /** First PR number handed out. */
  firstPullNumber?: number;
  /** What `GET /commits/{sha}/pulls` answers: PRs with the repository their head lives in. Default none. */
  associatedPulls?: { number: number; state: "open" | "closed"; headRepo: string | null }[];
  /** Check runs of other CI apps' suites (`GET /check-suites/{id}/check-runs`), with their annotations. */
  checkRuns?: { id: number; name: string; conclusion: string; summary: string; annotations: { path: string; line: number; message: string }[] }[];
}

export interface HeldRequest {
  request: RecordedRequest;
  /** Sends the withheld answer (if the client is still there). */
  release(): void;
}

export interface FakeGitHub {
  url: string;
  requests: RecordedRequest[];
  /** Requests no route knew. */
  unexpected: RecordedRequest[];
  refs: Map<string, string>;
  pulls: FakePull[];
  /** Resolves with the next request `match` accepts, once its effect is done and its answer held back. */
  holdNext(match: (request: RecordedRequest) => boolean): Promise<HeldRequest>;
  /** "METHOD path" of every request that writes (POST/PATCH/PUT/DELETE), token exchanges left out. */
  writes(): string[];
  count(method: string, pathPattern: RegExp): number;
  close(): Promise<void>;
}

/** Git's own blob id, so SHAs look and behave like GitHub's. */
export function gitBlobSha(content: string | Buffer): string {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

function objectSha(kind: string, value: unknown): string {
  return createHash("sha1").update(`${kind}\0${JSON.stringify(value)}`).digest("hex");
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json; charset=utf-8", ...headers });
  res.end(text);
}

/** A job id per run, so several runs can share one fake. */
export function jobIdOfRun(runId: string | number): number {
  return (Number(runId) % 100_000_000) + 25_000_000;
}

export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const owner = options.owner ?? "acme";
  const repoName = options.repo ?? "widgets";
  const repoPrefix = `/repos/${owner}/${repoName}`;
  const requests: RecordedRequest[] = [];
  const unexpected: RecordedRequest[] = [];
  const refs = new Map<string, string>();
  const pulls: FakePull[] = [];
  const blobs = new Map<string, Buffer>();
  const commits = new Map<string, { tree: string; parents: string[] }>();
  const holds: { match: (request: RecordedRequest) => boolean; resolve: (held: HeldRequest) => void }[] = [];
  const heldResponses = new Set<ServerResponse>();
  let nextPull = options.firstPullNumber ?? 77;

  for (const file of Object.values(options.files)) {
    const bytes = typeof file.content === "string" ? Buffer.from(file.content, "utf8") : file.content;
    blobs.set(gitBlobSha(bytes), bytes);
  }

  /** Entries of one directory of the repository tree. */
  function listDirectory(dir: string) {
    const prefix = dir === "" ? "" : `${dir}/`;
    const entries = new Map<string, { path: string; mode: string; type: string; sha: string; size?: number }>();
    for (const [path, file] of Object.entries(options.files)) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash >= 0) {
        const name = rest.slice(0, slash);
        entries.set(name, { path: name, mode: "040000", type: "tree", sha: objectSha("tree", `${prefix}${name}`) });
        continue;
      }
      const bytes = typeof file.content === "string" ? Buffer.from(file.content, "utf8") : file.content;
      entries.set(rest, { path: rest, mode: file.mode ?? "100644", type: "blob", sha: gitBlobSha(bytes), size: bytes.length });
    }
    return [...entries.values()];
  }

  /** The whole tree in one listing, as `git/trees/<sha>?recursive=1` answers: directories and files by full path. */
  function listRecursively() {
    const entries = new Map<string, { path: string; mode: string; type: string; sha: string; size?: number }>();
    for (const path of Object.keys(options.files)) {
      const parts = path.split("/");
      for (let i = 1; i < parts.length; i += 1) {
        const dir = parts.slice(0, i).join("/");
        entries.set(dir, { path: dir, mode: "040000", type: "tree", sha: objectSha("tree", dir) });
      }
      const dir = parts.slice(0, -1).join("/");
      const entry = listDirectory(dir).find((e) => e.path === parts[parts.length - 1]);
      if (entry) entries.set(path, { ...entry, path });
    }
    return [...entries.values()];
  }

  function pullJson(pull: FakePull, base: string) {
    return {
      number: pull.number,
      html_url: `https://github.com/${owner}/${repoName}/pull/${pull.number}`,
      node_id: `PR_fake${pull.number}`,
      state: pull.state,
      draft: pull.draft,
      merged_at: null,
      title: pull.title,
      head: { ref: pull.head, sha: pull.headSha },
      base: { ref: pull.base },
      labels: pull.labels.map((name) => ({ name })),
      url: `${base}${repoPrefix}/pulls/${pull.number}`,
    };
  }

  /** Returns [status, body, headers] for a request, applying its effect; undefined when no route knows it. */
  function route(method: string, path: string, query: URLSearchParams, body: any, base: string): [number, unknown, Record<string, string>?] | undefined {
    let m: RegExpExecArray | null;
    if (method === "POST" && (m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path))) {
      return [201, { token: `ghs_fake-token-${m[1]}`, expires_at: "2099-01-01T00:00:00Z", permissions: {}, repository_selection: "all" }];
    }
    if (method === "GET" && (m = /^\/blobs\/logs\/(\d+)$/.exec(path))) return [200, options.jobLog];
    if (!path.startsWith(`${repoPrefix}/`)) return undefined;
    const rest = path.slice(repoPrefix.length);

    if (method === "GET" && (m = /^\/contents\/(.+)$/.exec(rest))) {
      const file = decodeURIComponent(m[1]);
      if (file === ".github/fixloop.yml" && options.config !== null) return [200, options.config];
      return [404, { message: "Not Found" }];
    }
    if (method === "GET" && (m = /^\/actions\/runs\/(\d+)\/attempts\/(\d+)\/jobs$/.exec(rest))) {
      const [, runId, attempt] = m;
      const jobId = jobIdOfRun(runId);
      return [
        200,
        {
          total_count: 1,
          jobs: [
            {
              id: jobId,
              run_id: Number(runId),
              run_attempt: Number(attempt),
              name: "test",
              status: "completed",
              conclusion: "failure",
              html_url: `https://github.com/${owner}/${repoName}/actions/runs/${runId}/job/${jobId}`,
              started_at: "2024-05-02T12:00:10Z",
              completed_at: "2024-05-02T12:04:30Z",
              runner_name: "GitHub Actions 7",
              steps: [
                { name: "Set up job", number: 1, status: "completed", conclusion: "success" },
                { name: "Run npm ci", number: 3, status: "completed", conclusion: "success" },
                { name: "Run npm test", number: 4, status: "completed", conclusion: "failure" },
              ],
            },
          ],
        },
      ];
    }
    if (method === "GET" && (m = /^\/actions\/jobs\/(\d+)\/logs$/.exec(rest))) {
      return [302, "", { location: `${base}/blobs/logs/${m[1]}?sig=signed` }];
    }
    if (method === "GET" && /^\/actions\/workflows\/[^/]+\/runs$/.test(rest)) {
      const branch = query.get("branch") ?? "main";
      return [
        200,
        {
          total_count: 1,
          workflow_runs: [
            {
              id: 9_120_300_000,
              head_sha: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
              head_branch: branch,
              event: "push",
              conclusion: "success",
              run_attempt: 1,
              html_url: `https://github.com/${owner}/${repoName}/actions/runs/9120300000`,
              created_at: "2024-05-02T09:00:00Z",
              updated_at: "2024-05-02T09:04:00Z",
            },
          ],
        },
      ];
    }
    // The green run's jobs, read for the failure context's baseline: none of the same name, so no baseline.
    if (method === "GET" && rest === "/actions/runs/9120300000/jobs") return [200, { total_count: 0, jobs: [] }];
    if (method === "POST" && /^\/actions\/runs\/\d+\/rerun-failed-jobs$/.test(rest)) return [201, {}];
    if (method === "GET" && /^\/commits\/[^/]+\/pulls$/.test(rest)) {
      return [
        200,
        (options.associatedPulls ?? []).map((p) => ({
          number: p.number,
          state: p.state,
          head: { ref: "patch-1", sha: "0".repeat(40), repo: p.headRepo === null ? null : { full_name: p.headRepo } },
          base: { ref: "main", repo: { full_name: `${owner}/${repoName}` } },
        })),
      ];
    }
    if (method === "GET" && /^\/check-suites\/\d+\/check-runs$/.test(rest)) {
      const runs = options.checkRuns ?? [];
      return [
        200,
        {
          total_count: runs.length,
          check_runs: runs.map((r) => ({
            id: r.id,
            name: r.name,
            status: "completed",
            conclusion: r.conclusion,
            html_url: `https://ci.example.com/runs/${r.id}`,
            details_url: `https://ci.example.com/runs/${r.id}`,
            started_at: "2024-05-02T12:00:00Z",
            completed_at: "2024-05-02T12:04:00Z",
            output: { title: r.name, summary: r.summary, text: null, annotations_count: r.annotations.length },
            app: { slug: "circleci-checks", name: "CircleCI Checks" },
          })),
        },
      ];
    }
    if (method === "GET" && (m = /^\/check-runs\/(\d+)\/annotations$/.exec(rest))) {
      const run = (options.checkRuns ?? []).find((r) => r.id === Number(m![1]));
      return [200, (run?.annotations ?? []).map((a) => ({ path: a.path, start_line: a.line, end_line: a.line, annotation_level: "failure", message: a.message, title: null, raw_details: null }))];
    }
    if (method === "GET" && (m = /^\/commits\/([^/]+)$/.exec(rest))) {
      return [200, { sha: m[1], files: Object.keys(options.files).slice(0, 3).map((filename) => ({ filename, status: "modified" })) }];
    }
    if (method === "GET" && (m = /^\/git\/trees\/(.+)$/.exec(rest))) {
      const treeish = m[1].split("/").map(decodeURIComponent).join("/");
      const colon = treeish.indexOf(":");
      const dir = colon >= 0 ? treeish.slice(colon + 1) : "";
      const isFile = Object.hasOwn(options.files, dir);
      if (isFile) return [422, { message: "Invalid tree: not a tree" }];
      if (dir === "" && query.get("recursive") === "1") return [200, { sha: objectSha("tree", "/"), truncated: false, tree: listRecursively() }];
      const tree = listDirectory(dir);
      if (dir !== "" && tree.length === 0) return [404, { message: "Not Found" }];
      return [200, { sha: objectSha("tree", dir), truncated: false, tree }];
    }
    // Localisation: what changed since the last green run, and a PR's files (the fixture's first files).
    if (method === "GET" && /^\/compare\/[^/]+$/.test(rest)) {
      return [200, { status: "ahead", files: Object.keys(options.files).slice(0, 3).map((filename) => ({ filename, status: "modified" })) }];
    }
    if (method === "GET" && /^\/pulls\/\d+\/files$/.test(rest)) {
      return [200, Object.keys(options.files).slice(0, 3).map((filename) => ({ filename, status: "modified" }))];
    }
    if (method === "GET" && (m = /^\/git\/blobs\/([0-9a-f]{40})$/.exec(rest))) {
      const bytes = blobs.get(m[1]);
      if (!bytes) return [404, { message: "Not Found" }];
      return [200, { sha: m[1], encoding: "base64", content: bytes.toString("base64"), size: bytes.length }];
    }
    if (method === "POST" && rest === "/git/blobs") {
      const bytes = Buffer.from(String(body?.content ?? ""), body?.encoding === "base64" ? "base64" : "utf8");
      const sha = gitBlobSha(bytes);
      blobs.set(sha, bytes);
      return [201, { sha, url: `${base}${repoPrefix}/git/blobs/${sha}` }];
    }
    if (method === "POST" && rest === "/git/trees") return [201, { sha: objectSha("tree", body), tree: body?.tree ?? [] }];
    if (method === "POST" && rest === "/git/commits") {
      const sha = objectSha("commit", body);
      commits.set(sha, { tree: String(body?.tree), parents: (body?.parents ?? []) as string[] });
      return [201, { sha, tree: { sha: body?.tree }, parents: ((body?.parents ?? []) as string[]).map((p) => ({ sha: p })) }];
    }
    if (method === "GET" && (m = /^\/git\/commits\/([0-9a-f]{40})$/.exec(rest))) {
      // Commits fixloop did not create are the repository's own: they all have the repository's tree.
      const commit = commits.get(m[1]) ?? { tree: objectSha("tree", ""), parents: [] };
      return [200, { sha: m[1], tree: { sha: commit.tree }, parents: commit.parents.map((p) => ({ sha: p })) }];
    }
    if (method === "POST" && rest === "/git/refs") {
      const ref = String(body?.ref ?? "");
      if (refs.has(ref)) return [422, { message: "Reference already exists" }];
      refs.set(ref, String(body?.sha));
      return [201, { ref, object: { sha: body?.sha, type: "commit" } }];
    }
    if (method === "GET" && (m = /^\/git\/ref\/(.+)$/.exec(rest))) {
      const ref = `refs/${decodeURIComponent(m[1])}`;
      const sha = refs.get(ref);
      if (!sha) return [404, { message: "Not Found" }];
      return [200, { ref, object: { sha, type: "commit" } }];
    }
    if (method === "POST" && rest === "/pulls") {
      const head = String(body?.head ?? "");
      if (pulls.some((p) => p.head === head && p.state === "open")) {
        return [422, { message: "Validation Failed", errors: [{ resource: "PullRequest", code: "custom", message: `A pull request already exists for ${owner}:${head}.` }] }];
      }
      const sha = refs.get(`refs/heads/${head}`);
      if (!sha) return [422, { message: "Validation Failed", errors: [{ resource: "PullRequest", field: "head", code: "invalid" }] }];
      const pull: FakePull = { number: nextPull++, head, base: String(body?.base), title: String(body?.title), body: String(body?.body), draft: Boolean(body?.draft), state: "open", labels: [], headSha: sha };
      pulls.push(pull);
      return [201, pullJson(pull, base)];
    }
    if (method === "GET" && rest === "/pulls") {
      const head = query.get("head");
      const wanted = pulls.filter((p) => head === null || `${owner}:${p.head}` === head);
      return [200, wanted.map((p) => pullJson(p, base))];
    }
    if ((m = /^\/pulls\/(\d+)$/.exec(rest)) && (method === "GET" || method === "PATCH")) {
      const pull = pulls.find((p) => p.number === Number(m![1]));
      if (!pull) return [404, { message: "Not Found" }];
      if (method === "PATCH" && (body?.state === "closed" || body?.state === "open")) pull.state = body.state;
      return [200, pullJson(pull, base)];
    }
    if (method === "POST" && (m = /^\/issues\/(\d+)\/labels$/.exec(rest))) {
      const pull = pulls.find((p) => p.number === Number(m![1]));
      if (!pull) return [404, { message: "Not Found" }];
      for (const label of (body?.labels ?? []) as string[]) if (!pull.labels.includes(label)) pull.labels.push(label);
      return [200, pull.labels.map((name) => ({ name }))];
    }
    if (method === "GET" && /^\/issues\/\d+\/comments$/.test(rest)) return [200, []];
    if (method === "POST" && /^\/issues\/\d+\/comments$/.test(rest)) return [201, { id: requests.length, html_url: "https://github.com/comment" }];
    return undefined;
  }

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake.github");
    // GitHub Enterprise style base URLs carry /api/v3; the routes are the same below it.
    const path = url.pathname.replace(/^\/api\/v3(?=\/)/, "");
    const recorded: RecordedRequest = { method: req.method ?? "GET", path, query: url.searchParams, body: await readJson(req), status: null };
    requests.push(recorded);
    const base = `http://${req.headers.host}`;
    const answer = route(recorded.method, path, url.searchParams, recorded.body, base);
    if (!answer) {
      unexpected.push(recorded);
      recorded.status = 404;
      return send(res, 404, { message: `fake GitHub has no route for ${recorded.method} ${path}` });
    }
    const [status, body, headers] = answer;
    const holdIndex = holds.findIndex((hold) => hold.match(recorded));
    if (holdIndex >= 0) {
      const [hold] = holds.splice(holdIndex, 1);
      heldResponses.add(res);
      const release = () => {
        if (!heldResponses.delete(res) || res.destroyed) return;
        recorded.status = status;
        send(res, status, body, headers);
      };
      res.on("close", () => heldResponses.delete(res));
      hold.resolve({ request: recorded, release });
      return;
    }
    recorded.status = status;
    send(res, status, body, headers);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    unexpected,
    refs,
    pulls,
    holdNext(match) {
      return new Promise<HeldRequest>((resolve) => holds.push({ match, resolve }));
    },
    writes() {
      return requests.filter((r) => r.method !== "GET" && !r.path.endsWith("/access_tokens")).map((r) => `${r.method} ${r.path}`);
    },
    count(method, pathPattern) {
      return requests.filter((r) => r.method === method && pathPattern.test(r.path)).length;
    },
    close() {
      for (const res of heldResponses) res.destroy();
      heldResponses.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
