/**
 * Localisation for a fix job, GitHub side: read the tree at the failing SHA
 * once, what changed since the workflow was last green and the PR's files, the
 * failing tests' sources, and rank. Every read is bounded; each one that fails
 * for a reason other than the network leaves localisation with less evidence,
 * never without an answer.
 */
import type { ProbotOctokit } from "probot";
import { cleanLine, LineSplitter } from "../context/lines.js";
import type { LogSource } from "../context/build.js";
import { completeTruncatedTree, fetchFilesAtRef, filePaths, readRepoTree, repoPathProblem, type FetchedFiles, type RepoListing } from "../../github/files.js";
import { changedBetween, lastGreenSha, pullRequestFiles } from "../../github/history.js";
import { EvidenceReader, type Evidence } from "./evidence.js";
import { evidenceOfFailure, filesToShow, locateFiles, type FailureEvidenceInput } from "./index.js";
import type { Localization, RankedFile } from "./rank.js";
import { isOutsidePath, RepoTree } from "./tree.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

/**
 * Passes a log through unchanged while an EvidenceReader sees every line: the
 * context builder and the localiser read the same stream once.
 */
export function withEvidence(source: LogSource, reader: EvidenceReader): AsyncIterable<string | Uint8Array> {
  const splitter = new LineSplitter((line) => reader.addLine(cleanLine(line)));
  return (async function* () {
    if (typeof source === "string") {
      splitter.push(source);
      yield source;
    } else {
      for await (const chunk of source as AsyncIterable<string | Uint8Array>) {
        splitter.push(chunk);
        yield chunk;
      }
    }
    splitter.end();
  })();
}

export interface LocateOnGitHubInput {
  owner: string;
  repo: string;
  headSha: string;
  failure: FailureEvidenceInput;
  /** Where to look for the last green run of the same workflow (Actions only). */
  workflowId?: number | null;
  branch?: string | null;
  /**
   * The last green run's commit from a lookup the job already made (the failure
   * context's baseline lists the same runs); without it, one request of its own.
   */
  lastGreenSha?: () => Promise<string | null>;
  prNumber?: number | null;
  maxFiles: number;
  /** Files already fetched; the failing tests read here are added to it. */
  files: FetchedFiles;
}

export interface LocatedOnGitHub {
  localization: Localization;
  shown: RankedFile[];
  listing: RepoListing | null;
  greenSha: string | null;
  changedSinceGreen: string[];
  prFiles: string[];
}

/** Directories a truncated listing should be completed with: where the evidence says files are. */
function candidateDirs(evidence: Evidence[]): string[] {
  const dirs: string[] = [];
  for (const e of evidence) {
    const t = e.target;
    if (t.type === "path" && t.path.includes("/") && !isOutsidePath(t.path)) dirs.push(t.path.slice(0, t.path.lastIndexOf("/")));
    if (t.type === "jvm-class") {
      const parts = t.name.split(".");
      const pkg = parts.slice(0, Math.max(0, parts.findIndex((p) => /^[A-Z]/.test(p)))).join("/");
      if (pkg) dirs.push(`src/main/java/${pkg}`, `src/test/java/${pkg}`, `src/main/kotlin/${pkg}`);
    }
    if (t.type === "python-module") dirs.push(t.name.split(".").slice(0, -1).join("/"));
    if (t.type === "test-script") dirs.push("t");
  }
  return dirs.filter((d) => d !== "" && repoPathProblem(d) === null);
}

export async function locateOnGitHub(octokit: Octokit, input: LocateOnGitHubInput): Promise<LocatedOnGitHub> {
  const { owner, repo, headSha } = input;
  const evidence = evidenceOfFailure(input.failure);
  const listing = await readRepoTree(octokit, { owner, repo, sha: headSha });
  if (listing?.truncated) await completeTruncatedTree(octokit, { owner, repo, sha: headSha, listing, dirs: candidateDirs(evidence) });

  let greenSha: string | null = null;
  let changedSinceGreen: string[] = [];
  if (input.lastGreenSha || (input.workflowId && input.branch)) {
    greenSha = input.lastGreenSha ? await input.lastGreenSha() : await lastGreenSha(octokit, { owner, repo, workflowId: input.workflowId!, branch: input.branch! });
    if (greenSha && greenSha !== headSha) changedSinceGreen = (await changedBetween(octokit, { owner, repo, base: greenSha, head: headSha })) ?? [];
  }
  const prFiles = input.prNumber ? ((await pullRequestFiles(octokit, { owner, repo, pullNumber: input.prNumber })) ?? []) : [];

  const tree = listing ? new RepoTree(filePaths(listing), listing.truncated) : null;
  const localization = await locateFiles(evidence, {
    tree,
    changedSinceGreen,
    greenRange: greenSha && changedSinceGreen.length > 0 ? { base: greenSha, head: headSha } : null,
    prFiles,
    readContents: async (paths) => {
      const wanted = paths.filter((p) => !(p in input.files) && repoPathProblem(p) === null);
      if (wanted.length > 0) Object.assign(input.files, await fetchFilesAtRef(octokit, { owner, repo, ref: headSha, paths: wanted, tree: listing }));
      return new Map(paths.flatMap((p) => (input.files[p]?.type === "file" ? [[p, (input.files[p] as { content: string }).content] as const] : [])));
    },
  });
  return { localization, shown: filesToShow(localization.files, input.maxFiles), listing, greenSha, changedSinceGreen, prFiles };
}

/**
 * Source files get this many times the log excerpt's token budget: more when
 * the log points at them (frames, diagnostics), less when they are inferred
 * (a test's likely source, changed files), leaving the log the room.
 */
export function fileBudgetFactor(shown: readonly RankedFile[]): number {
  const top = shown[0];
  if (!top) return 1;
  if (top.named && top.score >= 8) return 4;
  return top.named ? 3 : 2;
}
