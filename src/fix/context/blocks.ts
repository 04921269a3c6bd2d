/**
 * Error excerpts ("blocks"): a trigger line with the lines around it, kept in
 * bounded memory while a log streams by, then fitted into a character budget.
 */

/** Lines kept of one excerpt before its middle is dropped. */
const BLOCK_HEAD_LINES = 50;
const BLOCK_TAIL_LINES = 30;
/** Longest line shown in an excerpt. */
export const MAX_EXCERPT_LINE_CHARS = 400;
const OMITTED = (n: number) => `… ${n} line${n === 1 ? "" : "s"} omitted …`;
export const GAP = "…";

export interface BlockLine {
  text: string;
  /** How many more times this exact line occurred (consecutive repeats, or the same error seen again later). */
  repeats: number;
  /** Error score of the line when it is a trigger, else 0. */
  score: number;
}

export class Block {
  readonly head: BlockLine[] = [];
  private tail: BlockLine[] = [];
  /**
   * Lines before the lead-in, oldest first: shown only when the budget has room left
   * after every excerpt and the step's tail (they set the scene: the command, its first output).
   */
  earlier: { text: string; seq: number }[] = [];
  omitted = 0;
  score = 0;
  chars = 0;
  startSeq: number;
  endSeq: number;

  constructor(
    readonly order: number,
    seq: number,
  ) {
    this.startSeq = seq;
    this.endSeq = seq;
  }

  get lastLine(): BlockLine | undefined {
    return this.tail.length > 0 ? this.tail[this.tail.length - 1] : this.head[this.head.length - 1];
  }

  /**
   * Adds a line (kept as it is: the analyzer hands over strings that pin no larger text); returns
   * the entry it landed in (an earlier identical neighbour absorbs repeats).
   */
  add(text: string, seq: number, score: number): BlockLine {
    this.endSeq = seq;
    if (score > this.score) this.score = score;
    const last = this.lastLine;
    if (last && last.text === text) {
      last.repeats += 1;
      if (score > last.score) last.score = score;
      return last;
    }
    const entry: BlockLine = { text, repeats: 0, score };
    this.chars += text.length + 1;
    if (this.head.length < BLOCK_HEAD_LINES) {
      this.head.push(entry);
    } else {
      this.tail.push(entry);
      if (this.tail.length > BLOCK_TAIL_LINES) {
        const dropped = this.tail.shift() as BlockLine;
        this.chars -= dropped.text.length + 1;
        this.omitted += 1;
      }
    }
    return entry;
  }

  lines(): BlockLine[] {
    return this.tail.length > 0 ? [...this.head, ...this.tail] : this.head;
  }

  /** Head lines, an omission marker when the middle was dropped, tail lines. */
  entries(): (BlockLine | { omitted: number })[] {
    if (this.tail.length === 0) return this.head;
    return this.omitted > 0 ? [...this.head, { omitted: this.omitted }, ...this.tail] : [...this.head, ...this.tail];
  }
}

/**
 * The excerpts of one step, bounded in characters. When full, the least useful
 * closed excerpt goes: lowest score first, and among equals the newest but the
 * very latest (the first errors are often the cause, the last the summary).
 */
export class BlockStore {
  readonly blocks: Block[] = [];
  private chars = 0;
  evicted = 0;
  /** Highest score among evicted excerpts (0 when none): tells whether anything relevant was lost. */
  evictedTopScore = 0;
  private nextOrder = 0;

  constructor(readonly capacityChars: number) {}

  open(seq: number): Block {
    const block = new Block(this.nextOrder++, seq);
    this.blocks.push(block);
    return block;
  }

  /** Call after lines were added to `open`, with its size before them, to enforce the bound. */
  account(open: Block | null, delta: number): void {
    this.chars += delta;
    while (this.chars > this.capacityChars && this.blocks.length > 1) {
      const victim = this.pickVictim(open);
      if (victim < 0) break;
      this.chars -= this.blocks[victim].chars;
      this.evictedTopScore = Math.max(this.evictedTopScore, this.blocks[victim].score);
      this.blocks.splice(victim, 1);
      this.evicted += 1;
    }
  }

