/**
 * The one failure every fault test fixes: `parseWidgets("")` returns `[""]`
 * in acme/widgets (the recorded red run of fixtures/workflow_run.completed.json
 * and its log), the model's one-line fix, and the wiring around it: a Probot
 * pointed at a fake GitHub, fix deps, polling and bounded concurrency.
 */
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { Probot } from "probot";
import type { ModelClient } from "../../../src/fix/model.js";
import type { FixDeps, Octokit } from "../../../src/fix/pipeline.js";
import { createLibsqlQueue } from "../../../src/queue/index.js";
import type { Store } from "../../../src/store/db.js";
import { testPrivateKey, WEBHOOK_SECRET } from "../../helpers.js";
import type { RepoFile } from "./fake-github.js";
import { unthrottledOctokit } from "./octokit.js";

export const OWNER = "acme";
export const REPO = "widgets";
export const INSTALLATION_ID = 48213377;
export const RUN_ID = 9120304501;
export const HEAD_SHA = "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a";

export const PARSER_SOURCE = 'export function parseWidgets(input: string): string[] {\n  return input.split(",").map((s) => s.trim());\n}\n';
export const PARSER_TEST =
  'import { describe, expect, test } from "vitest";\nimport { parseWidgets } from "./parser";\n\ndescribe("parseWidgets", () => {\n  test("splits", () => {\n    expect(parseWidgets("a, b")).toEqual(["a", "b"]);\n  });\n  test("returns an empty list for empty input", () => {\n    const result = parseWidgets("");\n    expect(result).toEqual([]);\n  });\n});\n';
export const FIXED_SOURCE = PARSER_SOURCE.replace("{\n", '{\n  if (input.trim() === "") return [];\n');
export const MODEL_ANSWER = [
  "`split` on an empty string yields one empty item; return early for blank input.",
  "",
  "```diff",
  "--- a/src/parser.ts",
  "+++ b/src/parser.ts",
  "@@ -1,3 +1,4 @@",
  " export function parseWidgets(input: string): string[] {",
  '+  if (input.trim() === "") return [];',
  '   return input.split(",").map((s) => s.trim());',
  " }",
  "```",
].join("\n");

/** Watch every branch (the fixture's run is on a PR branch) and fix at once, no re-run first. */
export const REPO_CONFIG = 'rerun_first: false\nbranches: ["**"]\n';

export const JOB_LOG = readFileSync(new URL("../../../fixtures/e2e/job-log.txt", import.meta.url), "utf8");

/** The repository at the failing commit; extra files give the hostile diffs something real to aim at. */
export const REPO_FILES: Record<string, RepoFile> = {
  "src/parser.ts": { content: PARSER_SOURCE },
  "src/parser.test.ts": { content: PARSER_TEST },
  "src/format.ts": { content: "export const format = (s: string) => s.trim();\n" },
  "src/current.ts": { content: "parser.ts", mode: "120000" },
  "scripts/release.sh": { content: "#!/bin/sh\necho release\n", mode: "100755" },
  "assets/logo.png": { content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]) },
  ".github/workflows/ci.yml": { content: "name: CI\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n" },
  "package-lock.json": { content: '{\n  "name": "widgets",\n  "lockfileVersion": 3\n}\n' },
  "tests/test_parser.py": { content: "def test_split():\n    assert split('a,b') == ['a', 'b']\n" },
  "src/lib.rs": { content: "#[test]\nfn splits() {\n    assert_eq!(split(\"a,b\").len(), 2);\n}\n" },
  "tests/parse.rs": { content: "#[test]\nfn splits() {\n    assert_eq!(widgets::split(\"a,b\").len(), 2);\n}\n" },
};

const RED_RUN = JSON.parse(readFileSync(new URL("../../../fixtures/workflow_run.completed.json", import.meta.url), "utf8")) as Record<string, any>;

/** A 40-hex SHA derived from a number, distinct per number. */
export function shaOf(n: number): string {
  return n.toString(16).padStart(8, "0").repeat(5);
}

/** The recorded red workflow_run delivery, as another run (and commit) when asked. */
export function redRunPayload(options: { runId?: number; headSha?: string } = {}): Record<string, any> {
  const payload = structuredClone(RED_RUN);
  const runId = options.runId ?? RUN_ID;
  const headSha = options.headSha ?? HEAD_SHA;
  Object.assign(payload.workflow_run, { id: runId, head_sha: headSha });
  payload.workflow_run.head_commit.id = headSha;
  for (const pr of payload.workflow_run.pull_requests) pr.head.sha = headSha;
  return payload;
}

export function silentLog() {
  return pino({ level: "silent" });
}

/** A Probot that talks to `baseUrl` (a fake GitHub) as it would to GitHub Enterprise. */
export function probotFor(baseUrl: string): Probot {
  return new Probot({
    appId: 123,
    privateKey: testPrivateKey(),
    secret: WEBHOOK_SECRET,
    baseUrl,
    log: silentLog(),
    Octokit: unthrottledOctokit(),
  });
}

export function fixDeps(store: Store, probot: Probot, model: ModelClient | null, overrides: Partial<FixDeps> = {}): FixDeps {
  return {
    store,
    github: async (installationId) => (await probot.auth(installationId ?? undefined)) as Octokit,
    model,
    queue: createLibsqlQueue(store),
    log: silentLog(),
    ...overrides,
  };
}

/** Polls `check` until it returns something truthy; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Runs `work` over `items`, at most `limit` at once, results in input order (the app's own helper). */
export { mapLimited } from "../../../src/github/map-limited.js";

/** Deterministic shuffle (mulberry32), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** One line per observed figure, so the run's output is the fault report. */
export function report(fault: string, observed: string): void {
  // Figures can quote model output or fuzzed input: never let it drive the terminal.
  const printable = (text: string) => text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  console.log(`[fault] ${printable(fault)}: ${printable(observed)}`);
}
