/**
 * Fingerprints of log lines after normalisation, for the diff against the last
 * green run (see baseline.ts): of a cleaned string (`lineFingerprint`) and of the
 * bytes of an already cleaned line (`fingerprintBytes`, the scanner's way), with
 * the same value for the same text. Every word holding a digit (counters,
 * durations, ports, hex ids and hashes, versions, dates) and every random-looking
 * mixed-case word (temp names like tmp.qBeGnnVmPh) counts as one placeholder, runs
 * of blanks as one blank, leading and trailing blanks as nothing. Characters
 * beyond ASCII are hashed as their UTF-8 bytes. FNV-1a, 32 bits; 0 means a blank line.
 */
import { escapeEnd } from "./ansi.js";

const FINGERPRINT_OFFSET = 0x811c9dc5;
const FINGERPRINT_PRIME = 0x01000193;
const PLACEHOLDER = 35; // "#"

/** camelCase humps of a random-looking name: `qBeGnnVmPh`. */
function randomLooking(humps: number, length: number): boolean {
  return humps >= 3 && length <= 16;
}

const WORD = new Uint8Array(256);
for (let c = 0; c < 256; c += 1) {
  // 1: word character, 2: digit, 3: upper case, 4: lower case
  WORD[c] = c >= 48 && c <= 57 ? 2 : c >= 65 && c <= 90 ? 3 : c >= 97 && c <= 122 ? 4 : c === 95 ? 1 : 0;
}

/**
 * lineFingerprint of the text raw bytes [start, end) hold once their ANSI sequences are removed
 * (the timestamp already skipped, no carriage return inside, valid UTF-8): an escape sequence is
 * stepped over where it stands, even inside a word. 0 for a blank line.
 */
export function fingerprintBytes(b: Uint8Array, start: number, end: number): number {
  let h = FINGERPRINT_OFFSET;
  let pendingSpace = false;
  let any = false;
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c === 32 || c === 9) {
      pendingSpace = any;
      i += 1;
      continue;
    }
    if (c === 27) {
      const next = escapeEnd(b, i, end);
      if (next > i) {
        i = next;
        continue;
      }
    }
    if (pendingSpace) {
      h = Math.imul(h ^ 32, FINGERPRINT_PRIME);
      pendingSpace = false;
    }
    any = true;
    const kind = WORD[c];
    if (kind === 0) {
      h = Math.imul(h ^ c, FINGERPRINT_PRIME);
      i += 1;
      continue;
    }
    let length = 0;
    let digits = false;
    let humps = 0;
    let previousLower = false;
    let word = h;
    for (; i < end; i += 1) {
      const w = WORD[b[i]];
      if (w === 0) {
        if (b[i] === 27) {
          const next = escapeEnd(b, i, end);
          if (next > i) {
            i = next - 1;
            continue;
          }
        }
        break;
      }
      if (w === 2) digits = true;
      else if (w === 3 && previousLower) humps += 1;
      previousLower = w === 4;
      length += 1;
      word = Math.imul(word ^ b[i], FINGERPRINT_PRIME);
    }
    h = digits || randomLooking(humps, length) ? Math.imul(h ^ PLACEHOLDER, FINGERPRINT_PRIME) : word;
  }
  if (!any) return 0;
  h >>>= 0;
  return h === 0 ? 1 : h;
}


/** The same fingerprint for a cleaned line as a string. */
export function lineFingerprint(line: string): number {
  let h = FINGERPRINT_OFFSET;
  let pendingSpace = false;
  let any = false;
  const n = line.length;
  let i = 0;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      pendingSpace = any;
      i += 1;
      continue;
    }
    if (pendingSpace) {
      h = Math.imul(h ^ 32, FINGERPRINT_PRIME);
      pendingSpace = false;
    }
    any = true;
    if (c >= 0x80) {
      const cp = line.codePointAt(i) as number;
      h = hashUtf8(h, cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    if (WORD[c] === 0) {
      h = Math.imul(h ^ c, FINGERPRINT_PRIME);
      i += 1;
      continue;
    }
    const wordStart = i;
    let digits = false;
    let humps = 0;
    let previousLower = false;
    let word = h;
    for (; i < n; i += 1) {
      const code = line.charCodeAt(i);
      const w = code < 0x80 ? WORD[code] : 0;
      if (w === 0) break;
      if (w === 2) digits = true;
      else if (w === 3 && previousLower) humps += 1;
      previousLower = w === 4;
      word = Math.imul(word ^ code, FINGERPRINT_PRIME);
    }
    h = digits || randomLooking(humps, i - wordStart) ? Math.imul(h ^ PLACEHOLDER, FINGERPRINT_PRIME) : word;
  }
  if (!any) return 0;
  h >>>= 0;
  return h === 0 ? 1 : h;
}

function hashUtf8(h: number, cp: number): number {
  if (cp < 0x800) {
    h = Math.imul(h ^ (0xc0 | (cp >> 6)), FINGERPRINT_PRIME);
  } else if (cp < 0x10000) {
    h = Math.imul(h ^ (0xe0 | (cp >> 12)), FINGERPRINT_PRIME);
    h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), FINGERPRINT_PRIME);
  } else {
    h = Math.imul(h ^ (0xf0 | (cp >> 18)), FINGERPRINT_PRIME);
    h = Math.imul(h ^ (0x80 | ((cp >> 12) & 0x3f)), FINGERPRINT_PRIME);
    h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), FINGERPRINT_PRIME);
  }
  return Math.imul(h ^ (0x80 | (cp & 0x3f)), FINGERPRINT_PRIME);
}
