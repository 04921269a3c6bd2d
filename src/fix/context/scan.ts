/**
 * The byte-level front end of the context builder. Most lines of a big CI log
 * are noise no rule looks at (passing tests, download progress, compiler
 * chatter); decoding each into a string and testing it with a dozen regular
 * expressions is what made the builder slow. This reads UTF-8 chunks as bytes,
 * finds line ends with Buffer#indexOf, and for each line decides in one pass of
 * a small automaton (Aho-Corasick over the hint words of patterns.ts and the
 * redactor) whether it can matter. Lines that can are decoded and get the full
 * treatment (`ScanSink.line`); the rest (`ScanSink.plain`) stay bytes: the
 * analyzer counts them and keeps the last few as lazy references for lead-in
 * and tail, decoding only those it shows. For the diff against the last green
 * run, the fingerprint of a line's normalised text is computed from its bytes
 * with the same result as `lineFingerprint` on the cleaned string.
 *
 * Anything unusual goes the slow, exact way: other encodings and binary input
 * (LineSplitter), invalid UTF-8, lines longer than MAX_LINE_CHARS bytes or
 * split over chunks beyond that, carriage-return overwrites, GitLab section
 * markers, a BOM, timestamps with a zone offset.
 */
import { isUtf8 } from "node:buffer";
import { decodeLine, isDigit, LineSplitter, MAX_LINE_CHARS, sniffEncoding, SNIFF_BYTES, textWithoutAnsi, timestampBytes, type LogSource, type ReadSummary, type TextEncoding } from "./lines.js";
import { escapeEnd } from "./ansi.js";
import { fingerprintBytes } from "./fingerprint.js";
import { ahoCorasick } from "../aho-corasick.js";

export interface ScanSink {
  /** A line that needs the full treatment, decoded (timestamps and colours still on). */
  line(raw: string): void;
  /**
   * A line without any hint word, secret shape or error shape: bytes [start, end) of `bytes`,
   * raw. `first` is the code point of its first visible character (after the timestamp, colour
   * codes and blanks; -1 for a blank line); `fingerprint` that of its cleaned text when the scan
   * computes them (0 for a blank line). `text`: the cleaned line, given only when it holds a
   * weak hint (a secret hint word): such a line needs the redactor, and no other rule.
   */
  plain(bytes: Buffer, start: number, end: number, first: number, fingerprint: number, text: string | null): void;
  /**
   * A line for the full treatment, already cleaned (what cleanLine makes of it: no timestamp, no
   * colour codes, no section marker, no carriage return). Without this method such lines come
   * to `line` raw. `screened`: what the scan found in it (SCREENED_ERROR, SCREENED_SECRET bits),
   * so that the sink need not test the line for hint words again.
   */
  cleaned?(text: string, screened: number): void;
}

export interface ScanOptions {
  /** Look for hint words (the failing log); without, every ordinary line is plain (a baseline). */
  hints: boolean;
  /** Compute line fingerprints for `plain`. */
  fingerprints: boolean;
}

// ---- the hint automaton -----------------------------------------------------------------

/**
 * A deterministic Aho-Corasick automaton over bytes, ignoring ASCII case, that
 * ends in the absorbing state HIT as soon as any of its strong words occurs. Rows are
 * stored pre-multiplied by the number of byte classes so a step is one lookup, and
 * ordered so that one comparison per byte tells an ordinary state from one that needs a
 * look: a state where a number word or a weak word ends, HIT, or ESC (the escape byte
 * has a class of its own whose every transition leads there: no separate test per byte).
 */
export class HintAutomaton {
  private readonly classes = new Uint8Array(256);
  /** Per byte: its class, and in bit 8 whether it is a character of the bare-secret shape. */
  private readonly info = new Uint16Array(256);
  /** Strong words that are numbers, by numberKey. */
  private readonly numbers = new Set<number>();
  private readonly table: Int32Array;
  private readonly classCount: number;
  /** Rows from here on are states where a number word ends (they may end a weak word too). */
  private readonly numberFrom: number;
  /** Rows from here on are states where a weak word ends and no number word (HIT, the last, excepted). */
  private readonly weakFrom: number;
  /** Number rows where a weak word ends as well, by row number. */
  private readonly numberRowWeak: Uint8Array;
  private readonly hit: number;
  /** What every row gives for the escape byte. */
  private readonly esc: number;
  /** The weak words alone: whether a line with a strong word holds a weak one too. */
  private readonly weakOnly: HintAutomaton | null;

