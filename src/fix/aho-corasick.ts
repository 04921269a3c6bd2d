/**
 * Aho-Corasick automata over small alphabets of symbol classes, for the
 * screens that look for many words at once: the context scan's hint screen
 * (over bytes) and the redactor's WordSet (over UTF-16 units).
 */

/**
 * An Aho-Corasick automaton over `classes` symbol classes: the trie of `words` (class
 * sequences, each with its marks), completed by breadth-first failure links. Returns the next
 * state per state and class (row-major, rows not multiplied), and per state the marks of every
 * word that ends there, a word ending in a suffix of it included.
 */
export function ahoCorasick(words: readonly { classes: ArrayLike<number>; marks: number }[], classes: number): { states: number; delta: Int32Array; marks: Uint8Array } {
  let capacity = 1;
  for (const word of words) capacity += word.classes.length;
  // The trie as a flat table of children (-1: none).
  const children = new Int32Array(capacity * classes).fill(-1);
  const marks = new Uint8Array(capacity);
  let states = 1;
  for (const word of words) {
    let state = 0;
    for (let i = 0; i < word.classes.length; i += 1) {
      const at = state * classes + word.classes[i];
      if (children[at] < 0) children[at] = states++;
      state = children[at];
    }
    marks[state] |= word.marks;
  }
  const fail = new Int32Array(states);
  const delta = new Int32Array(states * classes);
  const order = new Int32Array(states);
  let queued = 1;
  for (let k = 0; k < classes; k += 1) {
    const child = children[k];
    delta[k] = child < 0 ? 0 : child;
    if (child >= 0) order[queued++] = child;
  }
  for (let at = 1; at < queued; at += 1) {
    const state = order[at];
    marks[state] |= marks[fail[state]];
    for (let k = 0; k < classes; k += 1) {
      const child = children[state * classes + k];
      if (child < 0) {
        delta[state * classes + k] = delta[fail[state] * classes + k];
      } else {
        fail[child] = delta[fail[state] * classes + k];
        delta[state * classes + k] = child;
        order[queued++] = child;
      }
    }
  }
  return { states, delta, marks: marks.subarray(0, states) };
}
