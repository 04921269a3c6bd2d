/**
 * Inputs a failure context must survive: binary junk, a single line of 50 MB, other
 * encodings, an empty baseline, a baseline of another workflow. Bounded memory and
 * time, a context or a clear reason, never a crash — through buildFailureContext and
 * through `fixloop context` (in-process, as the CLI tests do).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { BaselineLines, buildFailureContext } from "../src/fix/context/index.js";
import { sniffEncoding } from "../src/fix/context/lines.js";
import { runContextCli } from "./support/context-cli.js";

const dir = mkdtempSync(join(tmpdir(), "fixloop-bad-input-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(await runContextCli([...args, "--json"])) as Record<string, unknown>;
}

const FAILING = [
  "##[group]Run npm test",
  "npm test",
  "##[endgroup]",
  "  ● cart › applies the discount – café crème",
  "    Expected: 90",
  "    Received: 100",
  "##[error]Process completed with exit code 1.",
].join("\n");

/** The same failure in characters Latin-1 has. */
const LATIN1 = FAILING.replace("● cart › applies the discount – café crème", "FAIL cart: applies the discount to café crème");

/** Deterministic junk: every byte value, zeros included. */
function junk(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let state = 12345;
  for (let i = 0; i < bytes; i += 1) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

describe("bad input", () => {
  it("binary junk: a context without control characters and a notice saying the log is not text", async () => {
    const context = await buildFailureContext(junk(2 * 1024 * 1024));
    expect(context.bytesRead).toBe(2 * 1024 * 1024);
    expect(context.notice).toMatch(/does not look like text/);
    expect(context.context).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(context.context.length).toBeLessThanOrEqual(8000);
    const file = join(dir, "junk.log");
    writeFileSync(file, junk(256 * 1024));
    const json = await cli([file]);
    expect(json.notice).toMatch(/does not look like text/);
  });

  it("binary junk before a real failure still finds the failure", async () => {
    const context = await buildFailureContext(Buffer.concat([junk(100_000), Buffer.from(`\n${FAILING}\n`)]));
    expect(context.context).toContain("● cart › applies the discount");
    expect(context.failingStep).toBe("Run npm test");
  });

  it("a single line of 50 MB, streamed in chunks: bounded memory and time, the error after it still found", async () => {
    const chunk = Buffer.alloc(1024 * 1024, "x");
    async function* source() {
      yield Buffer.from("##[group]Run ./bundle.sh\n##[endgroup]\n");
      for (let i = 0; i < 50; i += 1) yield chunk;
      yield Buffer.from("\nError: bundle too large\n##[error]Process completed with exit code 1.\n");
    }
    const before = process.memoryUsage().rss;
    const started = performance.now();
    const context = await buildFailureContext(Readable.from(source()));
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
    expect(context.bytesRead).toBeGreaterThan(50 * 1024 * 1024);
    expect(context.context).toContain("Error: bundle too large");
    expect(context.context.length).toBeLessThanOrEqual(8000);
  });

  it("a 50 MB line in a file through the CLI", async () => {
    const file = join(dir, "long-line.log");
    writeFileSync(file, Buffer.concat([Buffer.alloc(50 * 1024 * 1024, "y"), Buffer.from("\nfatal: not a git repository\n")]));
    const json = await cli([file, "--budget", "500"]);
    expect(json.context).toContain("fatal: not a git repository");
    expect((json.context as string).length).toBeLessThanOrEqual(2000);
  });

  it.each([
    ["UTF-16 LE with BOM", Buffer.concat([Buffer.of(0xff, 0xfe), Buffer.from(FAILING, "utf16le")]), "utf16le"],
    ["UTF-16 BE with BOM", Buffer.concat([Buffer.of(0xfe, 0xff), Buffer.from(FAILING, "utf16le").swap16()]), "utf16be"],
    ["UTF-16 LE without BOM", Buffer.from(FAILING, "utf16le"), "utf16le"],
    ["UTF-8 with BOM", Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from(FAILING, "utf8")]), "utf8"],
    ["Latin-1", Buffer.from(LATIN1, "latin1"), "latin1"],
  ])("%s is decoded as such", async (_name, bytes, encoding) => {
    expect(sniffEncoding(bytes).encoding).toBe(encoding);
    // Cut into odd-sized chunks: a character split across chunks still decodes.
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const context = await buildFailureContext(Readable.from(chunks));
    expect(context.failingStep).toBe("Run npm test");
    expect(context.context).toContain(encoding === "latin1" ? "applies the discount to café crème" : "● cart › applies the discount – café crème");
    expect(context.context).toContain("Received: 100");
    expect(context.notice ?? null).toEqual(encoding === "utf8" ? null : expect.stringContaining("read as"));
    const file = join(dir, `${encoding}.log`);
    writeFileSync(file, bytes);
    expect((await cli([file])).context).toContain("Received: 100");
  });

  it("an empty baseline is not used; the CLI says so", async () => {
    const log = join(dir, "fail.log");
    const empty = join(dir, "empty.log");
    writeFileSync(log, FAILING);
    writeFileSync(empty, "");
    const json = await cli([log, "--baseline", empty]);
    expect(json.baseline_used).toBe(false);
    expect(json.context).toContain("Received: 100");
  });

  it("a baseline of another workflow drops nothing of the failure", async () => {
    const log = join(dir, "fail2.log");
    const other = join(dir, "docs-build.log");
    writeFileSync(log, FAILING);
    writeFileSync(other, ["##[group]Run mkdocs build", "INFO - Building documentation", "INFO - Documentation built in 1.2 seconds"].join("\n"));
    const json = await cli([log, "--baseline", other]);
    expect(json.baseline_used).toBe(true);
    expect(json.shared_lines_dropped).toBe(0);
    expect(json.context).toContain("Expected: 90");
    const withBinary = await buildFailureContext(FAILING, { baseline: await BaselineLines.fromLog(junk(64 * 1024)) });
    expect(withBinary.context).toContain("Expected: 90");
  });

  it("a log file that does not exist is a clear error, not a crash", async () => {
    await expect(cli([join(dir, "missing.log")])).rejects.toThrow(/ENOENT|no such file/);
  });
});