  /**
   * `strong`: words that make a line need every rule. `weak`: words that only make it need the
   * redactor (the secret hint words); `screen` tells the two apart.
   */
  constructor(
    strong: readonly string[],
    weak: readonly string[] = [],
    /** The anchored error shapes of the rules (patterns.ts), for lines whose first character may start one. */
    readonly hasErrorShape: (line: string) => boolean = () => true,
  ) {
    const encode = (word: string) => Buffer.from(word.toLowerCase(), "utf8");
    // Numbers among the strong words (HTTP statuses, exit codes) count only as numbers of their own:
    // the automaton finds them as text, and a line where it does is screened again the exact way.
    const isNumber = (word: string) => /^\d{1,6}$/.test(word);
    for (const word of strong) if (isNumber(word)) this.numbers.add(numberKey(Number(word), word.length));
    const words = [
      ...strong.map((word) => ({ bytes: encode(word), tier: isNumber(word) ? NUMBER_WORD : STRONG_WORD })),
      ...weak.map((word) => ({ bytes: encode(word), tier: WEAK_WORD })),
    ].filter((w) => w.bytes.length > 0);
    let classCount = 1;
    for (const { bytes } of words) {
      for (const byte of bytes) {
        if (this.classes[byte] !== 0) continue;
        this.classes[byte] = classCount;
        if (byte >= 97 && byte <= 122) this.classes[byte - 32] = classCount;
        classCount += 1;
      }
    }
    const escClass = classCount;
    this.classes[27] = escClass;
    classCount += 1;
    this.classCount = classCount;
    const { states, delta, marks: tiers } = ahoCorasick(
      words.map((word) => ({ classes: Array.from(word.bytes, (byte) => this.classes[byte]), marks: word.tier })),
      classCount,
    );
    // Rows pre-multiplied by the class count: states without a word first, then those where a
    // number word ends, then those where only a weak word ends, then the absorbing HIT row
    // for every strong word. ESC leads past them all.
    const group = (tier: number) => ((tier & STRONG_WORD) !== 0 ? 3 : (tier & NUMBER_WORD) !== 0 ? 1 : (tier & WEAK_WORD) !== 0 ? 2 : 0);
    const index = new Int32Array(states);
    const starts = [0, 0, 0];
    let rows = 0;
    for (let g = 0; g < 3; g += 1) {
      starts[g] = rows;
      for (let s = 0; s < states; s += 1) if (group(tiers[s]) === g) index[s] = rows++;
    }
    this.numberFrom = starts[1] * classCount;
    this.weakFrom = starts[2] * classCount;
    this.numberRowWeak = new Uint8Array(rows);
    this.hit = rows * classCount;
    this.esc = this.hit + classCount;
    this.table = new Int32Array((rows + 1) * classCount).fill(this.hit);
    for (let s = 0; s < states; s += 1) {
      if (group(tiers[s]) === 3) continue;
      if (group(tiers[s]) === 1 && (tiers[s] & WEAK_WORD) !== 0) this.numberRowWeak[index[s]] = 1;
      for (let c = 0; c < classCount; c += 1) {
        const next = delta[s * classCount + c];
        this.table[index[s] * classCount + c] = group(tiers[next]) === 3 ? this.hit : index[next] * classCount;
      }
      this.table[index[s] * classCount + escClass] = this.esc;
    }
    for (let c = 0; c < 256; c += 1) this.info[c] = this.classes[c] | (RUN_CHAR[c] << 8);
    this.weakOnly = strong.length > 0 ? new HintAutomaton([], weak) : null;
  }

  /** Whether raw bytes [start, end) hold a weak word or the bare-secret shape (ANSI sequences stepped over). */
  hasWeak(bytes: Uint8Array, start: number, end: number): boolean {
    return (this.weakOnly ?? this).screen(bytes, start, end) !== NONE;
  }

