/** File text as lines that remember their own line endings, so an edited file keeps its CRLF/LF and final-newline state. */

export interface SourceLine {
  text: string;
  /** "\n", "\r\n", or "" for a last line without a newline. */
  eol: string;
}

export interface SourceText {
  lines: SourceLine[];
  endsWithNewline: boolean;
  /** The ending new lines get: the one most of the file already uses. */
  dominantEol: string;
}

export function splitSource(content: string): SourceText {
  if (content === "") return { lines: [], endsWithNewline: true, dominantEol: "\n" };
  const parts = content.split("\n");
  const endsWithNewline = parts[parts.length - 1] === "";
  if (endsWithNewline) parts.pop();
  let crlf = 0;
  const lines = parts.map((part, index): SourceLine => {
    if (index === parts.length - 1 && !endsWithNewline) return { text: part, eol: "" };
    if (part.endsWith("\r")) {
      crlf++;
      return { text: part.slice(0, -1), eol: "\r\n" };
    }
    return { text: part, eol: "\n" };
  });
  const breaks = endsWithNewline ? parts.length : parts.length - 1;
  return { lines, endsWithNewline, dominantEol: crlf * 2 > breaks ? "\r\n" : "\n" };
}

/** Joins lines; every line but the last gets an ending, the last one only when the file should end with a newline. */
export function joinSource(lines: SourceLine[], endsWithNewline: boolean, dominantEol: string): string {
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    const { text, eol } = lines[i];
    const isLast = i === lines.length - 1;
    out += text + (isLast && !endsWithNewline ? "" : eol || dominantEol);
  }
  return out;
}

/** Comparison key that ignores a stray CR (a last line without "\n" keeps its "\r" in the text). */
export function exactKey(text: string): string {
  return text.endsWith("\r") ? text.slice(0, -1) : text;
}

/** Comparison key that ignores all whitespace: indentation, tabs vs spaces, trailing blanks, spacing drift. */
export function looseKey(text: string): string {
  return text.replace(/\s+/g, "");
}
