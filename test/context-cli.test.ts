import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { runContextCli } from "./support/context-cli.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/logs/${name}`, import.meta.url));

const run = runContextCli;

describe("fixloop context", () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it("prints JSON with class, failing_step, context and files first", async () => {
    const json = JSON.parse(await run([fixture("github-tsc.log"), "--json", "--budget", "300"]));
    expect(Object.keys(json).slice(0, 4)).toEqual(["class", "failing_step", "context", "files"]);
    expect(json.class).toBe("code");
    expect(json.failing_step).toBe("Run npm run build");
    expect(typeof json.context).toBe("string");
    expect(json.context).toContain("error TS2322");
    expect(json.files).toEqual([
      { path: "src/pricing.ts", line: 42, column: 7 },
      { path: "src/cart/index.ts", line: 17, column: 3 },
    ]);
    expect(json.estimated_tokens).toBeLessThanOrEqual(300);
    expect(json.infra_reason).toBeNull();
  });

  it("respects --budget and --conclusion", async () => {
    const small = JSON.parse(await run([fixture("github-jest.log"), "--json", "--budget", "60"]));
    expect(Math.ceil(small.context.length / 4)).toBeLessThanOrEqual(60);
    expect(small.truncated).toBe(true);
    const cancelled = JSON.parse(await run([fixture("github-jest.log"), "--json", "--conclusion", "cancelled"]));
    expect(cancelled.class).toBe("infra");
    expect(cancelled.infra_reason).toBe("cancelled: conclusion was cancelled");
  });

  it("prints a readable form by default, redacted", async () => {
    dir = mkdtempSync(join(tmpdir(), "fixloop-context-cli-"));
    const token = `ghs_${"Kd93jfLq0PzX7vBn2MwT5yRc8HsA1eGu4oQi".slice(0, 36)}`;
    const log = join(dir, "job.log");
    writeFileSync(
      log,
      [
        "2024-05-01T12:00:00.0000000Z ##[group]Run ./release.sh",
        "2024-05-01T12:00:00.0000000Z ./release.sh",
        "2024-05-01T12:00:00.0000000Z ##[endgroup]",
        `2024-05-01T12:00:01.0000000Z Error: push rejected for https://x-access-token:${token}@github.com/acme/widgets.git`,
        "2024-05-01T12:00:01.0000000Z ##[error]Process completed with exit code 1.",
      ].join("\n"),
    );
    const text = await run([log]);
    expect(text).toContain("class:        code");
    expect(text).toContain("failing step: Run ./release.sh");
    expect(text).toContain("---- context ----");
    expect(text).toContain("Error: push rejected for https://x-access-token:[REDACTED]@github.com/acme/widgets.git");
    expect(text).not.toContain(token);
    expect(text).toMatch(/redactions: +1/);
  });

  it("rejects a bad --format", async () => {
    await expect(run([fixture("github-tsc.log"), "--format", "jenkins"])).rejects.toThrow(/--format must be one of/);
  });
});
