/**
 * One comment per purpose on an issue or PR, kept up to date instead of
 * repeated: the comment carries a hidden marker `<!-- fixloop:<marker> -->`,
 * and a retried job finds and edits it. Used for the patch offered on a fork
 * PR, the "fix CI passed" note and the note after the last attempt.
 */
import type { ProbotOctokit } from "probot";
import { redactText } from "../fix/redact.js";
import type { RepoRef } from "./repo.js";

/** GitHub's limit on a comment body is 65,536 characters; leave room for the marker and the note. */
const MAX_COMMENT_CHARS = 65_000;

const MARKER_NAME = /^[A-Za-z0-9._:-]{1,100}$/;

export function commentMarker(marker: string): string {
  if (!MARKER_NAME.test(marker)) throw new Error(`Comment marker must match ${MARKER_NAME}, got "${marker}"`);
  return `<!-- fixloop:${marker} -->`;
}

/**
 * Who wrote the comments that count as ours. Anyone can type a marker into a
 * comment, and an app with write access could edit a human's comment, so a
 * marker alone is not proof: by default only bot accounts' comments match.
 */
export interface CommentAuthor {
  /** e.g. "fixloop[bot]". */
  login?: string;
  /** The GitHub App's id, matched against `performed_via_github_app.id`. */
  appId?: number;
}

export interface UpsertCommentInput extends RepoRef {
  issueNumber: number;
  marker: string;
  /** Markdown; the marker is added on top. Untrusted text inside it stays text: GitHub renders it, nothing runs. */
  body: string;
  author?: CommentAuthor;
}

export interface UpsertCommentResult {
  commentId: number;
  url: string;
  action: "created" | "updated" | "unchanged";
}

interface IssueComment {
  id: number;
  html_url: string;
  body?: string;
  user: { login: string; type: string } | null;
  performed_via_github_app?: { id: number } | null;
}

function isOurs(comment: IssueComment, author: CommentAuthor | undefined): boolean {
  if (author?.login !== undefined && comment.user?.login !== author.login) return false;
  if (author?.appId !== undefined && comment.performed_via_github_app?.id !== author.appId) return false;
  if (author?.login === undefined && author?.appId === undefined) return comment.user?.type === "Bot";
  return true;
}

export function commentBody(marker: string, body: string): string {
  const tag = commentMarker(marker);
  // A marker copied into the text (say, quoted from a log) must not make a second match.
  const text = redactText(body).split(tag).join("");
  const bounded = text.length <= MAX_COMMENT_CHARS ? text : `${text.slice(0, MAX_COMMENT_CHARS)}\n\n…(truncated by fixloop: GitHub limits comment length)`;
  return `${tag}\n${bounded}`;
}

/** Creates the marked comment, or edits ours if one is already there (and differs). */
export async function upsertComment(octokit: ProbotOctokit, input: UpsertCommentInput): Promise<UpsertCommentResult> {
  const { owner, repo, issueNumber } = input;
  const tag = commentMarker(input.marker);
  const body = commentBody(input.marker, input.body);

  let existing: IssueComment | undefined;
  for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, { owner, repo, issue_number: issueNumber, per_page: 100 })) {
    existing = (page.data as IssueComment[]).find((comment) => comment.body?.includes(tag) && isOurs(comment, input.author));
    if (existing) break;
  }

  if (!existing) {
    const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
    return { commentId: data.id, url: data.html_url, action: "created" };
  }
  if (existing.body === body) return { commentId: existing.id, url: existing.html_url, action: "unchanged" };
  const { data } = await octokit.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body });
  return { commentId: data.id, url: data.html_url, action: "updated" };
}
