/**
 * The byte-level front end (src/fix/context/scan.ts) must agree with the string rules it
 * stands in for: on a line it calls plain no error or infra rule fires and the redactor has
 * nothing to look at (unless it is handed over with its text, for the redactor), and its byte
 * fingerprint equals lineFingerprint of the cleaned string. Checked on
 * every fixture log (real CI logs of many tools, see fixtures/logs/SOURCES.md) and on
 * hand-made lines for the corners (colour codes inside words, non-ASCII, timestamps).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ansiEnd, escapeEnd } from "../src/fix/context/ansi.js";
import { buildFailureContext, failingLogHints } from "../src/fix/context/build.js";
import { BaselineLines } from "../src/fix/context/baseline.js";
import { lineFingerprint } from "../src/fix/context/fingerprint.js";
import { cleanLine, decodeLine, readLines } from "../src/fix/context/lines.js";
import { detectInfra, errorScore, isPassingFirst, isPassingLine } from "../src/fix/context/patterns.js";
import { HintAutomaton, NONE, scanLog, SCREENED_ERROR, SCREENED_SECRET, STRONG, WEAK, type ScanSink } from "../src/fix/context/scan.js";
import { anyOfWords, SECRET_HINT_WORDS, SECRET_SHAPES } from "../src/fix/redact.js";
import { randomTexts } from "./random-texts.js";

const SECRET_HINT = anyOfWords(SECRET_HINT_WORDS);
/** What makes the redactor look at a line at all. */
const mayHoldSecret = (text: string) => SECRET_HINT.test(text) || SECRET_SHAPES.test(text);

function logFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return logFiles(path);
    return /\.log(?:\.gz)?$/.test(name) ? [path] : [];
  });
}

const read = (file: string): Buffer => (file.endsWith(".gz") ? gunzipSync(readFileSync(file)) : readFileSync(file));

const hints = failingLogHints();

interface Seen {
  plain: { text: string; first: number; fingerprint: number; secretHint: boolean }[];
  slow: string[];
}

async function scan(bytes: Buffer, chunk = 64 * 1024): Promise<Seen> {
  const seen: Seen = { plain: [], slow: [] };
  const sink: ScanSink = {
    line: (raw) => seen.slow.push(raw),
    plain: (b, start, end, first, fingerprint, text) => {
      const cleaned = cleanLine(decodeLine(b, start, end));
      if (text !== null && text !== cleaned) throw new Error(`scan cleaned ${JSON.stringify(text)}, cleanLine ${JSON.stringify(cleaned)}`);
      seen.plain.push({ text: cleaned, first, fingerprint, secretHint: text !== null });
    },
  };
  async function* chunks() {
    for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
  }
  await scanLog(chunks(), sink, hints, { hints: true, fingerprints: true });
  return seen;
}

const files = logFiles("fixtures/logs");

