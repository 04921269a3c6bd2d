/**
 * Diagnosis for tuning: for each log of a split where fixloop misses the first labelled
 * error line or the class, where that line stands in the log (with the error score of the
 * lines around it) and what fixloop sent instead. The fresh2 split is held out from
 * everyone and is refused (fresh was held out too until it was studied, see SOURCES.md).
 *   tsx bench/corpus/diagnose.ts [--split dev|test|fresh] [--budget 2000] [--id substring]
 */
import { buildFailureContext } from "../../src/fix/context/index.js";
import { BaselineLines } from "../../src/fix/context/baseline.js";
import { errorScore } from "../../src/fix/context/patterns.js";
import { STUDIED_SPLITS, comparable, labelText, loadCorpus, readLog, score, scoredLines } from "./corpus.js";

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const budget = Number(option("--budget")) || 2000;
const only = option("--id") ?? null;
const split = option("--split") ?? "dev";
if (!STUDIED_SPLITS.some((s) => s === split)) throw new Error(`--split ${split}: only ${STUDIED_SPLITS.join(", ")} logs are studied; fresh2 is held out`);
for (const entry of loadCorpus().filter((e) => e.split === split && (!only || e.id.includes(only)))) {
  const baseline = entry.hasPassing ? await BaselineLines.fromLog(readLog(entry, "pass")) : null;
  const fail = readLog(entry, "fail");
  const context = await buildFailureContext(fail, { budgetTokens: budget, baseline });
  const s = score(entry, context.context);
  if (s.first && context.class === entry.class && !only) continue;
  const first = scoredLines(entry)[0];
  const lines = fail.toString("utf8").split("\n").map(labelText);
  const at = lines.findIndex((line) => comparable(line).includes(first));
  console.log(`\n##### ${entry.id} recall=${s.recall.toFixed(2)} first=${s.first} class=${context.class}/${entry.class} ${context.infraReason ?? ""}`);
  console.log(`  step=${context.failingStep?.slice(0, 100)} len=${context.context.length} shared=${context.sharedLinesDropped} first label at line ${at} of ${lines.length}`);
  for (let i = Math.max(0, at - 4); at >= 0 && i < Math.min(lines.length, at + 3); i += 1) console.log(`  ${i === at ? ">" : " "}${i} [${errorScore(lines[i])}] ${lines[i].slice(0, 150)}`);
  console.log("  --- sent:");
  console.log(context.context.split("\n").slice(0, 25).map((l) => `  | ${l.slice(0, 160)}`).join("\n"));
}
