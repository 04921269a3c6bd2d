/**
 * Line plumbing for CI logs: split a byte or text stream into lines without
 * holding more than one line at a time, and clean a raw line (timestamps,
 * colour codes, carriage-return progress output).
 */
import { isUtf8 } from "node:buffer";
import { StringDecoder } from "node:string_decoder";
import { escapeEnd } from "./ansi.js";

/** Longest line kept; the rest of a longer line (minified bundles, base64 dumps) is dropped. */
export const MAX_LINE_CHARS = 4096;
/** Bytes decoded at a time; the resulting strings stay well below V8's large-object size. */
const DECODE_BYTES = 16 * 1024;

/** Bytes looked at to tell the encoding of a byte stream. */
export const SNIFF_BYTES = 64 * 1024;

export type TextEncoding = "utf8" | "utf16le" | "utf16be" | "latin1";

/**
 * The encoding of a log from its first bytes: a byte-order mark (UTF-8, UTF-16 LE/BE), else
 * UTF-16 by its zero bytes, else UTF-8 when valid, else Latin-1 when it reads as text. `binary`:
 * zero bytes or control characters a text log does not have (decoded as UTF-8 all the same).
 */
export function sniffEncoding(head: Uint8Array): { encoding: TextEncoding; binary: boolean } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: "utf8", binary: false };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: "utf16le", binary: false };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: "utf16be", binary: false };
  const n = Math.min(head.length, SNIFF_BYTES);
  let zeroEven = 0;
  let zeroOdd = 0;
  let control = 0;
  let high = 0;
  for (let i = 0; i < n; i += 1) {
    const b = head[i];
    if (b === 0) {
      if (i % 2 === 0) zeroEven += 1;
      else zeroOdd += 1;
    } else if ((b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 27 && b !== 12 && b !== 8) || b === 127) {
      control += 1;
    } else if (b >= 128) {
      high += 1;
    }
  }
  const pairs = n / 2;
  // ASCII text in UTF-16: every other byte is zero.
  if (pairs >= 2 && zeroOdd > pairs * 0.4 && zeroEven < pairs * 0.05) return { encoding: "utf16le", binary: false };
  if (pairs >= 2 && zeroEven > pairs * 0.4 && zeroOdd < pairs * 0.05) return { encoding: "utf16be", binary: false };
  const binary = zeroEven + zeroOdd > 0 || control > n * 0.02;
  if (high === 0 || binary) return { encoding: "utf8", binary };
  // A multi-byte character may be cut at the end of the sample: leave its bytes out.
  let end = n;
  for (let back = 0; back < 3 && end > 0 && head[end - 1] >= 0x80; back += 1) end -= 1;
  if (end > 0 && head[end - 1] >= 0xc0) end -= 1;
  const sample = head.subarray(0, end);
  return { encoding: isUtf8(sample) ? "utf8" : "latin1", binary: false };
}

/**
 * Splits chunks into lines and hands each to `onLine` as soon as it is complete.
 * Multi-byte characters split across Buffer chunks are decoded correctly. Bytes are
 * decoded in the encoding their first chunk shows (see sniffEncoding).
 */
