/**
 * Builds fixtures/logs/corpus from two published data sets of real CI logs with
 * engineers' labels. Run once by hand; its output is committed with a SOURCES.md.
 *
 *   tsx bench/corpus/import.ts <cidiff-git-dir> <logchunks-git-dir>
 *
 * Both arguments are git directories (bare or not) of the upstream repositories,
 * read with `git show` at their HEAD:
 *  - labri-progress/cidiff `data/breakages*`: pairs of failing and passing logs of
 *    the same job (Jenkins Maven builds, GitHub Actions Go/Terraform checks) with
 *    `groundtruth` line ranges (E = error lines) — the CiDiff paper's data.
 *  - lacinoire/master-thesis (LogChunks, Brandt et al., MSR 2020) `tool/samples`
 *    Travis CI logs of 80 projects in 28 languages, `tool/example-sets/BuildFailureReason`
 *    the chunk of each log that states why the build failed. No passing logs.
 *
 * Which logs are taken, and whether one is dev or held-out test, is decided by a
 * hash of its id before anything about its content is known (two per LogChunks project);
 * the next two of each LogChunks project form the "fresh" split (see FRESH_PER_LOGCHUNKS_PROJECT),
 * and the two after those the "fresh2" split (see FRESH2_PER_LOGCHUNKS_PROJECT).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { labelText, type CorpusEntry } from "./corpus.js";

const [cidiffDir, logchunksDir] = process.argv.slice(2);
if (!cidiffDir || !logchunksDir) throw new Error("usage: tsx bench/corpus/import.ts <cidiff-git-dir> <logchunks-git-dir>");
const OUT = new URL("../../fixtures/logs/corpus/", import.meta.url).pathname;
const PER_LOGCHUNKS_PROJECT = 2;
/**
 * The next logs of each LogChunks project in the same hash order: the "fresh" held-out set,
 * added after the rules had been tuned on dev and test had been looked at, so that
 * nobody has tuned on it.
 */
const FRESH_PER_LOGCHUNKS_PROJECT = 2;
/**
 * The two logs after those of each LogChunks project: "fresh2", added when "fresh" had been
 * studied in turn, held out from everyone so that a figure for logs nobody tuned on remains.
 */
const FRESH2_PER_LOGCHUNKS_PROJECT = 2;

const git = (dir: string, ...args: string[]) => execFileSync("git", ["--git-dir", dir, ...args], { maxBuffer: 1 << 30 });
const show = (dir: string, path: string) => git(dir, "show", `HEAD:${path}`);
const head = (dir: string) => git(dir, "rev-parse", "HEAD").toString().trim();
const hash = (text: string) => createHash("sha1").update(text).digest("hex");
/** Decided by the id alone: about half the logs are held out and never looked at while tuning. */
export const splitOf = (id: string): "dev" | "test" => (parseInt(hash(id).slice(0, 2), 16) % 2 === 0 ? "dev" : "test");

/** The held-out split of the LogChunks log of this rank in its project's hash order, if any. */
function heldOutSplit(rank: number): "fresh" | "fresh2" | undefined {
  if (rank < PER_LOGCHUNKS_PROJECT) return undefined;
  return rank < PER_LOGCHUNKS_PROJECT + FRESH_PER_LOGCHUNKS_PROJECT ? "fresh" : "fresh2";
}

const entries: CorpusEntry[] = [];
function write(id: string, fail: Buffer, pass: Buffer | null): void {
  const dir = join(OUT, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "fail.log.gz"), gzipSync(fail, { level: 9 }));
  if (pass) writeFileSync(join(dir, "pass.log.gz"), gzipSync(pass, { level: 9 }));
}

