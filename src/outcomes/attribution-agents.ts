/**
 * Coding agents recognised in commit metadata: the `Co-authored-by:` trailers
 * they write and the bot identities they commit as. Matching is on the
 * identity's email (or GitHub bot slug), never on a display name alone: a
 * human called Claude with their own address is a human co-author.
 *
 * Sources for the forms (public commits and agent docs): Claude Code writes
 * `Co-Authored-By: Claude <model> <noreply@anthropic.com>`; the Copilot coding
 * agent commits as `Copilot <198982749+Copilot@users.noreply.github.com>`
 * (`copilot-swe-agent[bot]`), Copilot in editors uses other numeric ids of the
 * same `Copilot@users.noreply.github.com` account; Cursor writes
 * `Cursor Agent <cursoragent@cursor.com>`; Devin writes
 * `Devin <158243242+devin-ai-integration[bot]@users.noreply.github.com>`;
 * Codex writes `Codex <codex@openai.com>` (some set-ups `OpenAI Codex
 * <noreply@openai.com>`), Codex cloud commits as `chatgpt-codex-connector[bot]`;
 * Aider writes `aider (<model>) <noreply@aider.chat>`; Jules, Gemini Code
 * Assist (accepted suggestions) and Amazon Q Developer are GitHub Apps whose
 * bot addresses appear in trailers; OpenCode, Amp and OpenHands use fixed
 * noreply addresses.
 */

/** `<optional numeric id>+<slug>@users.noreply.github.com`, the address GitHub gives every bot and user. */
function githubNoreply(slug: string): RegExp {
  const escaped = slug.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`<(?:\\d+\\+)?${escaped}@users\\.noreply\\.github\\.com>`, "i");
}

/**
 * Each pattern is tested against a trailer's value (`Name <email>`). Order
 * matters only for display: the first agent that matches a trailer names it.
 */
export const AGENT_TRAILERS: { agent: string; pattern: RegExp }[] = [
  { agent: "Claude", pattern: /<noreply@anthropic\.com>/i },
  { agent: "Claude", pattern: githubNoreply("claude[bot]") },
  { agent: "GitHub Copilot", pattern: githubNoreply("Copilot") },
  { agent: "GitHub Copilot", pattern: githubNoreply("copilot-swe-agent[bot]") },
  { agent: "GitHub Copilot", pattern: /<copilot@github\.com>/i },
  { agent: "Cursor", pattern: /<cursoragent@cursor\.com>/i },
  { agent: "Cursor", pattern: githubNoreply("cursoragent[bot]") },
  { agent: "Devin", pattern: githubNoreply("devin-ai-integration[bot]") },
  { agent: "Devin", pattern: /<devin@cognition\.ai>/i },
  { agent: "OpenAI Codex", pattern: /<codex@openai\.com>/i },
  // noreply@openai.com is shared by OpenAI tools; only a name saying Codex makes it Codex.
  { agent: "OpenAI Codex", pattern: /^\s*(?:openai\s+)?codex\b[^<]*<noreply@openai\.com>/i },
  { agent: "OpenAI Codex", pattern: githubNoreply("chatgpt-codex-connector[bot]") },
  { agent: "Aider", pattern: /<noreply@aider\.chat>/i },
  { agent: "Google Jules", pattern: githubNoreply("google-labs-jules[bot]") },
  { agent: "Gemini Code Assist", pattern: githubNoreply("gemini-code-assist[bot]") },
  { agent: "Amazon Q Developer", pattern: githubNoreply("amazon-q-developer[bot]") },
  { agent: "OpenCode", pattern: /<noreply@opencode\.ai>/i },
  { agent: "Amp", pattern: /<amp@ampcode\.com>/i },
  { agent: "OpenHands", pattern: /<openhands@all-hands\.dev>/i },
];

const CO_AUTHOR_LINE = /^[ \t]*co-authored-by:[ \t]*(.+?)[ \t]*$/gim;

function agentOfIdentity(identity: string): string | null {
  return AGENT_TRAILERS.find((entry) => entry.pattern.test(identity))?.agent ?? null;
}

/**
 * The coding agents a commit message credits through `Co-authored-by:`
 * trailers, once per agent (the first trailer naming it is kept). Squash
 * merges repeat trailers through the body, so every line is read, not only
 * the final paragraph.
 */
export function coAuthorAgents(message: string): { agent: string; trailer: string }[] {
  const found = new Map<string, string>();
  for (const match of message.replace(/\r\n?/g, "\n").matchAll(CO_AUTHOR_LINE)) {
    const trailer = match[1];
    const agent = agentOfIdentity(trailer);
    if (agent && !found.has(agent)) found.set(agent, trailer);
  }
  return [...found].map(([agent, trailer]) => ({ agent, trailer }));
}

/** The agent a commit's author identity is, when the commit was made by an agent's own account. */
export function agentOfAuthor(author: { login: string | null; email: string | null }): string | null {
  if (author.email) {
    const byEmail = agentOfIdentity(`${author.login ?? ""} <${author.email}>`);
    if (byEmail) return byEmail;
  }
  // A login alone (no email in the payload) is matched as its GitHub noreply address.
  return author.login ? agentOfIdentity(`<${author.login}@users.noreply.github.com>`) : null;
}

/**
 * Agent sessions are per agent: `agent:claude`, `agent:github-copilot`. A
 * push carries no session id of the agent's, and a PR-based id would depend
 * on whether the PR was recorded before the push arrived, so re-running
 * attribution could mint a second id for the same work. The PR and branch a
 * commit landed through are kept in the link's evidence instead.
 */
export function agentSessionId(agent: string): string {
  return `agent:${agent.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;
}

export function isAgentSession(sessionId: string): boolean {
  return sessionId.startsWith("agent:");
}

/** The agent's display name for an `agent:` session id, when it is one of ours. */
export function agentNameOfSession(sessionId: string): string | null {
  if (!isAgentSession(sessionId)) return null;
  return AGENT_TRAILERS.find((entry) => agentSessionId(entry.agent) === sessionId)?.agent ?? sessionId.slice("agent:".length);
}
