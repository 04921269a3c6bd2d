import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FORBID = join(ROOT, "test/support/forbid-heavy-imports.mjs");
const dir = mkdtempSync(join(tmpdir(), "fixloop-cli-start-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the real entry point with a hook that fails on any import of Probot, the AWS SDK or the HTTP stack. */
function cli(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "--import", FORBID, join(ROOT, "src/cli/index.ts"), ...args], { cwd: ROOT, encoding: "utf8" });
}

describe("fixloop command start", () => {
  it("--help lists every command without loading any command module's heavy dependencies", () => {
    const result = cli("--help");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    for (const name of ["context", "apply", "backfill", "replay", "prs", "runs", "jobs", "attribute", "feedback", "migrate"]) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, "m"));
    }
  });

  it("context and apply run without Probot, the AWS SDK or the HTTP stack", () => {
    const empty = join(dir, "empty.log");
    writeFileSync(empty, "");
    const context = cli("context", empty, "--json");
    expect(context.stderr).toBe("");
    expect(JSON.parse(context.stdout).class).toBe("code");
    const patch = join(dir, "p.diff");
    writeFileSync(patch, "--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-a\n+b\n");
    writeFileSync(join(dir, "x.txt"), "a\n");
    const apply = cli("apply", patch, "--dir", dir);
    expect(apply.stderr).toBe("");
    expect(apply.status).toBe(0);
  });

  it("a command that needs Probot still loads it (the hook is not a no-op)", () => {
    const result = cli("replay", join(dir, "missing.json"));
    expect(result.stderr).toContain("heavy module loaded");
  });

  it("an unknown command is refused with the list of commands", () => {
    const result = cli("frobnicate");
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