// ---- CiDiff: line ranges over lines split like Java's readLine (\r\n, \r or \n), 1-based.
const cidiffCommit = head(cidiffDir);
const cidiffFiles = git(cidiffDir, "ls-tree", "-r", "--name-only", "HEAD", "data/breakages", "data/breakages_dump").toString().split("\n");
for (const truth of cidiffFiles.filter((f) => /\/groundtruth$/.test(f))) {
  const base = truth.slice(0, -"/groundtruth".length);
  const fail = show(cidiffDir, `${base}/fail.log`);
  const pass = show(cidiffDir, `${base}/pass.log`);
  const lines = fail.toString("utf8").split(/\r\n|\r|\n/);
  const wanted: number[] = [];
  for (const row of show(cidiffDir, truth).toString().split("\n")) {
    const m = /^E (\d+)(?:-(\d+))?\s*$/.exec(row.trim());
    if (!m) continue;
    for (let n = Number(m[1]); n <= Number(m[2] ?? m[1]); n += 1) wanted.push(n);
  }
  const errors = wanted.map((n) => labelText(lines[n - 1] ?? "")).filter((t) => t !== "");
  if (errors.length === 0) continue;
  const jenkins = base.startsWith("data/breakages/");
  const id = `cidiff/${base.split("/").slice(2).join("-").replace(/[^A-Za-z0-9_.-]+/g, "_")}`;
  write(id, fail, pass);
  entries.push({
    id,
    split: splitOf(id),
    ecosystem: jenkins ? "java-maven" : "go",
    ci: jenkins ? "jenkins" : "github-actions",
    class: "code",
    errors,
    hasPassing: true,
    source: `https://github.com/labri-progress/cidiff/tree/${cidiffCommit}/${base}`,
  });
}

// ---- LogChunks: the labelled chunk is found in the log line by line.
const lcCommit = head(logchunksDir);
const sets = git(logchunksDir, "ls-tree", "-r", "--name-only", "HEAD", "tool/example-sets/BuildFailureReason").toString().split("\n").filter((f) => f.endsWith(".xml"));
const unescape = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
let unmatched = 0;
for (const set of sets) {
  const xml = show(logchunksDir, set).toString("utf8");
  const examples = [...xml.matchAll(/<ExampleDataOfString>\s*<InputPath>([^<]+)<\/InputPath>[\s\S]*?<Output>([\s\S]*?)<\/Output>/g)].map((m) => ({
    path: m[1].trim(),
    output: unescape(m[2]),
  }));
  const language = set.split("/")[3];
  const picked = examples.sort((a, b) => hash(a.path).localeCompare(hash(b.path))).slice(0, PER_LOGCHUNKS_PROJECT + FRESH_PER_LOGCHUNKS_PROJECT + FRESH2_PER_LOGCHUNKS_PROJECT);
  for (const [rank, example] of picked.entries()) {
    const raw = show(logchunksDir, `tool/samples/${example.path}`);
    const logLines = raw.toString("utf8").split("\n").map(labelText);
    const chunk = example.output.split("\n").map(labelText).filter((t) => t !== "");
    const errors: string[] = [];
    let at = 0;
    for (const text of chunk) {
      // The log line that holds the chunk's line; else one the chunk's line holds (the chunk was
      // cut or wrapped), but never a short line that merely occurs inside it ("[info]", ".").
      let found = logLines.findIndex((line, i) => i >= at && line !== "" && line.includes(text));
      if (found < 0) found = logLines.findIndex((line, i) => i >= at && line !== "" && text.includes(line) && 2 * line.length >= text.length);
      if (found < 0) break;
      errors.push(logLines[found].includes(text) ? text : logLines[found]);
      at = found;
    }
    if (errors.length !== chunk.length || errors.length === 0) {
      unmatched += 1;
      continue;
    }
    const [project, , file] = example.path.split("/").slice(1);
    const id = `logchunks/${language.replace(/[^A-Za-z0-9]+/g, "_")}-${project.replace("@", "_")}-${file.replace(/\.log$/, "")}`;
    write(id, raw, null);
    entries.push({
      id,
      split: heldOutSplit(rank) ?? splitOf(id),
      ecosystem: language.toLowerCase(),
      ci: "travis",
      class: "code",
      errors,
      hasPassing: false,
      source: `https://github.com/lacinoire/master-thesis/blob/${lcCommit}/tool/samples/${example.path}`,
    });
  }
}

entries.sort((a, b) => a.id.localeCompare(b.id));
writeFileSync(join(OUT, "labels.json"), `${JSON.stringify(entries, null, 1)}\n`);
console.log(`${entries.length} logs (${entries.filter((e) => e.hasPassing).length} with a passing log); ${unmatched} LogChunks chunks not found in their log were skipped`);
