/**
 * `/fixloop <command>` in a PR comment. Pure: finds the first command a
 * person actually typed — not one quoted from another comment (`>` lines),
 * shown in a code block (fenced or indented) or in inline code — and bounds
 * the hint text before anything stores or forwards it.
 */
import { COMMAND_NAMES, type CommandName } from "../store/schema.js";

/** A hint is a nudge, not a spec: a few sentences. Longer ones are refused, not cut, so nothing is silently lost. */
export const MAX_HINT_CHARS = 1_000;

export type ParsedCommand =
  | { command: CommandName; hint: string | null }
  | { command: "retry"; hint: null; hintTooLong: number }
  | { unknown: string };

const COMMAND_LINE = /^ {0,3}\/fixloop(?:[ \t]+([^\s]+))?[ \t]*(.*)$/i;

/** The lines of a Markdown comment that are neither quoted nor code, with their index. */
function plainLines(body: string): { line: string; index: number }[] {
  const lines = body.replace(/\r\n?/g, "\n").split("\n");
  const out: { line: string; index: number }[] = [];
  let fence: string | null = null;
  let previousBlank = true;
  for (const [index, line] of lines.entries()) {
    const fenceMark = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== null) {
      if (fenceMark && fenceMark[0] === fence[0] && fenceMark.length >= fence.length && line.trim() === fenceMark) fence = null;
      continue;
    }
    if (fenceMark) {
      fence = fenceMark;
      continue;
    }
    const blank = line.trim() === "";
    // An indented code block starts after a blank line; a quote is any line starting with ">".
    const code: boolean = previousBlank && /^( {4}|\t)/.test(line);
    const quoted = /^ {0,3}>/.test(line);
    if (!code && !quoted) out.push({ line, index });
    previousBlank = blank || (code && previousBlank);
  }
  return out;
}

/** The first `/fixloop` command of a comment, or null when it has none a person typed. */
export function parseCommand(body: string | null | undefined): ParsedCommand | null {
  if (!body || !body.toLowerCase().includes("/fixloop")) return null;
  const all = body.replace(/\r\n?/g, "\n").split("\n");
  for (const { line, index } of plainLines(body)) {
    const match = COMMAND_LINE.exec(line);
    if (!match) continue;
    const verb = (match[1] ?? "").toLowerCase();
    if (!(COMMAND_NAMES as readonly string[]).includes(verb)) return { unknown: verb };
    const command = verb as CommandName;
    if (command !== "retry") return { command, hint: null };
    // The hint: the rest of the line and every line after it, as written.
    const hint = [match[2], ...all.slice(index + 1)].join("\n").trim();
    if (hint.length > MAX_HINT_CHARS) return { command, hint: null, hintTooLong: hint.length };
    return { command, hint: hint === "" ? null : hint };
  }
  return null;
}

export const COMMAND_HELP = [
  "`/fixloop fix` — start (or restart) a fix for this PR's latest failed run",
  "`/fixloop retry [hint]` — on a fixloop fix PR: try again, with your hint passed to the model",
  "`/fixloop stop` — no more attempts on this PR",
  "`/fixloop explain` — what failed and why fixloop did or did not act",
].join("\n");
