/** ANSI escape sequences at the byte level, as lines.ts's ANSI expression removes them from strings. */

/**
 * End of the ANSI escape sequence at `at` (b[at] is ESC) the way lines.ts's ANSI expression
 * matches it, or `at` when it matches none (the ESC then stays in the cleaned line).
 */
export function ansiEnd(b: Uint8Array, at: number, end: number): number {
  const next = at + 1 < end ? b[at + 1] : -1;
  if (next === 0x5b /* [ */) {
    let i = at + 2;
    while (i < end && ((b[i] >= 0x30 && b[i] <= 0x39) || b[i] === 0x3b || b[i] === 0x3f)) i += 1;
    while (i < end && b[i] >= 0x20 && b[i] <= 0x2f) i += 1;
    if (i < end && b[i] >= 0x40 && b[i] <= 0x7e) return i + 1;
    return at; // `[` is not a one-character escape either
  }
  if (next === 0x5d /* ] */) {
    for (let i = at + 2; i < end; i += 1) {
      if (b[i] === 0x07) return i + 1;
      if (b[i] === 0x1b) return i + 1 < end && b[i + 1] === 0x5c ? i + 2 : at + 2;
    }
    return at + 2;
  }
  if (next === 0x28 || next === 0x29 || next === 0x2a || next === 0x2b) {
    const c = at + 2 < end ? b[at + 2] : -1;
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return at + 3;
    return at;
  }
  if ((next >= 0x30 && next <= 0x5a) || (next >= 0x5c && next <= 0x7e)) return at + 2;
  return at;
}

/**
 * ansiEnd, with the colour codes CI logs are full of (`ESC [ 1 ; 32 m`) read here and the rest
 * left to ansiEnd: small enough to be inlined into the loops that step over escapes byte by
 * byte, where a call per escape was a good part of the cost of a coloured line.
 */
export function escapeEnd(b: Uint8Array, at: number, end: number): number {
  if (at + 2 < end && b[at + 1] === 0x5b) {
    let i = at + 2;
    let c = b[i];
    while ((c >= 0x30 && c <= 0x39) || c === 0x3b) {
      i += 1;
      if (i === end) return ansiEnd(b, at, end);
      c = b[i];
    }
    if (c === 0x6d) return i + 1;
  }
  return ansiEnd(b, at, end);
}