describe("the byte-level scan", () => {
  it("finds fixture logs to check", () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it("calls plain only lines no rule looks at, and fingerprints them as lineFingerprint does", async () => {
    let plain = 0;
    const wrong: string[] = [];
    for (const file of files) {
      const seen = await scan(read(file), 4093);
      for (const line of seen.plain) {
        const fingerprint = line.secretHint || line.text.trim() === "" ? 0 : lineFingerprint(line.text);
        const hinted = errorScore(line.text) > 0 || detectInfra(line.text) !== null || (!line.secretHint && mayHoldSecret(line.text));
        if (hinted || line.text.includes("Git repository in ") || line.fingerprint !== fingerprint) {
          wrong.push(`${file}: ${JSON.stringify(line.text)}`);
        }
      }
      plain += seen.plain.length;
    }
    expect(wrong).toEqual([]);
    expect(plain).toBeGreaterThan(10_000);
  });

  it("says of every line it hands over cleaned what its screen found: an error word or shape, a secret word or shape", async () => {
    let cleaned = 0;
    const wrong: string[] = [];
    for (const file of files) {
      const sink: ScanSink = {
        line: () => {},
        plain: () => {},
        cleaned: (text, screened) => {
          cleaned += 1;
          if (cleanLine(text) !== text) wrong.push(`${file}: not cleaned ${JSON.stringify(text)}`);
          // Without SCREENED_ERROR no rule may fire; without SCREENED_SECRET the redactor must have nothing to look at.
          if ((screened & SCREENED_ERROR) === 0 && (errorScore(text) > 0 || detectInfra(text) !== null)) wrong.push(`${file}: error ${JSON.stringify(text)}`);
          if ((screened & SCREENED_SECRET) === 0 && mayHoldSecret(text)) wrong.push(`${file}: secret ${JSON.stringify(text)}`);
        },
      };
      const bytes = read(file);
      async function* chunks() {
        for (let at = 0; at < bytes.length; at += 4093) yield bytes.subarray(at, at + 4093);
      }
      await scanLog(chunks(), sink, hints, { hints: true, fingerprints: false });
    }
    expect(wrong).toEqual([]);
    expect(cleaned).toBeGreaterThan(1000);
  });

  it("steps over an escape sequence with escapeEnd exactly where ansiEnd does", () => {
    const cases = ["\x1b[32m", "\x1b[1;32mx", "\x1b[0K", "\x1b[?25l", "\x1b[", "\x1b[3", "\x1b[12;", "\x1b[1 q", "\x1b]0;title\x07", "\x1b(B", "\x1bM", "\x1b", "\x1b[;m", "\x1b[m", "\x1b[38;5;208mx"];
    for (const text of cases) {
      const b = Buffer.from(text, "latin1");
      for (let end = 1; end <= b.length; end += 1) expect(escapeEnd(b, 0, end), `${JSON.stringify(text)} to ${end}`).toBe(ansiEnd(b, 0, end));
    }
    // Random bytes after an escape, from the alphabet sequences are made of.
    const alphabet = Buffer.from("\x1b[]()0123456789;?m K@~ \x07\\a", "latin1");
    let state = 7;
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 16);
    for (let n = 0; n < 20000; n += 1) {
      const b = Buffer.alloc(2 + (random() % 8));
      b[0] = 27;
      for (let i = 1; i < b.length; i += 1) b[i] = alphabet[random() % alphabet.length];
      expect(escapeEnd(b, 0, b.length)).toBe(ansiEnd(b, 0, b.length));
    }
  });

  it("knows a passing test's line by its first character only where the rule does", () => {
    for (const mark of ["✓", "✔", "√"]) {
      expect(isPassingFirst(mark.codePointAt(0) as number)).toBe(true);
      expect(isPassingLine(`  ${mark} adds numbers (3 ms)`)).toBe(true);
      expect(isPassingLine(mark)).toBe(true);
    }
    for (const other of ["✕", "×", "P", "o", "[", "S", "X", "●"]) expect(isPassingFirst(other.codePointAt(0) as number)).toBe(false);
  });

  it("hands over every line once, in order, the same lines LineSplitter finds", async () => {
    for (const file of files.slice(0, 80)) {
      const bytes = read(file);
      const expected: string[] = [];
      await readLines(bytes, (raw) => expected.push(cleanLine(raw)));
      const order: string[] = [];
      const sink: ScanSink = { line: (raw) => order.push(cleanLine(raw)), plain: (b, s, e) => order.push(cleanLine(decodeLine(b, s, e))) };
      async function* chunks() {
        for (let at = 0; at < bytes.length; at += 1000) yield bytes.subarray(at, at + 1000);
      }
      await scanLog(chunks(), sink, hints, { hints: true, fingerprints: false });
      expect(order, file).toEqual(expected);
    }
  });

  it("reads lines ending in carriage returns and lines that only start like an error shape the fast way, with the same outcome", async () => {
    const lines = [
      "Press ENTER or type command to continue\r\r",
      "   \r\r",
      "\r\r",
      "plain words\r",
      "=== RUN   TestParse",
      "=== CONT  TestParse",
      "10:20:42.935 [info] Accepted connection",
      "--- a separator",
      "---- FAIL shape",
      "# a comment",
      "#12 building",
      "Exporting layers",
      "E   AssertionError",
      "12 packages are looking for funding",
      "  3) Suite name",
      "done in 3s",
      "diff --git a/x b/x",
    ];
    const bytes = Buffer.from(lines.join("\n") + "\n");
    const expected: string[] = [];
    await readLines(bytes, (raw) => expected.push(cleanLine(raw)));
    const order: string[] = [];
    await scanLog(bytes, { line: (raw) => order.push(cleanLine(raw)), plain: (b, s, e) => order.push(cleanLine(decodeLine(b, s, e))) }, hints, { hints: true, fingerprints: false });
    expect(order).toEqual(expected);
    const seen = await scan(bytes);
    const plain = seen.plain.map((l) => l.text);
    for (const line of ["Press ENTER or type command to continue", "plain words", "=== RUN   TestParse", "10:20:42.935 [info] Accepted connection", "--- a separator", "# a comment", "Exporting layers", "12 packages are looking for funding", "done in 3s"]) {
      expect(plain, line).toContain(line);
    }
    const slow = seen.slow.map((raw) => cleanLine(raw));
    for (const line of ["=== CONT  TestParse", "---- FAIL shape", "#12 building", "E   AssertionError", "  3) Suite name", "diff --git a/x b/x"]) expect(slow, line).toContain(line);
  });

  it("agrees with the string rules on colour codes inside words, non-ASCII and timestamps", async () => {
    const E = "\x1b";
    const lines = [
      `2024-05-01T12:00:00.1234567Z ${E}[32m✓${E}[39m handles case 3 (12 ms)`,
      `${E}[1mer${E}[0mror in module`, // a hint word split by a colour code
      `  tok${E}[2men${E}[22m here`,
      `${E}[31mAKIAIOSFODNN7EXAMPLEAKIAIOSFODNN7EXAMPLE${E}[0m`,
      `AKIAIOSFODNN7EXAMPLEAKIAIOS${E}[0mFODNN7EXAMPLEXYZ`,
      "naïve café — überall ✓ ✕ 😀 done",
      `tmp.qBeGnnVmPh and ${E}]8;;http://x${E}\\link${E}]8;;${E}\\ text`,
      `${E}[0m${E}[0m`,
      "   \t  ",
      `${E}(Bplain text`,
      `${E}Xweird ${E}[?25l cursor`,
      "2024-05-01T12:00:00+02:00 offset zone",
      "\u00a0 1) numbered after a no-break space",
      "zero\u200bwidth",
      "feature 1240 of 5000 took 4290 ms",
      "GET /api returned HTTP 503",
    ];
    const seen = await scan(Buffer.from(lines.join("\n") + "\n"));
    expect(seen.plain.length + seen.slow.length).toBe(lines.length);
    for (const line of seen.plain.filter((l) => !l.secretHint)) {
      expect(errorScore(line.text) > 0 || detectInfra(line.text) !== null, line.text).toBe(false);
      expect(mayHoldSecret(line.text), line.text).toBe(false);
      expect(line.fingerprint, line.text).toBe(line.text.trim() === "" ? 0 : lineFingerprint(line.text));
    }
    const secretHinted = seen.plain.filter((l) => l.secretHint).map((l) => l.text);
    expect(secretHinted).toContain("  token here");
    expect(secretHinted).toContain("zero\u200bwidth");
    const slow = seen.slow.map((raw) => cleanLine(raw));
    expect(slow).toContain("error in module");
    expect(slow).toContain("GET /api returned HTTP 503");
    expect(seen.plain.map((l) => l.text)).toContain("feature 1240 of 5000 took 4290 ms");
    expect(secretHinted.some((line) => line.includes("AKIAIOSFODNN7EXAMPLEAKIAIOSFODNN7EXAMPLEXYZ"))).toBe(true);
  });

  it("gives the same baseline fingerprints from bytes as from text", async () => {
    for (const file of files.slice(0, 30)) {
      const bytes = read(file);
      const fromBytes = await BaselineLines.fromLog(bytes);
      const fromText = new BaselineLines();
      await readLines(bytes, (raw) => fromText.addRaw(raw));
      expect(fromBytes.size, file).toBe(fromText.size);
      expect(fromBytes.lines, file).toBe(fromText.lines);
      for (const line of bytes.toString("utf8").split("\n").slice(0, 300)) expect(fromBytes.hasRaw(line), file).toBe(fromText.hasRaw(line));
    }
  });

  it("builds the same context from bytes as from the same log as a string", async () => {
    for (const file of files.slice(0, 60)) {
      const bytes = read(file);
      const fromBytes = await buildFailureContext(bytes);
      const fromText = await buildFailureContext(bytes.toString("utf8"));
      expect(fromBytes, file).toEqual(fromText);
    }
  });

  it("drops the same shared lines with a baseline read from bytes as with one read from text", async () => {
    const pairs = files.filter((file) => /fail\.log(?:\.gz)?$/.test(file)).flatMap((file) => {
      const passing = files.find((other) => other === file.replace(/fail\.log/, "pass.log"));
      return passing ? [[file, passing]] : [];
    });
    expect(pairs.length).toBeGreaterThan(5);
    for (const [failing, passing] of pairs.slice(0, 40)) {
      const fromBytes = await buildFailureContext(read(failing), { baseline: await BaselineLines.fromLog(read(passing)) });
      const textBaseline = new BaselineLines();
      await readLines(read(passing).toString("utf8"), (raw) => textBaseline.addRaw(raw));
      const fromText = await buildFailureContext(read(failing).toString("utf8"), { baseline: textBaseline });
      expect(fromBytes, failing).toEqual(fromText);
      expect(fromBytes.sharedLinesDropped, failing).toBeGreaterThan(0);
    }
  });
});