  private pickVictim(open: Block | null): number {
    let best = -1;
    const last = this.blocks.length - 1;
    for (let i = 0; i < this.blocks.length; i += 1) {
      const block = this.blocks[i];
      if (block === open) continue;
      if (i === last && this.blocks.length > 2) continue;
      if (best < 0) {
        best = i;
        continue;
      }
      const current = this.blocks[best];
      if (block.score < current.score || (block.score === current.score && i > best && i !== 0)) best = i;
    }
    return best;
  }
}

export interface Excerpt {
  lines: string[];
  /** Error score per line (0 for context lines), used to trim an excerpt to its most telling lines. */
  lineScores: number[];
  score: number;
  /** Among excerpts of the same score, lower goes first (default 0). */
  rank?: number;
  /** Trimmed from its start rather than around its error lines (lead-in: the lines nearest the error matter most). */
  keepEnd?: boolean;
  order: number;
  startSeq: number;
  endSeq: number;
}

function cutLine(text: string, max = MAX_EXCERPT_LINE_CHARS): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Renders an excerpt: repeat counts as a suffix, runs of blank lines as one,
 * over-long lines cut, `transform` applied (e.g. shortening runner paths).
 */
export function renderBlock(block: Block, transform: (line: string) => string = (l) => l): Excerpt {
  const lines: string[] = [];
  const lineScores: number[] = [];
  for (const entry of block.entries()) {
    if ("omitted" in entry) {
      lines.push(OMITTED(entry.omitted));
      lineScores.push(0);
      continue;
    }
    const text = cutLine(transform(entry.text));
    if (text.trim() === "" && (lines.length === 0 || lines[lines.length - 1].trim() === "")) continue;
    lines.push(entry.repeats > 0 ? `${text} [repeated ×${entry.repeats + 1}]` : text);
    lineScores.push(entry.score);
  }
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") {
    lines.pop();
    lineScores.pop();
  }
  return { lines, lineScores, score: block.score, order: block.order, startSeq: block.startSeq, endSeq: block.endSeq };
}

/** How far below and above an error line its context reaches when an excerpt must shrink. */
const KEEP_BELOW = 12;
const KEEP_ABOVE = 3;

/**
 * Shrinks an excerpt to `maxChars` by keeping its most telling lines: error
 * lines first (highest score first), then the lines right below them (frames,
 * code frames, diffs), then those right above; gaps are marked.
 */
export function trimExcerpt(lines: string[], lineScores: number[], maxChars: number): string[] {
  if (size(lines) <= maxChars) return lines;
  const n = lines.length;
  const priority = new Array<number>(n).fill(-1000);
  for (let i = 0; i < n; i += 1) {
    if (!(lineScores[i] > 0)) continue;
    for (let j = Math.max(0, i - KEEP_ABOVE); j < Math.min(n, i + KEEP_BELOW + 1); j += 1) {
      const distance = j - i;
      const p = lineScores[i] * 10 - (distance >= 0 ? distance * 2 : -distance * 8);
      if (p > priority[j]) priority[j] = p;
    }
  }
  const order = lines.map((_, i) => i).filter((i) => lines[i].trim() !== "").sort((a, b) => priority[b] - priority[a] || a - b);
  const selected = new Array<boolean>(n).fill(false);
  let used = 0;
  for (const i of order) {
    // Each kept line may bring a gap marker before it.
    const cost = lines[i].length + 1 + GAP.length + 1;
    if (used + cost > maxChars) break;
    selected[i] = true;
    used += cost;
  }
  const out: string[] = [];
  let skipped = false; // non-blank lines left out since the last kept line
  for (let i = 0; i < n; i += 1) {
    if (!selected[i]) {
      if (lines[i].trim() !== "") skipped = true;
      continue;
    }
    if (skipped && out.length > 0) out.push(GAP);
    skipped = false;
    out.push(lines[i]);
  }
  while (out.length > 0 && out[out.length - 1] === GAP) out.pop();
  return out.length > 0 ? out : trimLines(lines, maxChars);
}

