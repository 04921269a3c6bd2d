/**
 * The last green run's log as a set of line fingerprints, to drop from a failing
 * log the lines a passing run of the same job printed too (the idea of CiDiff,
 * ISSTA 2025, reduced to what streams: no alignment, only membership).
 *
 * A line is fingerprinted after normalisation, so that what differs between two
 * runs of the same job does not make an old line look new: timestamps and ANSI
 * colours (cleanLine), then every word holding a digit (counters, durations,
 * ports, hex ids and hashes, versions, dates) and every random-looking mixed-case
 * word (temp names like tmp.qBeGnnVmPh) count as one placeholder, and runs of
 * blanks as one. Memory is bounded: 32-bit fingerprints in an open-addressing
 * table of at most MAX_SLOTS entries (16 MB); past that, further lines are not
 * remembered (`saturated`), which only means fewer lines are dropped.
 */
import { cleanLine, readLines, type LogSource } from "./lines.js";

const MIN_SLOTS = 1 << 12;
const MAX_SLOTS = 1 << 22;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const PLACEHOLDER = 35; // "#"
const SPACE = 32;

function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/**
 * Fingerprint of a cleaned line after normalisation (see the module comment).
 * Never 0, so 0 can mark an empty slot.
 */
export function lineFingerprint(line: string): number {
  let h = FNV_OFFSET;
  let pendingSpace = false;
  const n = line.length;
  let i = 0;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      pendingSpace = h !== FNV_OFFSET;
      i += 1;
      continue;
    }
    if (pendingSpace) {
      h = Math.imul(h ^ SPACE, FNV_PRIME);
      pendingSpace = false;
    }
    if (!isWordChar(c)) {
      h = Math.imul(h ^ c, FNV_PRIME);
      i += 1;
      continue;
    }
    const start = i;
    let digits = false;
    let humps = 0; // lower-case letter followed by an upper-case one
    let previousLower = false;
    for (; i < n; i += 1) {
      const w = line.charCodeAt(i);
      if (!isWordChar(w)) break;
      if (w >= 48 && w <= 57) digits = true;
      const upper = w >= 65 && w <= 90;
      if (upper && previousLower) humps += 1;
      previousLower = w >= 97 && w <= 122;
    }
    if (digits || (humps >= 3 && i - start <= 16)) {
      h = Math.imul(h ^ PLACEHOLDER, FNV_PRIME);
    } else {
      for (let k = start; k < i; k += 1) h = Math.imul(h ^ line.charCodeAt(k), FNV_PRIME);
    }
  }
  h >>>= 0;
  return h === 0 ? 1 : h;
}

export class BaselineLines {
  private slots = new Uint32Array(MIN_SLOTS);
  private used = 0;
  /** True when the table hit its bound and later lines were not remembered. */
  saturated = false;
  /** Lines read from the passing log. */
  lines = 0;
  bytesRead = 0;

  /** Reads a passing log (text or stream) once, line by line. */
  static async fromLog(source: LogSource): Promise<BaselineLines> {
    const baseline = new BaselineLines();
    baseline.bytesRead = (await readLines(source, (raw) => baseline.addRaw(raw))).bytes;
    return baseline;
  }

  /** Distinct fingerprints held. */
  get size(): number {
    return this.used;
  }

  /** True when nothing was read: no lines to compare with, so nothing can be dropped. */
  get empty(): boolean {
    return this.used === 0;
  }

  addRaw(raw: string): void {
    this.lines += 1;
    const line = cleanLine(raw);
    if (line.trim() !== "") this.addFingerprint(lineFingerprint(line));
  }

  /** Whether a cleaned line of the failing log also occurs in the passing one. */
  has(line: string): boolean {
    return this.hasFingerprint(lineFingerprint(line));
  }

  /** Same as `has` for a raw log line (timestamps and colours still on). */
  hasRaw(raw: string): boolean {
    return this.has(cleanLine(raw));
  }

  hasFingerprint(fingerprint: number): boolean {
    const mask = this.slots.length - 1;
    for (let at = fingerprint & mask; ; at = (at + 1) & mask) {
      const slot = this.slots[at];
      if (slot === 0) return false;
      if (slot === fingerprint) return true;
    }
  }

  private addFingerprint(fingerprint: number): void {
    if (this.saturated) return;
    const mask = this.slots.length - 1;
    let at = fingerprint & mask;
    for (; ; at = (at + 1) & mask) {
      const slot = this.slots[at];
      if (slot === fingerprint) return;
      if (slot === 0) break;
    }
    if ((this.used + 1) * 2 > this.slots.length) {
      if (this.slots.length >= MAX_SLOTS) {
        this.saturated = true;
        return;
      }
      this.grow();
      this.addFingerprint(fingerprint);
      return;
    }
    this.slots[at] = fingerprint;
    this.used += 1;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    const mask = this.slots.length - 1;
    for (const fingerprint of old) {
      if (fingerprint === 0) continue;
      let at = fingerprint & mask;
      while (this.slots[at] !== 0) at = (at + 1) & mask;
      this.slots[at] = fingerprint;
    }
  }
}
