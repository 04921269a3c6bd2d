import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";

const run = promisify(execFile);
const TSX = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));
const CLI = fileURLToPath(new URL("../src/cli/index.ts", import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fixloop-localize-"));
  const repo = join(dir, "repo");
  for (const [path, content] of [
    ["src/main/java/org/acme/Cart.java", "package org.acme;\nclass Cart {}\n"],
    ["src/test/java/org/acme/CartTest.java", "package org.acme;\nclass CartTest { Cart c = new Cart(); }\n"],
    ["target/classes/org/acme/Cart.java", "// build output\n"],
    ["app/tests/test_cli.py", "from app.cli import main\n"],
    ["app/cli.py", "def main():\n    return 1\n"],
    ["app/__init__.py", ""],
  ]) {
    await mkdir(join(repo, path, ".."), { recursive: true });
    await writeFile(join(repo, path), content);
  }
  await writeFile(
    join(dir, "job.log"),
    [
      "java.lang.IllegalStateException: boom",
      "\tat org.acme.Cart.total(Cart.java:2)",
      "\tat org.acme.CartTest.totals(CartTest.java:2)",
      "FAILED tests/test_cli.py::test_main - assert 1 == 0",
      "",
    ].join("\n"),
  );
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("fixloop context LOG --repo DIR --changed F: files resolved against the checkout, with lines and why", async () => {
  const { stdout } = await run(TSX, [CLI, "context", join(dir, "job.log"), "--repo", join(dir, "repo"), "--changed", "app/cli.py", "--json"], { timeout: 60_000 });
  const out = JSON.parse(stdout) as { files: { path: string; lines: number[]; why: string[] }[] };
  const byPath = new Map(out.files.map((f) => [f.path, f]));
  expect(out.files[0]).toMatchObject({ path: "src/main/java/org/acme/Cart.java", lines: [2] });
  expect(out.files[0].why[0]).toMatch(/innermost project frame/);
  expect(byPath.get("app/tests/test_cli.py")?.why[0]).toMatch(/failing test/);
  expect(byPath.get("app/cli.py")?.why).toEqual(expect.arrayContaining([expect.stringMatching(/source under test/), "changed since the last green run"]));
  expect([...byPath.keys()].some((p) => p.startsWith("target/"))).toBe(false);
}, 60_000);
