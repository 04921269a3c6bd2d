/**
 * `npm run lint:deps` (CI runs it): fixloop's import rules over src/, with
 * imports resolved by TypeScript itself (type-only imports count too: a cycle
 * of types still ties modules together).
 *  - no import cycle;
 *  - no import between fix/ and outcomes/, in either direction (what both
 *    need lives in store/ or github/);
 *  - src/app.ts is imported only by the runtime and the entry points above it.
 * Any violation fails the check.
 *
 * dependency-cruiser does this job too, but adding it (or any package) to
 * node_modules changes the corpus test/patch-perturb.test.ts draws from
 * node_modules; this needs nothing beyond the TypeScript compiler we have.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
const src = join(root, "src");
const files = readdirSync(src, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
  .map((f) => join(src, f));
const config = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile).config, ts.sys, root);
const name = (file: string) => relative(root, file).split("\\").join("/");

/** module → the src/ modules it imports (value or type), resolved like tsc does. */
const graph = new Map<string, string[]>();
for (const file of files) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  const targets = new Set<string>();
  for (const imported of importedFiles) {
    const resolved = ts.resolveModuleName(imported.fileName, file, config.options, ts.sys).resolvedModule;
    if (resolved && !resolved.isExternalLibraryImport && resolved.resolvedFileName.startsWith(src)) targets.add(name(resolved.resolvedFileName));
  }
  graph.set(name(file), [...targets].sort());
}

const violations: string[] = [];

// Cycles: strongly connected components of more than one module (Tarjan), or a module importing itself.
let index = 0;
const stack: string[] = [];
const state = new Map<string, { index: number; low: number; onStack: boolean }>();
function connect(node: string): void {
  state.set(node, { index, low: index, onStack: true });
  index++;
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (!state.has(next)) {
      connect(next);
      state.get(node)!.low = Math.min(state.get(node)!.low, state.get(next)!.low);
    } else if (state.get(next)!.onStack) {
      state.get(node)!.low = Math.min(state.get(node)!.low, state.get(next)!.index);
    }
  }
  if (state.get(node)!.low !== state.get(node)!.index) return;
  const component: string[] = [];
  let member: string;
  do {
    member = stack.pop()!;
    state.get(member)!.onStack = false;
    component.push(member);
  } while (member !== node);
  if (component.length > 1 || (graph.get(node) ?? []).includes(node)) violations.push(`cycle: ${component.sort().join(" ↔ ")}`);
}
for (const node of graph.keys()) if (!state.has(node)) connect(node);

const ENTRY = /^src\/(runtime|server|index|lambda)\.ts$|^src\/cli\//;
for (const [from, targets] of graph) {
  for (const to of targets) {
    if (from.startsWith("src/fix/") && to.startsWith("src/outcomes/")) violations.push(`fix → outcomes: ${from} → ${to}`);
    if (from.startsWith("src/outcomes/") && to.startsWith("src/fix/")) violations.push(`outcomes → fix: ${from} → ${to}`);
    if (to === "src/app.ts" && !ENTRY.test(from)) violations.push(`app.ts from below: ${from} → ${to}`);
  }
}

for (const v of violations) console.log(`violation  ${v}`);
console.log(`${graph.size} modules, ${[...graph.values()].reduce((n, t) => n + t.length, 0)} imports: ${violations.length} violation(s)`);
if (violations.length > 0) process.exitCode = 1;