  /**
   * What the text raw bytes [start, end) hold once their ANSI sequences are removed: STRONG for
   * a strong word (a number among them only as a whole number: `500`, not `1500`), else WEAK for a weak word or a run of 40 characters of [A-Za-z0-9/+] (the
   * redactor's bare-secret shape), else NONE. One pass; an escape sequence is stepped over as
   * if it were not there. A line where a number word occurs as text is screened again by
   * screenExact, which tells whole numbers apart.
   */
  screen(bytes: Uint8Array, start: number, end: number): number {
    const table = this.table;
    const info = this.info;
    const special = this.numberFrom;
    const weakFrom = this.weakFrom;
    const hit = this.hit;
    let state = 0;
    // The last byte that breaks a run of the bare-secret shape, shifted past the escape sequences
    // after it (they are not there for the run either): the run is measured at its end, not
    // counted byte by byte, which took a good part of the loop.
    let lastBreak = start - 1;
    let found = NONE;
    for (let i = start; i < end; i += 1) {
      const k = info[bytes[i]];
      const next = table[state + (k & 0xff)];
      if (next >= special) {
        if (next >= hit) {
          if (next === hit) return STRONG;
          // The escape byte: its sequence is stepped over; a lone ESC is an ordinary character.
          const after = escapeEnd(bytes, i, end);
          if (after > i) {
            lastBreak += after - i;
            i = after - 1;
            continue;
          }
          state = table[state];
          if (i - lastBreak > RUN) found = WEAK;
          lastBreak = i;
          continue;
        }
        if (next < weakFrom) return this.screenExact(bytes, start, end);
        found = WEAK;
      }
      state = next;
      if (k < 0x100) {
        if (i - lastBreak > RUN) found = WEAK;
        lastBreak = i;
      }
    }
    if (end - lastBreak > RUN) found = WEAK;
    return found;
  }

  /** `screen`, with number words counted only as whole numbers (digits tracked byte by byte). */
  private screenExact(bytes: Uint8Array, start: number, end: number): number {
    const table = this.table;
    const info = this.info;
    const special = this.numberFrom;
    const weakFrom = this.weakFrom;
    const hit = this.hit;
    const numbers = this.numbers;
    let state = 0;
    let run = 0;
    let found = NONE;
    let number = 0;
    let digits = 0;
    for (let i = start; i < end; i += 1) {
      const c = bytes[i];
      if (c === 27) {
        const next = escapeEnd(bytes, i, end);
        if (next > i) {
          i = next - 1;
          continue;
        }
      }
      const k = c === 27 ? 0 : info[c];
      state = table[state + (k & 0xff)];
      if (state >= special) {
        if (state === hit) return STRONG;
        if (state >= weakFrom || this.numberRowWeak[state / this.classCount] === 1) found = WEAK;
      }
      run = (run + 1) * (k >>> 8);
      if (run >= RUN) found = WEAK;
      if (isDigit(c)) {
        number = number * 10 + (c - 48);
        digits += 1;
      } else if (digits > 0) {
        if (digits <= 6 && numbers.has(numberKey(number, digits))) return STRONG;
        number = 0;
        digits = 0;
      }
    }
    if (digits > 0 && digits <= 6 && numbers.has(numberKey(number, digits))) return STRONG;
    return found;
  }
}

const WEAK_WORD = 1;
const NUMBER_WORD = 2;
const STRONG_WORD = 4;

function numberKey(value: number, digits: number): number {
  return digits * 10_000_000 + value;
}

export const NONE = 0;
export const WEAK = 1;
export const STRONG = 2;

/**
 * What the scan knows of a line it hands over cleaned: SCREENED_ERROR, it holds a strong hint word
 * or an error shape (without, no error or infra rule can match it: mayMatter would say no);
 * SCREENED_SECRET, it holds a secret hint word or shape (without, the redactor has nothing to do
 * unless inside a key block).
 */
export const SCREENED_ERROR = 1;
export const SCREENED_SECRET = 2;

// ---- line shapes ------------------------------------------------------------------------

/**
 * Whether the first word of a line (from `at`, its first visible character, to the next blank)
 * holds `:` and a digit, colour codes stepped over: what the `path:line` shapes of patterns.ts
 * (`src/a.ts:3`, `x.go:3:5: `, `  12:5  error`) need at the start of a line.
 */
function firstTokenHasLocation(b: Uint8Array, at: number, end: number): boolean {
  let colon = false;
  for (let i = at; i < end; i += 1) {
    const c = b[i];
    if (c === 32 || c === 9) return false;
    if (c === 27) {
      const next = escapeEnd(b, i, end);
      if (next > i) {
        i = next - 1;
        continue;
      }
    }
    if (colon && isDigit(c)) return true;
    colon = c === 58;
  }
  return false;
}

