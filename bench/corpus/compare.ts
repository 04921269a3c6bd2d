/**
 * Reading aid for a studied split (never fresh2): per log, where fixloop keeps fewer
 * labelled lines than the tail or diff baselines, or misses the first error they keep.
 *   tsx bench/corpus/compare.ts [--split dev|test|fresh] [--budget 2000]
 */
import { evaluate } from "../context-corpus.js";
import { STUDIED_SPLITS, loadCorpus } from "./corpus.js";

const args = process.argv.slice(2);
const budget = Number(args[args.indexOf("--budget") + 1]) || 2000;
const split = args.includes("--split") ? args[args.indexOf("--split") + 1] : "dev";
if (!STUDIED_SPLITS.some((s) => s === split)) throw new Error(`--split ${split}: only ${STUDIED_SPLITS.join(", ")} logs are studied; fresh2 is held out`);
for (const entry of loadCorpus().filter((e) => e.split === split)) {
  const o = await evaluate(entry, budget);
  const f = o.fixloop!;
  const worse = (["tail", "diff", "grep"] as const).filter((m) => o[m] && (o[m]!.recall > f.recall + 1e-9 || (o[m]!.first && !f.first)));
  if (worse.length === 0) continue;
  const fmt = (m: keyof typeof o) => (o[m] ? `${m} ${(100 * o[m]!.recall).toFixed(0)}%${o[m]!.first ? "+" : "-"}` : "");
  console.log(`${entry.id.padEnd(60)} ${["fixloop", "tail", "diff", "grep"].map((m) => fmt(m as keyof typeof o).padEnd(12)).join(" ")}`);
}
