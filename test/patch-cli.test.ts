import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLI_SAFETY_LIMITS, runApply, type ApplyCommandOptions } from "../src/cli/apply.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
let work: string;
let repo: string;

function options(over: Partial<ApplyCommandOptions> = {}): ApplyCommandOptions {
  return {
    dir: repo,
    maxLines: CLI_SAFETY_LIMITS.maxChangedLines,
    maxFiles: CLI_SAFETY_LIMITS.maxFiles,
    allowWorkflows: false,
    allowLockfiles: false,
    exclude: [],
    dryRun: false,
    ...over,
  };
}

/** Every file under the repo with its content, to prove a refused patch wrote nothing. */
function snapshot(): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[relative(repo, full)] = entry.isSymbolicLink() ? `-> symlink` : readFileSync(full, "utf8");
    }
  };
  walk(repo);
  return files;
}

async function apply(patch: string, over: Partial<ApplyCommandOptions> = {}): Promise<{ code: number; out: string[]; err: string[] }> {
  const patchFile = join(work, "answer.patch");
  writeFileSync(patchFile, patch);
  const out: string[] = [];
  const err: string[] = [];
  const code = await runApply(patchFile, options(over), { log: (l) => out.push(l), error: (l) => err.push(l) });
  return { code, out, err };
}

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "fixloop-apply-"));
  repo = join(work, "repo");
  mkdirSync(join(repo, "src"), { recursive: true });
  writeFileSync(join(repo, "src/a.ts"), "one\ntwo\nthree\nfour\n");
  writeFileSync(join(repo, "src/b.ts"), "alpha\r\nbeta\r\ngamma\r\n");
  writeFileSync(join(repo, "run.sh"), "#!/bin/sh\necho hi\n");
  chmodSync(join(repo, "run.sh"), 0o755);
});

afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

const EDIT_A = "--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n";
const EDIT_B = "--- a/src/b.ts\n+++ b/src/b.ts\n@@ @@\n alpha\n-beta\n+BETA\n gamma\n";

