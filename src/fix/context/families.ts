/**
 * The same error message at many places (`a.go:89:4: undeclared name: os`, then at
 * :93:3, :112:4 …). Each place is evidence the fix needs, so none may be lost: when
 * the budget cannot show every such line in full, the first ones stay in full and the
 * other places follow as one compact list right after them.
 */

/** `path.ext:line[:col]`, `path.ext(line[,col])`, `path.ext:[line,col]` (Maven). */
const LOCATION = /[\w./@+~-]*[\w@+~-]\.[A-Za-z]\w*(?::\d+(?::\d+)?|\(\d+(?:,\d+)?\)|:\[\d+,\d+\])/;
/**
 * What every LOCATION match holds: a dot, a letter, word characters, then `:1`, `(1` or `:[1`.
 * Tested first: it is cheap where LOCATION is not (its leading run is retried from every
 * character of a line), and most error lines name no place.
 */
const MAY_NAME_PLACE = /\.[A-Za-z]\w*(?::\[?|\()\d/;
const HOLE = "\u0000";
const MAX_FAMILIES = 200;
/** Places remembered per message; beyond them only a count. */
const MAX_PLACES = 2000;
const MAX_PLACE_CHARS = 200;
/** The list line needs at least this much room to say anything. */
const MIN_LIST_CHARS = 48;

interface Family {
  /** The line with its place cut out (HOLE marks where). */
  template: string;
  places: string[];
  /** Places beyond MAX_PLACES. */
  more: number;
}

/** The line split at its first place, or null when it names none (or nothing else). */
export function splitPlace(line: string): { template: string; place: string } | null {
  if (!MAY_NAME_PLACE.test(line)) return null;
  const match = LOCATION.exec(line);
  if (!match || match[0].length > MAX_PLACE_CHARS) return null;
  const template = `${line.slice(0, match.index)}${HOLE}${line.slice(match.index + match[0].length)}`;
  // A message needs words of its own besides the place.
  if (!/[A-Za-z]{3}/.test(template)) return null;
  return { template, place: match[0] };
}

export class ErrorFamilies {
  private readonly families = new Map<string, Family>();

  /** An error line (a new one: exact repeats are counted elsewhere). */
  note(line: string): void {
    const split = splitPlace(line);
    if (split === null) return;
    let family = this.families.get(split.template);
    if (family === undefined) {
      if (this.families.size >= MAX_FAMILIES) return;
      family = { template: ` ${split.template}`.slice(1), places: [], more: 0 };
      this.families.set(family.template, family);
    }
    if (family.places.length < MAX_PLACES) family.places.push(` ${split.place}`.slice(1));
    else family.more += 1;
  }

  /** How many places of this line's message were noted before. */
  placesBefore(line: string): number {
    const split = splitPlace(line);
    const family = split === null ? undefined : this.families.get(split.template);
    return family === undefined ? 0 : family.places.length + family.more;
  }

  /** Each place's full line, for references to files. */
  *lines(): Generator<string> {
    for (const family of this.families.values()) if (family.places.length > 1) for (const place of family.places) yield family.template.replace(HOLE, place);
  }

  /** Whether `text` shows some but not all places of a message. */
  placesNotShown(text: string, transform: (line: string) => string = (l) => l): boolean {
    return this.gaps(text.split("\n"), transform).length > 0;
  }

  /**
   * Adds, after the first lines of each family that `text` shows, the places of that
   * family it does not show, within `budgetChars` for the whole text.
   */
  addCompactLists(text: string, budgetChars: number, transform: (line: string) => string = (l) => l): { text: string; added: number } {
    if (text === "") return { text, added: 0 };
    const lines = text.split("\n");
    let length = text.length;
    let added = 0;
    const inserts: { after: number; line: string }[] = [];
    for (const gap of this.gaps(lines, transform)) {
      const list = compactList(gap.missing, gap.more, budgetChars - length - 1);
      if (list === null) continue;
      inserts.push({ after: gap.last, line: list });
      length += list.length + 1;
      added += 1;
    }
    inserts.sort((a, b) => b.after - a.after);
    for (const insert of inserts) lines.splice(insert.after + 1, 0, insert.line);
    return { text: added > 0 ? lines.join("\n") : text, added };
  }

  /** Per family shown at least once: the line after which to list the places not shown, and those. */
  private gaps(lines: string[], transform: (line: string) => string): { last: number; missing: string[]; more: number }[] {
    const out: { last: number; missing: string[]; more: number }[] = [];
    for (const family of this.families.values()) {
      if (family.places.length + family.more < 2) continue;
      const index = new Map<string, number>();
      family.places.forEach((place, i) => index.set(transform(family.template.replace(HOLE, place)), i));
      /** Place index → the line showing it. */
      const shown = new Map<number, number>();
      lines.forEach((line, at) => {
        const i = index.get(stripRepeat(line));
        if (i !== undefined && !shown.has(i)) shown.set(i, at);
      });
      if (shown.size === 0 || (shown.size === family.places.length && family.more === 0)) continue;
      // The list follows the run of first places shown in full.
      let firstMissing = 0;
      while (shown.has(firstMissing)) firstMissing += 1;
      const last = firstMissing > 0 ? (shown.get(firstMissing - 1) as number) : Math.min(...shown.values());
      const missing = family.places.filter((_, i) => !shown.has(i)).map((place) => transform(place));
      out.push({ last, missing, more: family.more });
    }
    return out;
  }
}

function stripRepeat(line: string): string {
  const at = line.lastIndexOf(" [repeated ×");
  return at > 0 && line.endsWith("]") ? line.slice(0, at) : line;
}

/** `  … the same error at 3 more places: a.go:9:1, a.go:12:4 and 1 more`, cut to `room`. */
function compactList(places: string[], more: number, room: number): string | null {
  if (room < MIN_LIST_CHARS) return null;
  const total = places.length + more;
  const head = `  … the same error at ${total} more place${total === 1 ? "" : "s"}: `;
  let line = head;
  let listed = 0;
  for (const place of places) {
    const piece = `${listed > 0 ? ", " : ""}${place}`;
    // Room for this place and, if others remain, for the "and N more" that would follow it.
    const left = total - listed - 1;
    const after = left > 0 ? ` and ${left} more`.length : 0;
    if (line.length + piece.length + after > room) break;
    line += piece;
    listed += 1;
  }
  if (listed === 0) return null;
  if (listed < total) line += ` and ${total - listed} more`;
  return line;
}