export class LineSplitter {
  private decoder: StringDecoder | null = null;
  /** UTF-16 BE: the odd byte of the previous chunk, waiting for its pair. */
  private pendingByte = -1;
  /** The first bytes, held until there are enough to tell their encoding. */
  private head: Buffer[] = [];
  private headBytes = 0;
  private carry = "";
  private carryOverflow = false;
  bytes = 0;
  encoding: TextEncoding = "utf8";
  /** True when the first bytes did not look like text. */
  binary = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineChars = MAX_LINE_CHARS,
  ) {}

  push(chunk: string | Uint8Array): void {
    if (typeof chunk === "string") {
      this.bytes += Buffer.byteLength(chunk);
      this.pushText(chunk);
      return;
    }
    this.bytes += chunk.byteLength;
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.decoder === null) {
      // The encoding is told from the first SNIFF_BYTES, however small the first chunks are.
      this.head.push(Buffer.from(bytes));
      this.headBytes += bytes.length;
      if (this.headBytes >= SNIFF_BYTES) this.decideEncoding();
      return;
    }
    this.decode(bytes);
  }

  private decideEncoding(): void {
    const head = Buffer.concat(this.head);
    this.head = [];
    const sniffed = sniffEncoding(head);
    this.encoding = sniffed.encoding;
    this.binary = sniffed.binary;
    this.decoder = new StringDecoder(this.encoding === "utf16be" ? "utf16le" : this.encoding);
    this.decode(head);
  }

  private decode(bytes: Buffer): void {
    const buffer = this.encoding === "utf16be" ? this.swapPairs(bytes) : bytes;
    const decoder = this.decoder as StringDecoder;
    // Decoded in small pieces: a big decoded string lands in V8's large-object space, which only a
    // full collection frees, and the retired chunks of a 50 MB log would pile up there.
    for (let at = 0; at < buffer.length; at += DECODE_BYTES) {
      this.pushText(decoder.write(buffer.subarray(at, Math.min(buffer.length, at + DECODE_BYTES))));
    }
  }

  /** UTF-16 BE as LE: a copy with the bytes of each pair swapped, an odd last byte kept for the next chunk. */
  private swapPairs(chunk: Buffer): Buffer {
    const bytes = this.pendingByte >= 0 ? Buffer.concat([Buffer.of(this.pendingByte), chunk]) : Buffer.from(chunk);
    const even = bytes.length - (bytes.length % 2);
    this.pendingByte = even < bytes.length ? bytes[even] : -1;
    return bytes.subarray(0, even).swap16();
  }

  end(): void {
    if (this.decoder === null && this.headBytes > 0) this.decideEncoding();
    if (this.decoder !== null) this.pushText(this.decoder.end());
    if (this.carry.length > 0 || this.carryOverflow) this.onLine(this.carry);
    this.carry = "";
    this.carryOverflow = false;
  }

  private pushText(text: string): void {
    let start = 0;
    const length = text.length;
    while (start < length) {
      const newline = text.indexOf("\n", start);
      if (newline === -1) {
        this.appendCarry(text, start, length);
        return;
      }
      if (this.carry.length === 0 && !this.carryOverflow) {
        const end = newline - start > this.maxLineChars ? start + this.maxLineChars : newline;
        this.onLine(text.slice(start, end));
      } else {
        this.appendCarry(text, start, newline);
        this.onLine(this.carry);
        this.carry = "";
        this.carryOverflow = false;
      }
      start = newline + 1;
    }
  }

  private appendCarry(text: string, start: number, end: number): void {
    const room = this.maxLineChars - this.carry.length;
    if (room <= 0) {
      this.carryOverflow = true;
      return;
    }
    if (end - start > room) {
      this.carry += text.slice(start, start + room);
      this.carryOverflow = true;
    } else {
      this.carry += text.slice(start, end);
    }
  }
}

export type LogSource = string | Uint8Array | AsyncIterable<string | Buffer | Uint8Array> | NodeJS.ReadableStream;

export interface ReadSummary {
  bytes: number;
  encoding: TextEncoding;
  binary: boolean;
}

/** Feeds a log (text, bytes or a stream) to `onLine` line by line, consuming it once. */
export async function readLines(source: LogSource, onLine: (line: string) => void): Promise<ReadSummary> {
  const splitter = new LineSplitter(onLine);
  if (typeof source === "string" || source instanceof Uint8Array) {
    splitter.push(source);
  } else {
    for await (const chunk of source as AsyncIterable<string | Buffer | Uint8Array>) splitter.push(chunk);
  }
  splitter.end();
  return { bytes: splitter.bytes, encoding: splitter.encoding, binary: splitter.binary };
}

