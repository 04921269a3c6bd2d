/**
 * Texts made of random runs of `pieces`, the same on every run (a linear
 * congruential generator from `seed`), for tests that check one
 * implementation against a reference on many small inputs.
 */
export function* randomTexts(pieces: readonly string[], options: { count: number; maxLength: number; seed: number }): Generator<string> {
  let seed = options.seed;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let n = 0; n < options.count; n += 1) {
    let text = "";
    const length = Math.floor(random() * options.maxLength);
    for (let i = 0; i < length; i += 1) text += pieces[Math.floor(random() * pieces.length)];
    yield text;
  }
}