describe("the hint automaton", () => {
  const strongWords = ["err", "fail", "✕", "500", "124"];
  const weakWords = ["pass", "ghp_", "\u200b"];
  const automaton = new HintAutomaton(strongWords, weakWords);
  /** What `screen` answers, the plain way: on the line without colour codes, words ignoring case, numbers whole. */
  function expected(line: string): number {
    const text = cleanLine(line).toLowerCase();
    if (strongWords.some((word) => (/^\d+$/.test(word) ? new RegExp(`(?<!\\d)${word}(?!\\d)`).test(text) : text.includes(word)))) return STRONG;
    if (weakWords.some((word) => text.includes(word)) || /[A-Za-z0-9/+]{40}/.test(cleanLine(line))) return WEAK;
    return NONE;
  }

  it("answers what the words, whole numbers and the bare-secret shape say, colour codes stepped over", () => {
    const pieces = ["5", "0", "0", "1", "2", "4", "e", "r", "R", "f", "a", "i", "L", "p", "s", "S", "g", "h", "_", "x", " ", "/", "+", "Z", "\x1b[31m", "\x1b[0m", "\x1b", "\x1b(B", "✕", "\u200b"];
    for (const line of randomTexts(pieces, { count: 20000, maxLength: 70, seed: 7 })) {
      const bytes = Buffer.from(line);
      expect(automaton.screen(bytes, 0, bytes.length), JSON.stringify(line)).toBe(expected(line));
    }
  });
});

describe("the infra rules' word gate", () => {
  it("lets a refused connection (no rule names it) skip the rules, and still finds every rule's lines", () => {
    expect(detectInfra("    [ERROR] db: connect ECONNREFUSED 127.0.0.1:5432 (attempt 2 of 5, retrying)")).toBeNull();
    expect(detectInfra("npm ERR! network read ECONNRESET")?.kind).toBe("network");
    // The one alternative that names no hint word: the hint words reach it through `econn` only.
    expect(detectInfra("ECONNREFUSED while error pulling image configuration: unexpected EOF")?.kind).toBe("registry");
    expect(detectInfra("error pulling image configuration: unexpected EOF")).toBeNull();
  });
});