/** `2024-05-01T12:00:00.1234567Z ` (Actions, Gitea) and GitLab's `… 00O+ ` stream prefix after it. */
const TIMESTAMP_PREFIX = /^\uFEFF?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)? ?(?:\d\d[OE]\+? )?/;
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()*+][0-9A-Za-z]|\x1b[0-Z\\-~]/g;
/** GitLab collapsible sections: `section_start:1714564800:step_script[collapsed=true]\r\e[0K`. */
const GITLAB_SECTION = /section_(start|end):\d+:([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\r?(?:\x1b\[0K)?/g;

export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * Length of the `2024-05-01T12:00:00.1234567Z ` prefix (and GitLab's `00O+ ` after it) of raw
 * bytes at `start`, as cleanLine strips it; 0 without one, -1 for a shape only the regular
 * expression of lines.ts decides (a zone offset).
 */
export function timestampBytes(b: Uint8Array, start: number, end: number): number {
  // `2024-05-01T12:00:00`, place by place: this runs for every line, a loop deciding per place
  // between a digit and a separator cost as much as the rest of the line's screening.
  const s = start;
  if (end - s < 20 || !isDigit(b[s]) || !isDigit(b[s + 1]) || !isDigit(b[s + 2]) || !isDigit(b[s + 3]) || b[s + 4] !== 45) return 0;
  if (!isDigit(b[s + 5]) || !isDigit(b[s + 6]) || b[s + 7] !== 45 || !isDigit(b[s + 8]) || !isDigit(b[s + 9]) || b[s + 10] !== 84) return 0;
  if (!isDigit(b[s + 11]) || !isDigit(b[s + 12]) || b[s + 13] !== 58 || !isDigit(b[s + 14]) || !isDigit(b[s + 15]) || b[s + 16] !== 58) return 0;
  if (!isDigit(b[s + 17]) || !isDigit(b[s + 18])) return 0;
  let at = start + 19;
  if (at < end && (b[at] === 46 || b[at] === 44)) {
    at += 1;
    while (at < end && isDigit(b[at])) at += 1;
  }
  if (at < end && b[at] === 90) at += 1;
  else if (at < end && (b[at] === 43 || b[at] === 45)) return -1;
  if (at < end && b[at] === 32) at += 1;
  if (at + 2 < end && isDigit(b[at]) && isDigit(b[at + 1]) && (b[at + 2] === 79 || b[at + 2] === 69)) {
    let next = at + 3;
    if (next < end && b[next] === 43) next += 1;
    if (next < end && b[next] === 32) at = next + 1;
  }
  return at - start;
}

/** Room for one line without its colour codes (textWithoutAnsi). */
const PLAIN_SCRATCH = Buffer.allocUnsafe(MAX_LINE_CHARS);

/**
 * cleanLine(decodeLine(…)) of a line the byte scanner called plain (valid UTF-8, at most
 * MAX_LINE_CHARS bytes, no carriage return or section marker inside, no BOM, no timestamp
 * with a zone offset), done on the bytes: the timestamp skipped, colour codes left out.
 */
export function cleanPlainLine(b: Buffer, start: number, end: number): string {
  const stamp = timestampBytes(b, start, end);
  if (stamp < 0 || end - start > MAX_LINE_CHARS) return cleanLine(decodeLine(b, start, end));
  start += stamp;
  let esc = start;
  while (esc < end && b[esc] !== 27) esc += 1;
  return textWithoutAnsi(b, start, esc, end);
}

/**
 * The text of UTF-8 bytes [start, end) (at most MAX_LINE_CHARS of them) without their ANSI
 * sequences, removed as cleanLine removes them; `esc`: where the first escape byte is (`end`
 * or past it for none).
 */
export function textWithoutAnsi(b: Buffer, start: number, esc: number, end: number): string {
  if (esc >= end) return b.toString("utf8", start, end);
  let n = esc - start;
  b.copy(PLAIN_SCRATCH, 0, start, esc);
  for (let at = esc; at < end; at += 1) {
    if (b[at] === 27) {
      const next = escapeEnd(b, at, end);
      if (next > at) {
        at = next - 1;
        continue;
      }
    }
    PLAIN_SCRATCH[n] = b[at];
    n += 1;
  }
  return PLAIN_SCRATCH.toString("utf8", 0, n);
}

/**
 * Length of the timestamp prefix of a line, 0 if there is none. Hand-written
 * for the common `YYYY-MM-DDTHH:MM:SS.fffffffZ ` shape since it runs on every line;
 * other offsets fall back to the regular expression.
 */
function timestampEnd(line: string): number {
  const at = line.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (line.length < at + 20) return 0;
  for (const k of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (!isDigit(line.charCodeAt(at + k))) return 0;
  if (line.charCodeAt(at + 4) !== 45 || line.charCodeAt(at + 7) !== 45 || line.charCodeAt(at + 10) !== 84) return 0;
  if (line.charCodeAt(at + 13) !== 58 || line.charCodeAt(at + 16) !== 58) return 0;
  let end = at + 19;
  const dot = line.charCodeAt(end);
  if (dot === 46 || dot === 44) {
    end += 1;
    while (isDigit(line.charCodeAt(end))) end += 1;
  }
  const zone = line.charCodeAt(end);
  if (zone === 90 /* Z */) end += 1;
  else if (zone === 43 || zone === 45) return TIMESTAMP_PREFIX.exec(line)?.[0].length ?? 0;
  if (line.charCodeAt(end) === 32) end += 1;
  // GitLab's timestamped traces add a stream marker: `00O ` or `01E+ `.
  if (isDigit(line.charCodeAt(end)) && isDigit(line.charCodeAt(end + 1))) {
    const stream = line.charCodeAt(end + 2);
    if (stream === 79 || stream === 69) {
      let next = end + 3;
      if (line.charCodeAt(next) === 43) next += 1;
      if (line.charCodeAt(next) === 32) end = next + 1;
    }
  }
  return end;
}

export interface SectionEvent {
  type: "start" | "end";
  name: string;
}

/**
 * Removes the timestamp prefix, GitLab section markers (returned in `sections`),
 * ANSI escape sequences, and carriage-return overwrites (only the last visible
 * segment of a progress line is what a terminal would show).
 */
export function cleanLine(raw: string, sections?: SectionEvent[]): string {
  let line = raw;
  const first = line.charCodeAt(0);
  if ((first >= 48 && first <= 57) || first === 0xfeff) {
    const end = timestampEnd(line);
    if (end > 0) line = line.slice(end);
    else if (first === 0xfeff) line = line.slice(1);
  }
  if (line.includes("section_")) {
    line = line.replace(GITLAB_SECTION, (_m, type: string, name: string) => {
      sections?.push({ type: type === "start" ? "start" : "end", name });
      return "";
    });
  }
  if (line.includes("\x1b")) line = line.replace(ANSI, "");
  if (line.endsWith("\r")) line = line.slice(0, -1);
  if (line.includes("\r")) {
    const segments = line.split("\r");
    line = segments.findLast((segment) => segment.trim().length > 0) ?? "";
  }
  return line;
}

/**
 * A copy of `text` that does not keep alive the piece of input it was cut from.
 * V8 keeps substrings as views into their parent string, so a retained line
 * would pin a whole decoded piece; kept that way across collections, those
 * pieces move to the old generation and pile up until a full collection. The
 * concatenation is flattened by `slice` into a line-sized string of its own.
 */
export function detach(text: string): string {
  return text.length < 13 ? text : ` ${text}`.slice(1);
}

/**
 * Fixed-size ring of recent lines, read oldest first. Parallel arrays: no allocation per line.
 * A plain line may be held as a reference to its raw bytes (`pushBytes`) and is decoded and
 * cleaned only when read; `settle` decodes them all so that no input chunk stays pinned.
 */
export class LineRing {
  private readonly texts: string[];
  private readonly seqs: number[];
  private readonly shared: boolean[];
  private readonly raw: (Buffer | null)[];
  private readonly rawStart: Int32Array;
  private readonly rawEnd: Int32Array;
  /** 1: a line held as bytes that is known to be a passing test's (see pushBytes). */
  private readonly passing: Uint8Array;
  private lazy = 0;
  private next = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.texts = new Array<string>(capacity).fill("");
    this.seqs = new Array<number>(capacity).fill(-1);
    this.shared = new Array<boolean>(capacity).fill(false);
    this.raw = new Array<Buffer | null>(capacity).fill(null);
    this.rawStart = new Int32Array(capacity);
    this.rawEnd = new Int32Array(capacity);
    this.passing = new Uint8Array(capacity);
  }

  /**
   * `text`: a string of its own or cut from one line (the analyzer detaches what it is handed);
   * `shared`: the last passing log has this line too (lead-in, never tail).
   */
  push(text: string, seq: number, shared = false): void {
    const at = this.next;
    this.texts[at] = text;
    this.passing[at] = 0;
    if (this.raw[at] !== null) {
      this.raw[at] = null;
      this.lazy -= 1;
    }
    this.advance(at, seq, shared);
  }

  /**
   * A raw log line by reference: bytes [start, end) of `bytes`, valid UTF-8, cleaned when read.
   * `passing`: the caller knows it for a passing test's line (entriesButPassing leaves it out).
   */
  pushBytes(bytes: Buffer, start: number, end: number, seq: number, shared = false, passing = false): void {
    const at = this.next;
    if (this.raw[at] === null) this.lazy += 1;
    this.passing[at] = passing ? 1 : 0;
    this.raw[at] = bytes;
    this.rawStart[at] = start;
    this.rawEnd[at] = end;
    this.advance(at, seq, shared);
  }

  private advance(at: number, seq: number, shared: boolean): void {
    this.seqs[at] = seq;
    this.shared[at] = shared;
    this.next = at + 1 === this.capacity ? 0 : at + 1;
    if (this.size < this.capacity) this.size += 1;
  }

  private text(at: number): string {
    const bytes = this.raw[at];
    if (bytes !== null) {
      this.texts[at] = cleanPlainLine(bytes, this.rawStart[at], this.rawEnd[at]);
      this.raw[at] = null;
      this.lazy -= 1;
    }
    return this.texts[at];
  }

  /** Decodes the lines still held as bytes. */
  settle(): void {
    for (let at = 0; this.lazy > 0 && at < this.capacity; at += 1) this.text(at);
  }

  /** The most recent line, or null. */
  last(): string | null {
    return this.size === 0 ? null : this.text((this.next - 1 + this.capacity) % this.capacity);
  }

  /**
   * `entries`, without the lines still held as bytes that are known to be passing tests' (see
   * pushBytes): those are left out undecoded. For lead-ins, which leave passing lines out.
   */
  entriesButPassing(afterSeq: number): { text: string; seq: number; shared: boolean }[] {
    const out: { text: string; seq: number; shared: boolean }[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i += 1) {
      const at = (start + i) % this.capacity;
      if (this.seqs[at] > afterSeq && (this.raw[at] === null || this.passing[at] === 0)) out.push({ text: this.text(at), seq: this.seqs[at], shared: this.shared[at] });
    }
    return out;
  }

  /** Entries oldest first, only those with a sequence number above `afterSeq`. */
  entries(afterSeq = -1): { text: string; seq: number; shared: boolean }[] {
    const out: { text: string; seq: number; shared: boolean }[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i += 1) {
      const at = (start + i) % this.capacity;
      if (this.seqs[at] > afterSeq) out.push({ text: this.text(at), seq: this.seqs[at], shared: this.shared[at] });
    }
    return out;
  }
}

/** Raw bytes of one line decoded the way LineSplitter hands a line over (cut at MAX_LINE_CHARS). */
export function decodeLine(bytes: Buffer, start: number, end: number): string {
  if (end - start <= MAX_LINE_CHARS) return bytes.toString("utf8", start, end);
  // A character takes at most 3 bytes per UTF-16 unit: this many bytes hold MAX_LINE_CHARS units.
  return bytes.toString("utf8", start, Math.min(end, start + MAX_LINE_CHARS * 3 + 3)).slice(0, MAX_LINE_CHARS);
}
