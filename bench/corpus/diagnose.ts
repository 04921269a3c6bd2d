/**
 * Dev-split diagnosis for tuning (never run on the test split): for each dev log where
 * fixloop misses the first labelled error line or the class, what it sent instead.
 *   tsx bench/corpus/diagnose.ts [--budget 2000] [--id substring]
 */
import { buildFailureContext } from "../../src/fix/context/index.js";
import { BaselineLines } from "../../src/fix/context/baseline.js";
import { loadCorpus, readLog, score, scoredLines } from "./corpus.js";

const args = process.argv.slice(2);
const budget = Number(args[args.indexOf("--budget") + 1]) || 2000;
const only = args.includes("--id") ? args[args.indexOf("--id") + 1] : null;
for (const entry of loadCorpus().filter((e) => e.split === "dev" && (!only || e.id.includes(only)))) {
  const baseline = entry.hasPassing ? await BaselineLines.fromLog(readLog(entry, "pass")) : null;
  const context = await buildFailureContext(readLog(entry, "fail"), { budgetTokens: budget, baseline });
  const s = score(entry, context.context);
  if (s.first && context.class === entry.class && !only) continue;
  console.log(`\n##### ${entry.id} recall=${s.recall.toFixed(2)} first=${s.first} class=${context.class}/${entry.class} ${context.infraReason ?? ""} len=${context.context.length} shared=${context.sharedLinesDropped}`);
  console.log(`  first label: ${scoredLines(entry)[0]}`);
  console.log(context.context.split("\n").slice(0, 25).map((l) => `  | ${l.slice(0, 160)}`).join("\n"));
}