describe("fixloop apply", () => {
  it("applies a model answer to several files, creating and keeping line endings and modes", async () => {
    const create = "--- /dev/null\n+++ b/src/new/c.ts\n@@ -0,0 +1 @@\n+export const c = 1;\n";
    const script = "--- a/run.sh\n+++ b/run.sh\n@@ @@\n #!/bin/sh\n-echo hi\n+echo hello\n";
    const result = await apply(`Fix:\n\`\`\`diff\n${EDIT_A}${EDIT_B}${create}${script}\`\`\`\n`);
    expect(result.code).toBe(0);
    expect(result.out).toContain("4 file(s), 7 changed line(s) applied");
    expect(readFileSync(join(repo, "src/a.ts"), "utf8")).toBe("one\nTWO\nthree\nfour\n");
    expect(readFileSync(join(repo, "src/b.ts"), "utf8")).toBe("alpha\r\nBETA\r\ngamma\r\n");
    expect(readFileSync(join(repo, "src/new/c.ts"), "utf8")).toBe("export const c = 1;\n");
    expect(statSync(join(repo, "run.sh")).mode & 0o777).toBe(0o755);
    expect(readdirSync(join(repo, "src")).sort()).toEqual(["a.ts", "b.ts", "new"]);
  });

  it("writes nothing and names each failing hunk when one hunk fails", async () => {
    const before = snapshot();
    const badB = "--- a/src/b.ts\n+++ b/src/b.ts\n@@ @@\n alpha\n-not there\n+x\n";
    const result = await apply(EDIT_A + badB);
    expect(result.code).toBe(1);
    expect(result.err[0]).toMatch(/1 problem\(s\); nothing written/);
    expect(result.err[1]).toMatch(/src\/b\.ts: hunk 1: a line the hunk removes is not in the file: "not there"/);
    expect(snapshot()).toEqual(before);
  });

  it("refuses a file reached through a symlink, and a symlinked directory", async () => {
    const outside = join(work, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "secret.ts"), "one\ntwo\nthree\n");
    symlinkSync(join(outside, "secret.ts"), join(repo, "src/link.ts"));
    symlinkSync(outside, join(repo, "linked"));
    const before = snapshot();

    const viaFile = await apply(EDIT_A.replace(/src\/a\.ts/g, "src/link.ts"));
    expect(viaFile.code).toBe(1);
    expect(viaFile.err.join("\n")).toMatch(/src\/link\.ts is a symlink/);

    const viaDir = await apply(EDIT_A.replace(/src\/a\.ts/g, "linked/secret.ts"));
    expect(viaDir.code).toBe(1);
    expect(viaDir.err.join("\n")).toMatch(/linked is a symlink/);

    expect(snapshot()).toEqual(before);
    expect(readFileSync(join(outside, "secret.ts"), "utf8")).toBe("one\ntwo\nthree\n");
  });

  it("refuses unsafe patches before reading anything", async () => {
    const before = snapshot();
    const traversal = await apply("--- a/../outside.ts\n+++ b/../outside.ts\n@@ @@\n x\n-y\n+z\n");
    expect(traversal.code).toBe(1);
    expect(traversal.err.join("\n")).toMatch(/\[path-traversal\]/);
    const workflow = await apply("--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n@@ @@\n x\n-y\n+z\n");
    expect(workflow.err.join("\n")).toMatch(/\[workflow-file\]/);
    const tooBig = await apply(EDIT_A + EDIT_B, { maxFiles: 1 });
    expect(tooBig.err.join("\n")).toMatch(/\[max-files\]/);
    expect(snapshot()).toEqual(before);
  });

  it("refuses binary files on disk", async () => {
    writeFileSync(join(repo, "src/blob.ts"), Buffer.from([0x6f, 0x6e, 0x65, 0x0a, 0x00, 0x0a]));
    const result = await apply(EDIT_A.replace(/src\/a\.ts/g, "src/blob.ts"));
    expect(result.code).toBe(1);
    expect(result.err.join("\n")).toMatch(/binary/);
  });

  it("reports without writing on --dry-run", async () => {
    const before = snapshot();
    const result = await apply(EDIT_A, { dryRun: true });
    expect(result.code).toBe(0);
    expect(result.out).toEqual(["format: unified diff", "would update src/a.ts", "dry run: 1 file(s), 2 changed line(s), nothing written"]);
    expect(snapshot()).toEqual(before);
  });

  it("fails on input without a diff or with a garbled one", async () => {
    expect((await apply("I could not find the problem.")).code).toBe(1);
    const garbled = await apply("--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1,3 +1,3 @@\n one\nstray\n-two\n+TWO\n");
    expect(garbled.code).toBe(1);
    expect(garbled.err[0]).toMatch(/cannot read the edits: .*not a diff line/);
  });

  it("reads every edit format and says which one it recognised", async () => {
    const sr = await apply("Fix:\n\nsrc/a.ts\n```\n<<<<<<< SEARCH\ntwo\n=======\n2\n>>>>>>> REPLACE\n```\n");
    expect(sr.code).toBe(0);
    expect(sr.out[0]).toBe("format: SEARCH/REPLACE blocks");
    const v4a = await apply("*** Begin Patch\n*** Update File: src/a.ts\n@@\n 2\n-three\n+3\n*** End Patch\n");
    expect(v4a.out[0]).toBe("format: apply_patch (V4A)");
    const whole = await apply("src/a.ts\n```\none\n2\n3\nfour\nfive\n```\n");
    expect(whole.out[0]).toBe("format: whole file");
    expect(readFileSync(join(repo, "src/a.ts"), "utf8")).toBe("one\n2\n3\nfour\nfive\n");
  });

  it("finds the file of hunks without a file name among the text files under --dir, and names the candidates when it cannot", async () => {
    const headerless = await apply("@@\n one\n-two\n+TWO\n three\n");
    expect(headerless.out[0]).toBe("format: unified diff (hunks without line numbers; file found by content: src/a.ts)");
    expect(readFileSync(join(repo, "src/a.ts"), "utf8")).toBe("one\nTWO\nthree\nfour\n");
    writeFileSync(join(repo, "src/copy.ts"), "one\nTWO\nthree\nfour\n");
    const before = snapshot();
    const ambiguous = await apply("@@\n one\n-TWO\n+two\n three\n");
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.err[0]).toMatch(/ambiguous: hunks without a file name fit 2 files \(src\/a\.ts, src\/copy\.ts\)/);
    expect(snapshot()).toEqual(before);
  });

  it("runs as `fixloop apply` with the exit code telling the outcome", () => {
    const patchFile = join(work, "cli.patch");
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/index.ts"), "apply", ...args], { cwd: ROOT, encoding: "utf8" });

    writeFileSync(patchFile, EDIT_A.replace("two", "missing"));
    const refused = cli([patchFile, "--dir", repo]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/src\/a\.ts: hunk 1: .*"missing"/);
    expect(readFileSync(join(repo, "src/a.ts"), "utf8")).toBe("one\ntwo\nthree\nfour\n");

    const applied = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/index.ts"), "apply", "-", "--dir", repo], {
      cwd: ROOT,
      encoding: "utf8",
      input: EDIT_A,
    });
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toMatch(/^format: unified diff\n/);
    expect(applied.status).toBe(0);
    expect(readFileSync(join(repo, "src/a.ts"), "utf8")).toBe("one\nTWO\nthree\nfour\n");
    // Two cold starts of the CLI through tsx: seconds each on a busy machine.
  }, 120_000);
});