/** Code point of the UTF-8 sequence at `at` (valid UTF-8 assumed). */
function codePointAt(b: Uint8Array, at: number): number {
  const lead = b[at];
  if (lead < 0x80) return lead;
  if (lead < 0xe0) return ((lead & 0x1f) << 6) | (b[at + 1] & 0x3f);
  if (lead < 0xf0) return ((lead & 0x0f) << 12) | ((b[at + 1] & 0x3f) << 6) | (b[at + 2] & 0x3f);
  return ((lead & 0x07) << 18) | ((b[at + 1] & 0x3f) << 12) | ((b[at + 2] & 0x3f) << 6) | (b[at + 3] & 0x3f);
}

/** What JavaScript's `\s` matches beyond ASCII blanks. */
function isUnicodeSpace(cp: number): boolean {
  return cp === 0xa0 || cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000 || cp === 0xfeff;
}

/** Characters of the redactor's bare-secret shape, [A-Za-z0-9/+]; a run of RUN of them makes a line matter. */
const RUN_CHAR = new Uint8Array(256);
for (let c = 0; c < 256; c += 1) {
  RUN_CHAR[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47 ? 1 : 0;
}
const RUN = 40;

// ---- the scanner ------------------------------------------------------------------------

/** Bytes of a line kept while it is split over chunks: enough for MAX_LINE_CHARS characters. */
const CARRY_BYTES = MAX_LINE_CHARS * 3 + 3;

const SECTION = Buffer.from("section_");

/**
 * Reads a log and hands each line to `sink`, plain lines as bytes (see the module comment).
 * Returns what LineSplitter would report.
 */
export async function scanLog(source: LogSource, sink: ScanSink, hints: HintAutomaton | null, options: ScanOptions): Promise<ReadSummary> {
  const scanner = new ByteScanner(sink, hints, options);
  if (typeof source === "string") {
    scanner.fallbackText(source);
  } else if (source instanceof Uint8Array) {
    scanner.push(source);
  } else {
    for await (const chunk of source as AsyncIterable<string | Buffer | Uint8Array>) {
      if (typeof chunk === "string") scanner.fallbackText(chunk);
      else scanner.push(chunk);
    }
  }
  scanner.end();
  return scanner.summary();
}

class ByteScanner {
  private head: Buffer[] = [];
  private headBytes = 0;
  /** Set once the encoding is known and is not plain UTF-8 text, or a string chunk came: the exact, slow way. */
  private splitter: LineSplitter | null = null;
  private decided = false;
  private encoding: TextEncoding = "utf8";
  private binary = false;
  private bytes = 0;
  /** Bytes of a line begun in an earlier chunk (at most CARRY_BYTES of them). */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private carryOverflow = false;
  /** The chunk nextEscape last searched, and the escape byte it found there. */
  private escapeIn: Buffer | null = null;
  private escapeAt = -1;

  constructor(
    private readonly sink: ScanSink,
    private readonly hints: HintAutomaton | null,
    private readonly options: ScanOptions,
  ) {}

  summary(): ReadSummary {
    const splitter = this.splitter;
    if (splitter !== null) return { bytes: splitter.bytes, encoding: splitter.encoding, binary: splitter.binary };
    return { bytes: this.bytes, encoding: this.encoding, binary: this.binary };
  }

  /** A text chunk: no bytes to scan, LineSplitter takes over from here. */
  fallbackText(text: string): void {
    this.toSplitter().push(text);
  }

  private toSplitter(): LineSplitter {
    if (this.splitter === null) {
      const splitter = new LineSplitter((line) => this.sink.line(line));
      const pending = this.pendingBytes();
      this.splitter = splitter;
      splitter.bytes = this.bytes - pending.length;
      if (pending.length > 0) splitter.push(pending);
    }
    return this.splitter;
  }

  /** Bytes received but not yet handed to a sink: the undecided head, or the carried line. */
  private pendingBytes(): Buffer {
    if (!this.decided) {
      const head = this.head.length === 1 ? this.head[0] : Buffer.concat(this.head);
      this.head = [];
      this.headBytes = 0;
      this.decided = true;
      return head;
    }
    const carry = Buffer.concat(this.carry);
    this.carry = [];
    this.carryBytes = 0;
    return carry;
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.splitter !== null) {
      this.splitter.push(bytes);
      return;
    }
    if (!this.decided) {
      // A first chunk big enough to tell the encoding (a whole log handed over as bytes) is read in place.
      if (this.headBytes === 0 && bytes.length >= SNIFF_BYTES) {
        this.decide(bytes);
        return;
      }
      this.head.push(Buffer.from(bytes));
      this.headBytes += bytes.length;
      if (this.headBytes >= SNIFF_BYTES) this.decide(Buffer.concat(this.head));
      return;
    }
    this.scan(bytes);
  }

  /** `head`: every byte received so far. */
  private decide(head: Buffer): void {
    const sniffed = sniffEncoding(head);
    this.encoding = sniffed.encoding;
    this.binary = sniffed.binary;
    if (sniffed.encoding !== "utf8" || sniffed.binary) {
      this.head = [head];
      this.toSplitter();
      return;
    }
    this.head = [];
    this.headBytes = 0;
    this.decided = true;
    this.scan(head);
  }

  end(): void {
    if (!this.decided && this.splitter === null) this.decide(Buffer.concat(this.head));
    if (this.splitter !== null) {
      this.splitter.end();
      return;
    }
    if (this.carryBytes > 0 || this.carryOverflow) this.carriedLine(null, 0, 0);
  }

  private scan(chunk: Buffer): void {
    let start = 0;
    const length = chunk.length;
    let newline = chunk.indexOf(10);
    if (this.carryBytes > 0 || this.carryOverflow) {
      if (newline < 0) {
        this.keep(chunk, 0, length);
        return;
      }
      this.carriedLine(chunk, 0, newline);
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (newline < 0) {
      this.keep(chunk, start, length);
      return;
    }
    // The part holding whole lines; its validity as UTF-8 is checked once.
    let last = chunk.lastIndexOf(10);
    const valid = isUtf8(chunk.subarray(start, last));
    let nextCr = chunk.indexOf(13, start);
    let nextSection = chunk.indexOf(SECTION, start);
    if (nextCr < 0) nextCr = length;
    if (nextSection < 0) nextSection = length;
    while (newline >= 0) {
      let end = newline;
      let crs = 0;
      if (nextCr < end) {
        // Carriage returns only at the end (`\r\n`, Travis CI's `\r\r\n`): the line ends before them.
        crs = end - nextCr;
        for (let at = nextCr + 1; at < end && crs > 0; at += 1) if (chunk[at] !== 13) crs = 0;
        if (crs > 0) end = nextCr;
        else {
          this.slow(chunk, start, newline);
          nextCr = chunk.indexOf(13, newline);
          if (nextCr < 0) nextCr = length;
          if (nextSection < newline) nextSection = after(chunk, SECTION, newline);
          start = newline + 1;
          newline = chunk.indexOf(10, start);
          continue;
        }
        nextCr = after(chunk, 13, newline);
      }
      if (!valid || nextSection < newline || end - start > MAX_LINE_CHARS) {
        if (nextSection < newline) nextSection = after(chunk, SECTION, newline);
        this.slow(chunk, start, newline);
      } else {
        this.line(chunk, start, end, newline);
      }
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    last = start;
    if (last < length) this.keep(chunk, last, length);
  }

  /** Holds the start of a line that goes on in the next chunk. */
  private keep(chunk: Buffer, start: number, end: number): void {
    const room = CARRY_BYTES - this.carryBytes;
    if (end - start > room) {
      this.carryOverflow = true;
      end = start + Math.max(0, room);
    }
    if (end > start) {
      this.carry.push(Buffer.from(chunk.subarray(start, end)));
      this.carryBytes += end - start;
    }
  }

  /** A line begun in earlier chunks, ending at `end` of `chunk` (or at the end of the input). */
  private carriedLine(chunk: Buffer | null, start: number, end: number): void {
    if (chunk !== null) this.keep(chunk, start, end);
    const bytes = Buffer.concat(this.carry);
    const overflow = this.carryOverflow;
    this.carry = [];
    this.carryBytes = 0;
    this.carryOverflow = false;
    if (overflow || !isUtf8(bytes)) {
      this.sink.line(decodeLine(bytes, 0, bytes.length));
      return;
    }
    let lineEnd = bytes.length;
    const cr = bytes.indexOf(13);
    if (cr >= 0 && cr < lineEnd - 1) {
      this.slow(bytes, 0, lineEnd);
      return;
    }
    if (cr === lineEnd - 1) lineEnd -= 1;
    if (lineEnd > MAX_LINE_CHARS || bytes.indexOf(SECTION) >= 0) this.slow(bytes, 0, bytes.length);
    else this.line(bytes, 0, lineEnd);
  }

  /** cleanLine of a line past its timestamp (no carriage return, no section marker inside): its text without ANSI sequences. */
  private cleanText(b: Buffer, start: number, end: number): string {
    return textWithoutAnsi(b, start, this.nextEscape(b, start), end);
  }

  /**
   * Where the next escape byte at or after `start` is (`b.length` if none). Searched once per
   * stretch of a chunk: a search per line would read on to the chunk's end for every line of a
   * log without colours.
   */
  private nextEscape(b: Buffer, start: number): number {
    if (this.escapeIn !== b || this.escapeAt < start) {
      this.escapeIn = b;
      this.escapeAt = after(b, 27, start);
    }
    return this.escapeAt;
  }

  /**
   * A line of `line` for the full treatment: its cleaned text (the same as cleanLine's) when the
   * sink takes it. `textStart`: where the text begins in `bytes` (past the timestamp).
   */
  private full(text: string, bytes: Buffer, start: number, textStart: number, end: number, rawEnd: number): void {
    if (this.sink.cleaned === undefined) return this.slow(bytes, start, rawEnd);
    const secret = (this.hints as HintAutomaton).hasWeak(bytes, textStart, end) ? SCREENED_SECRET : 0;
    this.sink.cleaned(text, SCREENED_ERROR | secret);
  }

  private slow(bytes: Buffer, start: number, end: number): void {
    this.sink.line(decodeLine(bytes, start, end));
  }

  /**
   * One whole line [start, end) without its line end, valid UTF-8, no carriage return inside, no
   * section marker, at most MAX_LINE_CHARS bytes. `rawEnd`: its end before carriage returns were cut
   * from it (the exact way gets them all: with more than one, cleanLine makes a blank line empty).
   */
  private line(b: Buffer, start: number, end: number, rawEnd = end): void {
    const rawStart = start;
    const first0 = b[start];
    // Raw lines starting with `t` may be Travis markers; a BOM is the first line's.
    if (first0 === 116 || first0 === 0xef) return this.slow(b, rawStart, rawEnd);
    const stamp = timestampBytes(b, start, end);
    if (stamp < 0) return this.slow(b, rawStart, rawEnd);
    start += stamp;
    // The first visible character, past colour codes and blanks (what `^\s*` of the rules sees).
    let at = start;
    let leading = true;
    let firstCp = -1;
    while (at < end) {
      const c = b[at];
      if (c === 27) {
        const next = escapeEnd(b, at, end);
        if (next === at) {
          firstCp = 27;
          break;
        }
        at = next;
        continue;
      }
      if (c === 32 || (c >= 9 && c <= 13)) {
        leading = false;
        at += 1;
        continue;
      }
      firstCp = codePointAt(b, at);
      if (c >= 0x80 && isUnicodeSpace(firstCp)) return this.slow(b, rawStart, rawEnd);
      break;
    }
    if (firstCp === -1 && rawEnd - end > 1) return this.slow(b, rawStart, rawEnd);
    if (this.hints !== null) {
      // Error shapes of patterns.ts anchored at the line start (`E `, `___`, `e: `, `----`, `#1 `, `===`,
      // `1) `, `diff --git `, `** (`, `  3:5 `, `a.go:3:`) can only start with one of these characters, or
      // a first word with `:` and a digit: only then is the line decoded and the shapes tested
      // (the hints' hasErrorShape; without one, such a line takes the full way).
      let text: string | null = null;
      if (isDigit(firstCp) || (leading && (firstCp === 69 || firstCp === 95 || firstCp === 101 || firstCp === 45 || firstCp === 35 || firstCp === 61 || firstCp === 100 || firstCp === 42)) || firstTokenHasLocation(b, at, end)) {
        text = this.cleanText(b, start, end);
        if (this.hints.hasErrorShape(text)) return this.full(text, b, rawStart, start, end, rawEnd);
      }
      const found = this.hints.screen(b, start, end);
      if (found === STRONG) return this.full(text ?? this.cleanText(b, start, end), b, rawStart, start, end, rawEnd);
      if (found === WEAK) return this.sink.plain(b, rawStart, end, firstCp, 0, text ?? this.cleanText(b, start, end));
    }
    const fingerprint = this.options.fingerprints && firstCp >= 0 ? fingerprintBytes(b, start, end) : 0;
    this.sink.plain(b, rawStart, end, firstCp, fingerprint, null);
  }
}

function after(chunk: Buffer, what: number | Buffer, from: number): number {
  const at = chunk.indexOf(what, from);
  return at < 0 ? chunk.length : at;
}

