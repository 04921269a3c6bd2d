/**
 * The last green run's log as a set of line fingerprints, to drop from a failing
 * log the lines a passing run of the same job printed too (the idea of CiDiff,
 * ISSTA 2025, reduced to what streams: no alignment, only membership).
 *
 * A line is fingerprinted after normalisation, so that what differs between two
 * runs of the same job does not make an old line look new: timestamps and ANSI
 * colours (cleanLine), then counters, ids and temp names (fingerprint.ts). The
 * log is read as bytes (scan.ts): most lines are fingerprinted without ever
 * becoming a string. Memory is bounded: 32-bit fingerprints in an open-addressing
 * table of at most MAX_SLOTS entries (16 MB); past that, further lines are not
 * remembered (`saturated`), which only means fewer lines are dropped.
 */
import { lineFingerprint } from "./fingerprint.js";
import { cleanLine, type LogSource } from "./lines.js";
import { scanLog } from "./scan.js";

export { lineFingerprint };

const MIN_SLOTS = 1 << 12;
const MAX_SLOTS = 1 << 22;

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
    const sink = {
      line: (raw: string) => baseline.addRaw(raw),
      plain: (_bytes: Buffer, _start: number, _end: number, _first: number, fingerprint: number) => {
        baseline.lines += 1;
        if (fingerprint !== 0) baseline.addFingerprint(fingerprint);
      },
    };
    baseline.bytesRead = (await scanLog(source, sink, null, { hints: false, fingerprints: true })).bytes;
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
    if (fingerprint === 0) return false;
    const mask = this.slots.length - 1;
    for (let at = fingerprint & mask; ; at = (at + 1) & mask) {
      const slot = this.slots[at];
      if (slot === 0) return false;
      if (slot === fingerprint) return true;
    }
  }

  addFingerprint(fingerprint: number): void {
    if (this.saturated || fingerprint === 0) return;
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