function size(lines: string[]): number {
  let total = 0;
  for (const line of lines) total += line.length + 1;
  return total;
}

/** Keeps the head and tail of `lines` within `maxChars`, with an omission marker between. */
export function trimLines(lines: string[], maxChars: number): string[] {
  if (size(lines) <= maxChars) return lines;
  if (maxChars <= 0) return [];
  const headBudget = Math.floor(maxChars * 0.6);
  const head: string[] = [];
  let used = 0;
  let i = 0;
  for (; i < lines.length; i += 1) {
    const cost = lines[i].length + 1;
    if (used + cost > headBudget) break;
    head.push(lines[i]);
    used += cost;
  }
  const tail: string[] = [];
  const markerCost = OMITTED(lines.length).length + 1;
  let j = lines.length - 1;
  for (; j > i; j -= 1) {
    const cost = lines[j].length + 1;
    if (used + markerCost + cost > maxChars) break;
    tail.unshift(lines[j]);
    used += cost;
  }
  const omitted = j - i + 1;
  if (head.length === 0 && tail.length === 0) {
    // One line longer than the whole allowance: keep its start.
    return maxChars > 1 ? [`${lines[0].slice(0, maxChars - 2)}…`] : [];
  }
  return omitted > 0 && used + markerCost <= maxChars ? [...head, OMITTED(omitted), ...tail] : [...head, ...tail];
}

/** The last whole lines of `lines` that fit in `maxChars`. */
function lastLinesWithin(lines: string[], maxChars: number): string[] {
  let used = 0;
  let from = lines.length;
  while (from > 0 && used + lines[from - 1].length + 1 <= maxChars) {
    from -= 1;
    used += lines[from].length + 1;
  }
  return lines.slice(from);
}

export interface Fitted {
  text: string;
  truncated: boolean;
  included: Excerpt[];
}

/**
 * Chooses excerpts by score (earlier first among equals) until the budget is
 * used, trims the first one that does not fit, and prints the choice in log
 * order with a gap marker between excerpts that were not adjacent.
 */
export function fitExcerpts(excerpts: Excerpt[], budgetChars: number): Fitted {
  const byPriority = [...excerpts].filter((e) => e.lines.length > 0).sort((a, b) => b.score - a.score || (a.rank ?? 0) - (b.rank ?? 0) || a.order - b.order);
  const chosen: Excerpt[] = [];
  let used = 0;
  let truncated = false;
  for (const excerpt of byPriority) {
    const cost = size(excerpt.lines) + GAP.length + 1;
    if (used + cost <= budgetChars) {
      chosen.push(excerpt);
      used += cost;
      continue;
    }
    truncated = true;
    const room = budgetChars - used - GAP.length - 1;
    if (excerpt.keepEnd) {
      const lines = lastLinesWithin(excerpt.lines, room);
      if (lines.length > 0) {
        chosen.push({ ...excerpt, lines, startSeq: excerpt.endSeq - lines.length + 1 });
        used += size(lines) + GAP.length + 1;
      }
    } else if (room >= Math.min(160, budgetChars / 2)) {
      const lines = trimExcerpt(excerpt.lines, excerpt.lineScores, room);
      if (lines.length > 0) {
        chosen.push({ ...excerpt, lines });
        used += size(lines) + GAP.length + 1;
      }
    }
  }
  chosen.sort((a, b) => a.startSeq - b.startSeq || a.order - b.order);
  const out: string[] = [];
  let previousEnd: number | null = null;
  for (const excerpt of chosen) {
    if (previousEnd !== null && excerpt.startSeq > previousEnd + 1) out.push(GAP);
    out.push(...excerpt.lines);
    previousEnd = excerpt.endSeq;
  }
  let text = out.join("\n");
  if (text.length > budgetChars) {
    text = budgetChars > 1 ? `${text.slice(0, budgetChars - 1)}…` : "";
    truncated = true;
  }
  return { text, truncated, included: chosen };
}
