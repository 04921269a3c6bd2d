/**
 * Reading aid for the studied splits (never fresh2): a log with its labelled lines marked (`>>`), around the labels.
 *   tsx bench/corpus/show.ts ID [--around N]
 */
import { STUDIED_SPLITS, labelText, loadCorpus, matchKey, readLog, scoredLines } from "./corpus.js";

const args = process.argv.slice(2);
const around = args.includes("--around") ? Number(args[args.indexOf("--around") + 1]) : 15;
const entry = loadCorpus().find((e) => STUDIED_SPLITS.includes(e.split) && e.id.includes(args[0]));
if (!entry) throw new Error(`no ${STUDIED_SPLITS.join("/")} log matches (fresh2 is held out)`);
const lines = readLog(entry, "fail").toString("utf8").split("\n");
const labels = new Set(scoredLines(entry));
const marked = lines.map((l) => labels.has(matchKey(l)));
const show = new Array<boolean>(lines.length).fill(false);
marked.forEach((m, i) => {
  if (m) for (let j = Math.max(0, i - around); j <= Math.min(lines.length - 1, i + 5); j += 1) show[j] = true;
});
console.log(`${entry.id} lines=${lines.length} labels=${labels.size}`);
let gap = false;
lines.forEach((l, i) => {
  if (!show[i]) { gap = true; return; }
  if (gap) console.log("   ...");
  gap = false;
  console.log(`${String(i).padStart(6)} ${marked[i] ? ">>" : "  "} ${labelText(l).slice(0, 180)}`);
});
